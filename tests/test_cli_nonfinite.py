"""A diverging learning rate ends every preset with the loop's one-line non-finite message, never a traceback."""

import os

import pytest
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.presets import PRESETS, load_builtin_presets

runner = CliRunner()

load_builtin_presets()
QUIET = ["train.steps=2", "train.progress=false", "train.tensorboard=false", "train.warmup_steps=0"]
WORLD_MODEL = ["model.idm_hidden=16", "batch_size=4", "data.length=3", "model.encoder.map_channels=4",
               "model.encoder.map_size=8", "model.predictor.map_size=8"]
TINY = {
    "two-rooms-mlp": ["model.idm_hidden=16", "batch_size=4", "data.length=3", "model.encoder.channels=(4,8)",
                      "model.encoder.embed_dim=8", "model.encoder.keypoints=4", "model.encoder.flat_dims=3",
                      "model.predictor.latent_dim=8", "model.predictor.hidden=16"],
    "ijepa": ["data.image_size=16", "model.encoder.image_size=16", "model.encoder.patch_size=4",
              "model.encoder.dim=32", "model.encoder.depth=1", "model.encoder.heads=2", "model.predictor.dim=32",
              "model.predictor.depth=1", "model.predictor.heads=2", "batch_size=8", "probe.every=1000"],
    "ssl": ["data.image_size=16", "model.backbone.vit.patch_size=4", "model.backbone.vit.dim=32",
            "model.backbone.vit.depth=1", "model.backbone.vit.heads=2", "batch_size=16"],
    "video": ["batch_size=4", "data.num_frames=4"],
    "generic": ["model.encoder.channels=(4,4,4)", "model.encoder.latent_channels=4",
                "model.predictor.latent_channels=4", "model.predictor.hidden=8", "model.frameskip=2",
                "model.predictor.action_dim=4", "data.length=5", "model.idm_hidden=8", "batch_size=4"],
    "ssl-encoder": ["model.encoder.patch_size=16", "model.encoder.dim=16", "model.encoder.depth=1",
                    "model.encoder.heads=2", "model.predictor.dim=16", "model.predictor.depth=1",
                    "model.predictor.heads=2", "data.frames_train=32", "data.frames_test=16", "batch_size=8"],
    "frozen": ["encoder=random", "model.backbone.backbone.vit.dim=16", "model.backbone.backbone.vit.depth=1",
               "model.backbone.backbone.vit.heads=2", "model.backbone.backbone.vit.patch_size=16",
               "model.frameskip=2", "model.predictor.action_dim=4", "data.length=5", "model.predictor.hidden=8",
               "model.idm_hidden=8", "model.backbone.latent_channels=4", "batch_size=4", "cache.windows=8"],
    "gcrl": ["batch_size=4", "data.length=5", "model.net.encoder.channels=(4,4)", "model.net.encoder.embed_dim=8",
             "model.net.encoder.keypoints=2", "model.net.encoder.flat_dims=2", "model.net.hidden=8"],
}
"""Tiny overrides per preset family (see `jepa-world train --preset P --show-config`)."""


def tiny(preset: str) -> list[str]:
    if preset in ("two-rooms", "two-rooms-fixed", "maze"):
        return WORLD_MODEL
    if preset == "two-rooms-mlp":
        return TINY["two-rooms-mlp"]
    if preset.endswith("-generic"):
        return TINY["generic"]
    if preset.endswith("-pixel"):
        return [o for o in TINY["generic"] if not o.startswith("model.idm_hidden")] + ["model.decoder_channels=(4,4,4)"]
    if preset.endswith(("-gcbc", "-gciql", "-hiql")):
        return TINY["gcrl"]
    if preset.endswith(("-ssl-encoder", "-frozen")):
        return TINY[preset.split("-")[-1] if preset.endswith("-frozen") else "ssl-encoder"]
    if preset.startswith("ijepa"):
        return TINY["ijepa"]
    return TINY["video"] if preset.startswith("video") else TINY["ssl"]


def dataset(preset: str, tmp_path) -> list[str]:
    """The data a preset reads from disk: a tiny generated dataset (skipped without the preset's extra)."""
    if preset.startswith("pusht"):
        pytest.importorskip("gym_pusht", reason="PushT needs the extra: pip install 'jepa-world[pusht]'")
        from jepa_world.data.pusht_build import build_pusht_dataset
        from jepa_world.data.pusht_gen import PushTDataConfig

        path = build_pusht_dataset(tmp_path / "data", num=2, config=PushTDataConfig(length=6), progress=False)
        return [f"data.path={path}"]
    if not preset.startswith("pointmaze"):
        return []
    os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless rendering
    pytest.importorskip("gymnasium_robotics", reason='needs the extra: pip install "jepa-world[pointmaze]"')
    from jepa_world.data.pointmaze_gen import PointMazeDataConfig
    from jepa_world.data.pointmaze_shards import build_pointmaze_dataset

    out = build_pointmaze_dataset(tmp_path / "pm", num=4, config=PointMazeDataConfig(length=5), progress=False)
    return [f"data.path={out}"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_huge_lr_ends_with_the_loops_message(preset, tmp_path):
    r = runner.invoke(app, ["train", "--preset", preset, "--run-dir", str(tmp_path / "run"), "train.lr=1e30",
                            *QUIET, *tiny(preset), *dataset(preset, tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if r.exit_code == 0:
        assert "finished at step 2" in r.output
    else:
        assert r.exit_code == 2, r.output
        errors = [line for line in r.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "non-finite" in errors[0], r.output
        assert "Traceback" not in r.output


@pytest.mark.parametrize("lr", ["inf", "nan", "-1", "0"])
def test_lr_must_be_finite_and_positive(lr, tmp_path):
    r = runner.invoke(app, ["train", "--preset", "two-rooms", "--run-dir", str(tmp_path / "run"), f"train.lr={lr}",
                            *QUIET, *WORLD_MODEL])
    assert r.exit_code == 2 and "lr" in r.output, r.output
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_free_fraction_loss_propagates_nan_instead_of_raising():
    import torch
    from torch.nn import functional as F

    from jepa_world.objectives.free_fraction import free_fraction_loss

    p, o = torch.tensor([0.2, 0.7, 1.0]), torch.tensor([0.0, 0.5, 1.0])
    reference = F.binary_cross_entropy(p.clamp(1e-5, 1 - 1e-5), o)
    assert torch.allclose(free_fraction_loss(p, o), reference)
    nan = float("nan")
    assert torch.isnan(free_fraction_loss(torch.tensor([nan, 0.5]), torch.tensor([0.5, 0.5])))
    assert torch.isnan(free_fraction_loss(torch.tensor([0.5, 0.5]), torch.tensor([0.5, nan])))
