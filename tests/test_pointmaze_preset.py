"""``pointmaze-generic``: train 2 steps on a tiny generated dataset, then ``eval`` plans 2 episodes in PointMaze."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless rendering
pytest.importorskip("gymnasium_robotics", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')
pytest.importorskip("mujoco", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')

from jepa_world.cli import app  # noqa: E402
from jepa_world.data.pointmaze_gen import PointMazeDataConfig  # noqa: E402
from jepa_world.data.pointmaze_shards import build_pointmaze_dataset  # noqa: E402

runner = CliRunner()
TINY = ["batch_size=2", "data.length=11", "data.frame_stack=2", "model.encoder.in_channels=6",
        "model.idm_hidden=8", "model.encoder.channels=(4,8)", "model.encoder.latent_channels=4",
        "model.predictor.latent_channels=4", "model.predictor.hidden=8", "train.progress=false",
        "train.tensorboard=false", "train.log_every=1", "train.warmup_steps=1"]
FAST_PLAN = ["goal_stop=false", "pointmaze.max_steps=10", "planner.horizon=2", "planner.num_samples=8",
             "planner.num_elites=4", "planner.iterations=1", "mpc.replan_every=5", "mpc.action_repeat=5"]


def test_train_then_eval_in_pointmaze(tmp_path):
    data = build_pointmaze_dataset(tmp_path / "ds", num=3, config=PointMazeDataConfig(maze="medium", length=13),
                                   progress=False)
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "pointmaze-generic", "--run-dir", str(run), f"data.path={data}",
                            "train.steps=2", *TINY])
    assert r.exit_code == 0, r.output
    assert "finished at step 2" in r.output
    env = json.loads((run / "config.json").read_text())["model"]["env"]
    assert env == {"name": "pointmaze", "maze": "medium", "image_size": 64, "frame_stack": 2}
    out = tmp_path / "eval.json"
    r = runner.invoke(app, ["eval", str(run), "--planner", "cem", "--episodes", "2", "--num-envs", "2",
                            "--json", str(out), *FAST_PLAN])
    assert r.exit_code == 0, r.output
    assert "mean final distance (maze units)" in r.output
    report = json.loads(out.read_text())
    assert report["config"]["env"] == "pointmaze" and report["config"]["pointmaze"]["maze"] == "medium"
    assert report["config"]["pointmaze"]["frame_stack"] == 2 and report["episodes"] == 2
    assert len(report["final_distance"]) == 2 and all(d >= 0 for d in report["final_distance"])
    summary_png_of_a_pointmaze_evaluation(run, tmp_path / "eval.png")


def summary_png_of_a_pointmaze_evaluation(run, png):
    """The evaluation summary picture draws PointMaze episodes on the maze map (positions in maze units)."""
    from jepa_world.envs.pointmaze import PointMazeConfig
    from jepa_world.eval.planning import default_eval_config, evaluate_planning, save_summary_png
    from jepa_world.planning.mpc import MPCConfig
    from jepa_world.runs.load import load_method

    model, _ = load_method(run, expected_kind="world_model")
    cfg = default_eval_config("cem", env="pointmaze", episodes=2, num_envs=2, goal_stop=False,
                              pointmaze=PointMazeConfig(maze="medium", frame_stack=2, max_steps=10),
                              planner_overrides={"horizon": 2, "num_samples": 8, "num_elites": 4, "iterations": 1},
                              mpc=MPCConfig(replan_every=5, action_repeat=5))
    report = evaluate_planning(model, cfg)
    save_summary_png(report, report.results[0], str(png))
    assert png.stat().st_size > 5000


def test_preset_errors_are_one_line(tmp_path):
    r = runner.invoke(app, ["train", "--preset", "pointmaze-generic", "--run-dir", str(tmp_path / "a"), *TINY])
    assert r.exit_code == 2 and "data.path=DIR" in r.output
    r = runner.invoke(app, ["train", "--preset", "pointmaze-generic", "--run-dir", str(tmp_path / "b"),
                            "data.path=x", "data.frame_stack=3", *TINY[:2], *TINY[4:]])
    assert r.exit_code == 2 and "must be 3 x data.frame_stack (9)" in r.output
    r = runner.invoke(app, ["eval", "--oracle", "env=pointmaze"])
    assert r.exit_code == 2 and "no oracle model of PointMaze" in r.output


def test_diagnose_and_critic_read_the_runs_dataset(tmp_path):
    """A run trained from a dataset on disk is diagnosed and gets a critic from that dataset (its recorded path)."""
    data = build_pointmaze_dataset(tmp_path / "ds", num=3, config=PointMazeDataConfig(maze="umaze", length=13),
                                   progress=False)
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "pointmaze-generic", "--run-dir", str(run), f"data.path={data}",
                            "train.steps=2", *TINY])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["diagnose", str(run), "--json", str(tmp_path / "diag.json")])
    assert r.exit_code == 0, r.output
    diag = json.loads((tmp_path / "diag.json").read_text())
    assert diag["env"] == "pointmaze" and diag["rows"][0] % 256 == 0 and diag["frames"] == 256  # cells of 256 frames
    r = runner.invoke(app, ["critic", str(run), "--out", str(tmp_path / "critic"), "trajectories=4",
                            "check_trajectories=2", "model_steps=2", "fit.steps=3", "fit.batch_size=8", "channels=4",
                            "hidden=8"])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "critic" / "critic.json").read_text())
    assert meta["stride"] == 5 and meta["check"]["pairs"] == 2 * 3  # 3 latents per trajectory: 3 pairs
