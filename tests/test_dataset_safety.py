"""Datasets on disk never delete or read what they do not own (issue 11)."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.data.build import build_dataset
from jepa_world.data.shards import DatasetError, load_trajectories
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

runner = CliRunner()
CFG = TwoRoomsDataConfig(length=5)


def test_overwrite_refuses_a_directory_that_is_not_a_dataset(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("precious")
    with pytest.raises(DatasetError, match="not a jepa-world dataset"):
        build_dataset(home, num=5, config=CFG, overwrite=True, progress=False)
    assert (home / "thesis.tex").read_text() == "precious"
    r = runner.invoke(app, ["data", "generate", "--num", "5", "--length", "5", "--overwrite", "--out", str(home)])
    assert r.exit_code == 2 and "not a jepa-world dataset" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no partial output left either


def test_overwrite_refuses_a_file(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    with pytest.raises(DatasetError, match="not a directory"):
        build_dataset(target, num=5, config=CFG, overwrite=True, progress=False)
    assert target.read_text() == "keep"


def test_overwrite_replaces_a_dataset_of_ours(tmp_path):
    out = build_dataset(tmp_path / "ds", num=6, config=CFG, seed=0, progress=False)
    (out / "preview").mkdir()  # what `data show` adds
    build_dataset(out, num=4, config=CFG, seed=1, overwrite=True, progress=False)
    assert load_trajectories(out)[1]["num"] == 4


@pytest.mark.parametrize("name", ["../outside.npz", "/tmp/outside.npz", "sub/shard.npz", ".."])
def test_shard_names_outside_the_dataset_are_rejected(tmp_path, name):
    out = build_dataset(tmp_path / "ds", num=6, config=CFG, shard_size=6, progress=False)
    shutil.copy(out / "shard-00000.npz", tmp_path / "outside.npz")  # a readable shard beside the dataset
    meta = json.loads((out / "meta.json").read_text())
    meta["shards"][0]["file"] = name
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="plain file name"):
        load_trajectories(out)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o755), (0o027, 0o750)])
def test_dataset_folder_follows_the_umask(tmp_path, umask, expected):
    import os
    import stat

    previous = os.umask(umask)
    try:
        out = build_dataset(tmp_path / "ds", num=4, config=CFG, progress=False)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == expected
    assert stat.S_IMODE((out / "meta.json").stat().st_mode) == expected & 0o666
