"""CLI smoke runs of train -> eval -> plan on a tiny world model, resume, and bad input."""

import json

import pytest
from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()

COMMON = ["model.idm_hidden=16", "batch_size=4", "data.length=3", "train.progress=false",
          "train.tensorboard=false", "train.log_every=1", "train.warmup_steps=1"]
TINY_MODELS = {
    "two-rooms": ["model.encoder.map_channels=4", "model.encoder.map_size=8", "model.predictor.map_size=8"],
    "two-rooms-mlp": ["model.encoder.channels=(4,8)", "model.encoder.embed_dim=8", "model.encoder.keypoints=4",
                      "model.encoder.flat_dims=3", "model.predictor.latent_dim=8", "model.predictor.hidden=16"],
}
"""Tiny versions of the default (keypoint) world model and of the generic MLP one."""
TINY = TINY_MODELS["two-rooms"] + COMMON
FAST_PLAN = ["planner.horizon=2", "planner.num_samples=8", "planner.num_elites=4", "planner.iterations=1",
             "mpc.replan_every=40", "mpc.action_repeat=20"]


PRESET_OF: dict = {}
"""Run dir of the module fixture -> the preset it was trained with."""


def train(run, steps, *extra, preset="two-rooms"):
    return runner.invoke(app, ["train", "--preset", preset, "--run-dir", str(run), *TINY_MODELS[preset], *COMMON,
                               f"train.steps={steps}", *extra])


@pytest.fixture(scope="module", params=sorted(TINY_MODELS))
def trained(request, tmp_path_factory):
    run = tmp_path_factory.mktemp("wm") / "run"
    r = train(run, 3, preset=request.param)
    assert r.exit_code == 0, r.output
    assert "finished at step 3" in r.output
    PRESET_OF[run] = request.param
    return run


def test_train_writes_a_complete_run(trained):
    for name in ("config.json", "checkpoints/last.pt", "metrics.jsonl", "model.safetensors", "model.json"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["kind"] == "world_model" and len(config["model"]["encoder"]["input_std"]) == 2


def test_eval_prints_and_writes_the_report(trained, tmp_path):
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["eval", str(trained), "--episodes", "2", "--num-envs", "2", "--json", str(out),
                            "--png", str(tmp_path / "s.png"), *FAST_PLAN])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    for key in ("success_rate", "mean_final_distance", "ms_per_replan", "s_per_episode"):
        assert key in report
    assert 0.0 <= report["success_rate"] <= 1.0 and report["episodes"] == 2
    assert report["config"]["planner_overrides"]["horizon"] == 2
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_plan_writes_a_gif(trained, tmp_path):
    gif = tmp_path / "ep.gif"
    r = runner.invoke(app, ["plan", str(trained), "--gif", str(gif), "--planner", "cem", *FAST_PLAN])
    assert r.exit_code == 0, r.output
    assert gif.stat().st_size > 1000


@pytest.mark.parametrize("preset", sorted(TINY_MODELS))
def test_resume_continues_the_same_run(tmp_path, preset):
    """2 steps, then resumed to 4 (test_keypoint_world_model checks an interrupted run's losses bitwise)."""
    run = tmp_path / "run"
    assert train(run, 2, preset=preset).exit_code == 0
    r = train(run, 4, preset=preset)
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in records] == [1, 2, 3, 4]  # steps 1-2 from the first call, 3-4 resumed; none repeated


def test_unknown_names_list_the_valid_choices(trained):
    from jepa_world.planning.registry import PLANNERS

    r = runner.invoke(app, ["eval", str(trained), "--planner", "annealing"])
    assert r.exit_code == 2 and f"valid: {sorted(PLANNERS)}" in r.output
    assert "'mppi'" in r.output and "'hierarchical'" in r.output
    r = runner.invoke(app, ["train", "--preset", "two-rooms", "model.encoder.map_sise=3"])
    assert r.exit_code == 2 and "map_sise" in r.output and "model.encoder.map_size" in r.output
    r = runner.invoke(app, ["eval", str(trained), "planner.horizn=3"])
    assert r.exit_code == 2 and "horizon" in r.output


def test_corrupt_checkpoint_is_named_and_kept(trained, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    ckpt = run / "checkpoints" / "last.pt"
    ckpt.write_bytes(b"not a checkpoint")
    r = runner.invoke(app, ["eval", str(run), "--episodes", "1", *FAST_PLAN])
    assert r.exit_code == 2 and "last.pt" in r.output
    r = train(run, 5, preset=PRESET_OF[trained])
    assert r.exit_code == 2 and "last.pt" in r.output
    assert ckpt.read_bytes() == b"not a checkpoint"


def test_checkpoint_of_another_model_is_refused(trained, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    r = train(run, 5, "model.idm_hidden=32", preset=PRESET_OF[trained])
    assert r.exit_code == 2 and "another model config" in r.output


def test_demo_trains_evaluates_and_writes_pictures(tmp_path):
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--episodes", "1", *TINY, "train.steps=2"])
    assert r.exit_code == 0, r.output
    assert "success rate" in r.output
    for name in ("eval.json", "eval.png", "episode.gif", "model.safetensors"):
        assert (out / name).stat().st_size > 0, name


def test_maze_preset_trains_and_eval_plans_in_the_maze(tmp_path):
    """A run trained on the maze records it, and `eval` plans maze episodes without being told env=maze."""
    run = tmp_path / "maze"
    r = runner.invoke(app, ["train", "--preset", "maze", "--run-dir", str(run), *TINY_MODELS["two-rooms"], *COMMON,
                            "train.steps=2"])
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["env"] == {"name": "maze", "rooms": 3}
    out = tmp_path / "maze.json"
    r = runner.invoke(app, ["eval", str(run), "--episodes", "2", "--num-envs", "2", "--json", str(out), *FAST_PLAN])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert report["config"]["env"] == "maze" and report["config"]["maze"]["rooms"] == 3
    r = runner.invoke(app, ["eval", str(run), "--episodes", "1", "--json", str(out), "env=two_rooms", *FAST_PLAN])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["config"]["env"] == "two_rooms"  # an explicit env wins
