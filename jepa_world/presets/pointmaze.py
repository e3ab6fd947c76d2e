"""PointMaze presets: ``jepa-world train --preset pointmaze-generic data.path=DIR``.

The generic world model (``methods.spatial_world_model``: conv encoder -> 16 x 8 x 8 latent map, action-field
conv predictor, frameskip 5, the ``two-rooms-generic`` loss) trained on a PointMaze exploration dataset written
by ``jepa-world data generate --env pointmaze`` (image shards: PointMaze frames come from MuJoCo and are
stored, not rendered on the fly). The maze and the image size are the dataset's; ``data.frame_stack`` k puts
the last k frames on the channels (the state has velocities: one frame is not Markov), so the encoder takes
``3 k`` channels. Positions in the batches are in maze units and feed only the detached probe.

Examples:
    >>> cfg = pointmaze_generic_config()
    >>> cfg.model.encoder.in_channels, cfg.model.predictor.action_dim, (cfg.data.length - 1) % cfg.model.frameskip
    (3, 10, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from jepa_world.config import to_dict
from jepa_world.data.pointmaze_shards import PointMazeWindowsConfig
from jepa_world.data.shards import read_meta
from jepa_world.errors import UserError
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.presets import Preset, RunSpec, register_preset
from jepa_world.presets.world_model import KIND, SpatialRunConfig, make_stream
from jepa_world.train.config import TrainConfig


@dataclass
class PointMazeRunConfig(SpatialRunConfig):
    """A generic world-model training run on a PointMaze exploration dataset."""

    data: PointMazeWindowsConfig = field(default_factory=PointMazeWindowsConfig)  # type: ignore[assignment]
    """The dataset and the windows cut from it."""
    batch_size: int = 64
    """Trajectory windows per step (each of data.length frames)."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (frames stacked on channels, 2-D force chunks)."""
        super().validate()
        if self.model.encoder.in_channels != 3 * self.data.frame_stack:
            raise ValueError(f"model.encoder.in_channels ({self.model.encoder.in_channels}) must be 3 x "
                             f"data.frame_stack ({3 * self.data.frame_stack})")
        if self.model.predictor.action_dim != 2 * self.model.frameskip:
            raise ValueError(f"model.predictor.action_dim ({self.model.predictor.action_dim}) must be 2 x "
                             f"model.frameskip ({2 * self.model.frameskip}): PointMaze actions are 2-D forces")


def pointmaze_generic_config() -> PointMazeRunConfig:
    """The generic recipe of ``two-rooms-generic`` on 64 x 64 RGB PointMaze frames."""
    model = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(in_channels=3, image_size=64))
    train = TrainConfig(steps=4000, lr=1e-3, weight_decay=0.0, warmup_steps=100, time_budget_s=3600.0,
                        log_every=50, diag_every=500, ckpt_every=500)
    return PointMazeRunConfig(model=model, data=PointMazeWindowsConfig(), batch_size=64, train=train)


def build_pointmaze_run(cfg: PointMazeRunConfig) -> RunSpec:
    """config -> RunSpec: windows from the dataset, the seeded generic model (input statistics measured)."""
    cfg.validate()
    if not cfg.data.path:
        raise UserError("pointmaze-generic needs a dataset: data.path=DIR (from `jepa-world data generate "
                        "--env pointmaze --out DIR`)")
    meta = read_meta(cfg.data.path)
    size = meta.get("config", {}).get("image_size")
    if size != cfg.model.encoder.image_size:
        raise UserError(f"the dataset's frames are {size} px, model.encoder.image_size is "
                        f"{cfg.model.encoder.image_size}")
    windows = make_stream(cfg.data, cfg.batch_size, seed=cfg.data_seed)
    model_cfg = _with_input_stats(cfg.model, cfg.data, seed=cfg.data_seed)
    torch.manual_seed(cfg.model_seed)
    env = {"name": "pointmaze", "maze": meta["config"]["maze"], "image_size": size,
           "frame_stack": cfg.data.frame_stack}
    return RunSpec(kind=KIND, method=SpatialWorldModel(model_cfg), source=windows, train=cfg.train,
                   model_config={"architecture": "spatial", "env": env, **to_dict(model_cfg)},
                   batch_size=cfg.batch_size)


def _with_input_stats(model: SpatialWorldModelConfig, data: PointMazeWindowsConfig, *, seed: int) -> Any:
    """The model config with per-channel input mean / std measured on 64 windows (unless given)."""
    enc = model.encoder
    if enc.input_mean and enc.input_std:
        return model
    obs = make_stream(data, 64, seed=seed + 7919)(0)["obs"]  # (64, L, 3k, S, S)
    mean = tuple(round(float(v), 4) for v in obs.mean(dim=(0, 1, 3, 4)))
    std = tuple(round(float(v), 4) for v in obs.std(dim=(0, 1, 3, 4)).clamp_min(1e-4))
    return replace(model, encoder=replace(enc, input_mean=enc.input_mean or mean, input_std=enc.input_std or std))


register_preset(Preset("pointmaze-generic", config=pointmaze_generic_config, build=build_pointmaze_run,
                       help="generic JEPA world model (conv spatial latent, frameskip 5) on a PointMaze dataset "
                            "(data.path=DIR; extra jepa-world[pointmaze])"))
