"""`jepa-world train --preset pusht-generic` on a tiny generated dataset, then `eval` of the run on PushT."""

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("gym_pusht", reason="PushT needs the extra: pip install 'jepa-world[pusht]'")

from jepa_world.cli import app  # noqa: E402
from jepa_world.data.pusht_build import build_pusht_dataset  # noqa: E402
from jepa_world.data.pusht_gen import PushTDataConfig  # noqa: E402

runner = CliRunner()
QUIET = ["train.steps=2", "train.progress=false", "train.tensorboard=false", "train.warmup_steps=0"]
TINY = ["model.encoder.channels=(4,4,4)", "model.encoder.latent_channels=4", "model.predictor.latent_channels=4",
        "model.predictor.hidden=8", "model.frameskip=2", "model.predictor.action_dim=4", "data.length=5",
        "model.idm_hidden=8", "batch_size=4"]
PLAN = ["planner.horizon=2", "planner.num_samples=8", "planner.num_elites=2", "planner.iterations=1",
        "mpc.replan_every=2", "mpc.action_repeat=2", "pusht.max_steps=4"]


def test_train_two_steps_then_eval_two_episodes(tmp_path):
    data = build_pusht_dataset(tmp_path / "data", num=3, config=PushTDataConfig(length=9), progress=False)
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "pusht-generic", "--run-dir", str(run), f"data.path={data}",
                            *QUIET, *TINY])
    assert r.exit_code == 0, r.output
    env = json.loads((run / "model.json").read_text())["model"]["env"]
    assert env == {"name": "pusht", "image_size": 64, "action_scale": 100.0}
    out = tmp_path / "eval.json"
    r = runner.invoke(app, ["eval", str(run), "--planner", "cem", "--episodes", "2", "--num-envs", "2",
                            "--json", str(out), *PLAN])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert report["config"]["env"] == "pusht" and report["config"]["pusht"]["image_size"] == 64
    assert report["episodes"] == 2 and len(report["final_distance"]) == 2
    for d, ok in zip(report["final_distance"], report["success"], strict=True):
        assert d >= 0 and ok == (d < 1.0)  # DINO-WM's rule: success iff the normalised distance is below 1


def test_frame_size_mismatch_is_one_clear_error(tmp_path):
    data = build_pusht_dataset(tmp_path / "data", num=2, config=PushTDataConfig(length=6, image_size=32),
                               progress=False)
    r = runner.invoke(app, ["train", "--preset", "pusht-generic", "--run-dir", str(tmp_path / "run"),
                            f"data.path={data}",
                            *QUIET, *TINY])
    assert r.exit_code == 2 and "model.encoder.image_size=32" in r.output


def test_missing_dataset_is_one_clear_error(tmp_path):
    r = runner.invoke(app, ["train", "--preset", "pusht-generic", "--run-dir", str(tmp_path / "run"),
                            f"data.path={tmp_path / 'nothing'}", *QUIET, *TINY])
    assert r.exit_code == 2 and "data generate" in r.output


def test_diagnose_and_critic_read_the_runs_dataset(tmp_path):
    """A run trained from a dataset on disk is diagnosed and gets a critic from that dataset (its recorded path)."""
    data = build_pusht_dataset(tmp_path / "data", num=3, config=PushTDataConfig(length=9), progress=False)
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "pusht-generic", "--run-dir", str(run), f"data.path={data}",
                            *QUIET, *TINY])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["diagnose", str(run), "--json", str(tmp_path / "diag.json")])
    assert r.exit_code == 0, r.output
    diag = json.loads((tmp_path / "diag.json").read_text())
    assert diag["env"] == "pusht" and diag["rows"][0] % 256 == 0 and diag["frames"] == 256  # cells of 256 frames
    r = runner.invoke(app, ["critic", str(run), "--out", str(tmp_path / "critic"), "trajectories=4",
                            "check_trajectories=2", "model_steps=2", "fit.steps=3", "fit.batch_size=8", "channels=4",
                            "hidden=8"])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "critic" / "critic.json").read_text())
    assert meta["stride"] == 2 and meta["check"]["pairs"] == 2 * 3  # 3 latents per trajectory: 3 pairs
