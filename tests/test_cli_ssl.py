"""CLI smoke run of an image-SSL preset: train -> eval-probe -> diagnose, and bad input."""

import json

from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()


def test_train_probe_diagnose(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "vicreg-digits", "--run-dir", str(run), "train.steps=2",
                            "train.progress=false", "train.tensorboard=false"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "probe.json"
    r = runner.invoke(app, ["eval-probe", str(run), "--json", str(out)])
    assert r.exit_code == 0, r.output
    probe = json.loads(out.read_text())
    assert 0.0 <= probe["linear_acc"] <= 1.0 and "random_init" in probe
    r = runner.invoke(app, ["diagnose", str(run), "--png", str(tmp_path / "spec.png")])
    assert r.exit_code == 0, r.output
    assert "verdict:" in r.output and (tmp_path / "spec.png").stat().st_size > 1000


def test_probe_of_a_missing_run_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["eval-probe", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "run directory not found" in r.output
