"""CLI smoke runs of the two-step frozen-encoder recipe (SSL encoder -> frozen world model -> eval) and its
bad inputs, each one clear line."""

import json

import pytest
from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()

QUIET = ["train.progress=false", "train.tensorboard=false"]
SSL_TINY = ["model.encoder.dim=16", "model.encoder.depth=1", "model.encoder.heads=2", "model.encoder.patch_size=16",
            "model.predictor.dim=16", "model.predictor.depth=1", "model.predictor.heads=2", "data.frames_train=32",
            "data.frames_test=16", "batch_size=8", "train.steps=2", *QUIET]
WM_TINY = ["model.frameskip=2", "model.predictor.action_dim=4", "data.length=5", "model.predictor.hidden=8",
           "model.idm_hidden=8", "model.backbone.latent_channels=4", "batch_size=4", "cache.windows=16",
           "cache.chunk=8", "train.warmup_steps=1", "train.steps=3", *QUIET]
RANDOM_TINY = ["model.backbone.backbone.vit.dim=16", "model.backbone.backbone.vit.depth=1",
               "model.backbone.backbone.vit.heads=2", "model.backbone.backbone.vit.patch_size=16"]
FAST_EVAL = ["--episodes", "2", "--num-envs", "2", "planner.horizon=2", "planner.num_samples=8",
             "planner.num_elites=4", "planner.iterations=1", "mpc.replan_every=40", "mpc.action_repeat=20",
             "mpc.stall_ratio=0"]
"""mpc.stall_ratio=0: the stall check of planning/mpc.py rolls the model out on single env actions, which a
frameskip model (action = a chunk) refuses; the generic conv preset needs the same override."""


def train(preset, run, *overrides):
    return runner.invoke(app, ["train", "--preset", preset, "--run-dir", str(run), *overrides])


@pytest.fixture(scope="module")
def encoder_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ssl") / "enc"
    r = train("two-rooms-ssl-encoder", run, *SSL_TINY)
    assert r.exit_code == 0, r.output
    return run


def test_ssl_encoder_then_frozen_world_model_then_eval(encoder_run, tmp_path):
    config = json.loads((encoder_run / "config.json").read_text())
    assert config["kind"] == "ijepa" and config["model"]["data"]["name"] == "two_rooms"
    run = tmp_path / "wm"
    r = train("two-rooms-frozen", run, f"encoder={encoder_run}", *WM_TINY)
    assert r.exit_code == 0, r.output
    assert "finished at step 3" in r.output and "feature cache" in r.output
    assert (encoder_run / "feature_cache.safetensors").is_file()
    model = json.loads((run / "config.json").read_text())["model"]
    assert model["architecture"] == "spatial" and model["encoder_kind"] == "backbone"
    assert model["backbone"]["source"] == str(encoder_run) and model["backbone"]["input_size"] == 64
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["eval", str(run), "--json", str(out), *FAST_EVAL])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert report["episodes"] == 2 and 0.0 <= report["success_rate"] <= 1.0
    r = train("two-rooms-frozen", tmp_path / "wm2", f"encoder={encoder_run}", *WM_TINY)
    assert r.exit_code == 0 and ", loaded;" in r.output  # a second run on the same encoder reuses the cache


def test_random_frozen_encoder_trains_and_evaluates(tmp_path):
    run = tmp_path / "rand"
    r = train("two-rooms-frozen", run, "encoder=random", *RANDOM_TINY, *WM_TINY)
    assert r.exit_code == 0, r.output
    assert json.loads((run / "config.json").read_text())["model"]["backbone"]["source"] == "random"
    r = runner.invoke(app, ["eval", str(run), *FAST_EVAL])
    assert r.exit_code == 0, r.output


def test_maze_frozen_trains_and_records_the_maze(tmp_path):
    run = tmp_path / "maze"
    r = train("maze-frozen", run, "encoder=random", *RANDOM_TINY, *WM_TINY, "train.steps=1")
    assert r.exit_code == 0, r.output
    assert json.loads((run / "config.json").read_text())["model"]["env"]["name"] == "maze"


def one_line_error(r):
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def test_missing_encoder_names_the_two_step_recipe(tmp_path):
    line = one_line_error(train("two-rooms-frozen", tmp_path / "x", *WM_TINY))
    assert "encoder=RUN_DIR" in line and "--preset two-rooms-ssl-encoder" in line and "encoder=runs/enc" in line
    line = one_line_error(train("two-rooms-frozen", tmp_path / "x", f"encoder={tmp_path / 'nope'}", *WM_TINY))
    assert "no such run directory" in line and "nope" in line


def test_encoder_runs_of_the_wrong_kind_channels_or_size_are_refused(encoder_run, tmp_path):
    wm = tmp_path / "wm"  # a world-model run is not an image-SSL run
    assert train("two-rooms-frozen", wm, "encoder=random", *RANDOM_TINY, *WM_TINY, "train.steps=1").exit_code == 0
    line = one_line_error(train("two-rooms-frozen", tmp_path / "x", f"encoder={wm}", *WM_TINY))
    assert "'world_model' run" in line and "expected an image-SSL run" in line
    digits = tmp_path / "digits"  # 1-channel digits
    r = train("ijepa-digits", digits, *[o for o in SSL_TINY if not o.startswith("data.frames")],
              "model.encoder.patch_size=8")
    assert r.exit_code == 0, r.output
    line = one_line_error(train("two-rooms-frozen", tmp_path / "x", f"encoder={digits}", *WM_TINY))
    assert "1-channel images" in line and "have 2 channels" in line
    small = tmp_path / "small"  # the right frames at 32 px
    r = train("two-rooms-ssl-encoder", small, *SSL_TINY, "data.image_size=32", "model.encoder.patch_size=8")
    assert r.exit_code == 0, r.output
    line = one_line_error(train("two-rooms-frozen", tmp_path / "x", f"encoder={small}", *WM_TINY))
    assert "32x32 images" in line and "65x65" in line
