"""CLI smoke runs of the data commands, through the real entry point."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()


def test_generate_and_show(tmp_path):
    out = tmp_path / "ds"
    r = runner.invoke(app, ["data", "generate", "--env", "two-rooms", "--num", "300", "--length", "9",
                            "--shard-size", "128", "--out", str(out)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["num"] == 300 and [s["num"] for s in meta["shards"]] == [128, 128, 44]
    r = runner.invoke(app, ["data", "show", str(out), "--count", "4"])
    assert r.exit_code == 0, r.output
    assert (out / "preview" / "trajectories.png").stat().st_size > 1000
    assert (out / "preview" / "trajectories.gif").stat().st_size > 1000


def test_generate_rejects_bad_num(tmp_path):
    r = runner.invoke(app, ["data", "generate", "--num", "-5", "--out", str(tmp_path / "ds")])
    assert r.exit_code == 2 and "--num" in r.output
    assert not (tmp_path / "ds").exists()


def test_generate_refuses_non_empty_out(tmp_path):
    (tmp_path / "keep.txt").write_text("precious")
    r = runner.invoke(app, ["data", "generate", "--num", "5", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "keep.txt").read_text() == "precious"


def test_generate_unwritable_out(tmp_path):
    (tmp_path / "f").write_text("x")
    r = runner.invoke(app, ["data", "generate", "--num", "5", "--out", str(tmp_path / "f" / "ds")])
    assert r.exit_code == 2 and "cannot write" in r.output


def test_show_names_corrupt_shard(tmp_path):
    out = tmp_path / "ds"
    assert runner.invoke(app, ["data", "generate", "--num", "20", "--length", "5", "--out", str(out)]).exit_code == 0
    (out / "shard-00000.npz").write_bytes(b"garbage")
    r = runner.invoke(app, ["data", "show", str(out)])
    assert r.exit_code == 2 and "shard-00000.npz" in r.output


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "jepa_world.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "data" in r.stdout
