"""`jepa-world train --nproc N`: a torchrun re-launch of the same command; rank 0 alone writes and reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch.distributed
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.errors import UserError
from jepa_world.train import load_run
from jepa_world.train.launch import check_launchable, torchrun_command, under_torchrun, without_nproc

runner = CliRunner()

TINY_GENERIC = ["model.encoder.channels=(4,4,4)", "model.encoder.latent_channels=4",
                "model.predictor.latent_channels=4", "model.predictor.hidden=8", "model.frameskip=2",
                "model.predictor.action_dim=4", "data.length=5", "model.idm_hidden=8", "batch_size=4",
                "train.progress=false", "train.tensorboard=false", "train.warmup_steps=0", "train.log_every=1"]
"""A tiny two-rooms-generic run (the generic world-model preset)."""


def test_nproc_is_stripped_from_the_relaunched_arguments():
    assert without_nproc(["train", "--nproc", "2", "a=1", "--nproc=3", "--force"]) == ["train", "a=1", "--force"]
    cmd = torchrun_command(4, ["--debug", "train", "--nproc=4", "x=1"])
    assert cmd[:2] == [sys.executable, "-m"] and cmd[cmd.index("--nproc-per-node") + 1] == "4"
    assert cmd[-5:] == ["-m", "jepa_world.cli", "--debug", "train", "x=1"]
    assert under_torchrun({"TORCHELASTIC_RUN_ID": "x"}) and not under_torchrun({})


def test_bad_nproc_and_missing_torchrun_are_one_line_errors(tmp_path, monkeypatch):
    r = runner.invoke(app, ["train", "--preset", "two-rooms-generic", "--run-dir", str(tmp_path / "r"), "--nproc", "0"])
    assert r.exit_code == 2 and "--nproc must be >= 1" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "r").exists()
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    with pytest.raises(UserError, match="needs torchrun"):
        check_launchable(2)


@pytest.mark.slow
def test_nproc_two_trains_under_torchrun_and_resumes_with_one_process(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "jepa_world.cli", "train", "--preset", "two-rooms-generic", "--run-dir", str(run),
           "--nproc", "2", *TINY_GENERIC, "train.steps=2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp_path,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    assert done.stdout.count("finished at step 2") == 1  # rank 0 reports, rank 1 stays quiet
    state = load_run(run)[1]
    assert (state["world_size"], state["step"], state["data_chunks"]) == (2, 2, 4)
    files = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())
    assert files == ["checkpoints/last.pt", "config.json", "metrics.jsonl", "model.json", "model.safetensors",
                     "run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing written beside it either
    r = runner.invoke(app, ["train", "--preset", "two-rooms-generic", "--run-dir", str(run), *TINY_GENERIC,
                            "train.steps=3"])
    assert r.exit_code == 0, r.output
    assert "finished at step 3 (resumed from step 2)" in r.output
    sessions = json.loads((run / "run.json").read_text())["sessions"]
    assert [(s["action"], s["processes"]) for s in sessions] == [("start", 2), ("resume", 1)]
    assert load_run(run)[1]["data_chunks"] == 5
