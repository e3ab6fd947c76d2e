"""Run-directory integrity through the CLI (issue 11): evaluating from the exported model alone, config.json
checked against the dataclasses, --force for resuming with other settings or starting over."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()

TINY = ["model.encoder.map_channels=4", "model.encoder.map_size=8", "model.predictor.map_size=8",
        "model.idm_hidden=16", "batch_size=4", "data.length=3", "train.progress=false",
        "train.tensorboard=false", "train.log_every=1", "train.warmup_steps=1"]
FAST_EVAL = ["--episodes", "1", "--num-envs", "1", "planner.horizon=2", "planner.num_samples=8",
             "planner.num_elites=4", "planner.iterations=1", "mpc.replan_every=40", "mpc.action_repeat=20"]


def train(run, steps, *extra):
    return runner.invoke(app, ["train", "--preset", "two-rooms", "--run-dir", str(run), *TINY, f"train.steps={steps}",
                               *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("integrity") / "run"
    r = train(run, 2)
    assert r.exit_code == 0, r.output
    return run


@pytest.fixture
def copy(trained, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    return run


def test_eval_works_from_the_exported_model_alone(copy):
    shutil.rmtree(copy / "checkpoints")
    r = runner.invoke(app, ["eval", str(copy), "--planner", "cem", *FAST_EVAL])
    assert r.exit_code == 0, r.output
    assert "success" in r.output


def test_config_json_missing_a_field_is_an_error_not_a_default(copy):
    path = copy / "config.json"
    config = json.loads(path.read_text())
    del config["model"]["encoder"]["input_mean"]
    config["train"]["lr"] = "fast"
    path.write_text(json.dumps(config))
    r = runner.invoke(app, ["eval", str(copy), "--planner", "cem", *FAST_EVAL])
    assert r.exit_code == 2, r.output
    assert "config.json" in r.output and "train.lr: expected float, got str 'fast'" in r.output
    config["train"]["lr"] = 0.003
    path.write_text(json.dumps(config))
    r = runner.invoke(app, ["eval", str(copy), "--planner", "cem", *FAST_EVAL])
    assert r.exit_code == 2, r.output
    assert "config.json" in r.output and "missing keys ['encoder.input_mean']" in r.output


def test_resume_with_another_data_seed_needs_force(copy):
    r = train(copy, 3, "data_seed=5")
    assert r.exit_code == 2 and "data_seed: 0 -> 5" in r.output and "--force" in r.output
    r = train(copy, 3, "data_seed=5", "--force")
    assert r.exit_code == 0, r.output
    assert "finished at step 3 (resumed from step 2)" in r.output
    record = json.loads((copy / "run.json").read_text())
    assert record["settings"]["settings"]["data_seed"] == 5
    assert record["sessions"][-1]["forced"] == ["data_seed: 0 -> 5"]


def test_train_does_not_restart_over_an_exported_model(copy):
    (copy / "checkpoints" / "last.pt").unlink()
    weights = (copy / "model.safetensors").read_bytes()
    r = train(copy, 2)
    assert r.exit_code == 2 and "refusing to start over" in r.output and "--force" in r.output
    assert (copy / "model.safetensors").read_bytes() == weights
    r = train(copy, 2, "--force")
    assert r.exit_code == 0, r.output
