"""World-model presets: ``jepa-world train --preset two-rooms`` (and ``two-rooms-fixed``).

The default recipe, chosen by measurement on a 2-core CPU (see docs/world_model.md):
an IMPALA-style CNN on the 2x average-pooled observation whose head reads 16 spatial-softmax
keypoints (the agent is a 1.3 px blob: keypoints give the head its sub-pixel position from the first
steps, where a flattened feature map needs thousands of steps to find it), input channels
standardised with statistics measured on the data (the agent channel carries 8x less energy than the
walls), a 32-d latent, a residual-MLP predictor, and the PLDM loss with time-smoothness lowered to 1
and IDM raised to 4 (at 12 / 1 the latent dropped the agent and kept only the wall).

Examples:
    >>> cfg = two_rooms_config()
    >>> cfg.model.encoder.embed_dim == cfg.model.predictor.latent_dim
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from jepa_world.config import from_dict, to_dict
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.methods.world_model import JEPAWorldModel, LossWeights, WorldModelConfig
from jepa_world.nn.encoders import ImpalaConfig
from jepa_world.nn.predictors import PredictorConfig
from jepa_world.presets import Preset, RunSpec, register_method, register_preset
from jepa_world.train.config import TrainConfig

KIND = "world_model"
"""Method kind of runs trained by these presets."""


@dataclass
class WorldModelRunConfig:
    """A world-model training run on Two Rooms trajectories streamed on the fly."""

    model: WorldModelConfig = field(default_factory=WorldModelConfig)
    """Encoder, predictor and loss."""
    data: TwoRoomsDataConfig = field(default_factory=TwoRoomsDataConfig)
    """The trajectory distribution (length = frames per training window)."""
    batch_size: int = 32
    """Trajectory windows per step (each of data.length frames)."""
    data_seed: int = 0
    """Seed of the data stream: batch k is a pure function of (data_seed, k)."""
    model_seed: int = 0
    """Seed of the weight initialisation."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation, schedule, budget, logging."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (VICReg statistics need a batch), got {self.batch_size}")


def two_rooms_config(fixed_wall: bool = False) -> WorldModelRunConfig:
    """The default recipe (random wall; ``fixed_wall`` for the fixed layout)."""
    dim = 32
    encoder = ImpalaConfig(channels=(16, 32), blocks=1, input_pool=2, embed_dim=dim, keypoints=16,
                           flat_dims=12)
    model = WorldModelConfig(encoder=encoder, predictor=PredictorConfig(latent_dim=dim, hidden=128),
                             weights=LossWeights(pred=1.0, var=16.0, cov=8.0, time=1.0, idm=4.0))
    train = TrainConfig(steps=4000, lr=2e-3, warmup_steps=50, time_budget_s=1200.0, log_every=50,
                        diag_every=500, ckpt_every=500)
    return WorldModelRunConfig(model=model, data=TwoRoomsDataConfig(length=17, fixed_wall=fixed_wall),
                               train=train)


def measure_input_stats(data: TwoRoomsDataConfig, *, seed: int, batch: int = 64) -> tuple[tuple, tuple]:
    """Per-channel mean and std of observations from the stream: ((C,), (C,)) rounded to 4 digits."""
    obs = TwoRoomsStream(batch, data, seed=seed + 7919)(0)["obs"]  # (B, T+1, C, H, W)
    mean = obs.mean(dim=(0, 1, 3, 4))
    std = obs.std(dim=(0, 1, 3, 4)).clamp_min(1e-4)
    return tuple(round(float(v), 4) for v in mean), tuple(round(float(v), 4) for v in std)


def resolved_model(cfg: WorldModelRunConfig) -> WorldModelConfig:
    """The model config with the input statistics filled in (measured when not given)."""
    enc = cfg.model.encoder
    if enc.input_mean and enc.input_std:
        return cfg.model
    mean, std = measure_input_stats(cfg.data, seed=cfg.data_seed)
    enc = replace(enc, input_mean=enc.input_mean or mean, input_std=enc.input_std or std)
    return replace(cfg.model, encoder=enc)


def build_world_model_run(cfg: WorldModelRunConfig) -> RunSpec:
    """config -> RunSpec: the seeded model, the stream, the training settings."""
    cfg.validate()
    model_cfg = resolved_model(cfg)
    torch.manual_seed(cfg.model_seed)
    method = JEPAWorldModel(model_cfg)
    source = TwoRoomsStream(cfg.batch_size, cfg.data, seed=cfg.data_seed)
    return RunSpec(kind=KIND, method=method, source=source, train=cfg.train, model_config=to_dict(model_cfg),
                   batch_size=cfg.batch_size)


def rebuild_world_model(model_config: dict[str, Any]) -> JEPAWorldModel:
    """A saved ``model_config`` -> an untrained JEPAWorldModel of the same shape."""
    return JEPAWorldModel(from_dict(WorldModelConfig, model_config))


register_method(KIND, rebuild_world_model)
register_preset(Preset("two-rooms", config=two_rooms_config, build=build_world_model_run,
                       help="JEPA world model on Two Rooms, random wall (the default; ~20 min on 2 cores)"))
register_preset(Preset("two-rooms-fixed", config=lambda: two_rooms_config(fixed_wall=True),
                       build=build_world_model_run, help="JEPA world model on Two Rooms, fixed wall"))
