"""Offline goal-conditioned RL presets: ``jepa-world train --preset two-rooms-gcbc`` (``-gciql``, ``-hiql``,
``maze-*``), evaluated by ``jepa-world eval RUN`` through the same episodes and success rules as the world models.

Each preset trains a baseline of :mod:`jepa_world.baselines` on the *same* reward-free random-walk data as the
generic world model of the same environment (``two-rooms-generic`` / ``maze-generic``: TwoRoomsDataConfig(length=21)
/ MazeDataConfig(length=21), batch 64 trajectories) under the same time budget (``_generic_train()``'s 1800 s), so
the comparison is at equal data and equal wall-clock. The optimiser is OGBench's (Park et al. 2024; ``gcrl_train``).

Runs are of method kind ``"gcrl"`` and save ``{"method": "gcbc" | "gciql" | "hiql", "env": ..., **method config}``;
``rebuild_policy`` rebuilds the module from it and ``eval`` acts with its policy (planner 'policy') in the
environment it was trained on.

Examples:
    >>> cfg = gcrl_config("hiql", "maze")
    >>> type(cfg.model).__name__, cfg.data.length, cfg.batch_size, cfg.train.time_budget_s
    ('HIQLConfig', 21, 64, 1800.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from jepa_world.baselines.gcbc import GCBC, GCBCConfig
from jepa_world.baselines.gciql import GCIQL, GCIQLConfig
from jepa_world.baselines.hiql import HIQL, HIQLConfig
from jepa_world.config import from_dict, to_dict
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.presets import Preset, RunSpec, register_method, register_preset
from jepa_world.presets.world_model import _generic_train, make_stream, measure_input_stats, trained_env
from jepa_world.train.config import TrainConfig

KIND = "gcrl"
"""Method kind of runs trained by these presets."""

METHODS: dict[str, tuple[type[nn.Module], type]] = {"gcbc": (GCBC, GCBCConfig), "gciql": (GCIQL, GCIQLConfig),
                                                    "hiql": (HIQL, HIQLConfig)}
"""The ``method`` saved in a gcrl run's model_config -> (module class, config class)."""


@dataclass
class GCBCRunConfig:
    """A GCBC run on Two Rooms trajectories streamed on the fly (the two-rooms-generic data)."""

    model: GCBCConfig = field(default_factory=GCBCConfig)
    """The policy, its relabelling and action bound."""
    data: TwoRoomsDataConfig = field(default_factory=lambda: TwoRoomsDataConfig(length=21))
    """The trajectory distribution (length = frames per trajectory)."""
    batch_size: int = 64
    """Trajectories per step (each gives model.per_trajectory relabelled transitions)."""
    data_seed: int = 0
    """Seed of the data stream: batch k is a pure function of (data_seed, k)."""
    model_seed: int = 0
    """Seed of the weight initialisation."""
    train: TrainConfig = field(default_factory=lambda: gcrl_train())
    """Optimisation, schedule, budget, logging."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


@dataclass
class GCIQLRunConfig(GCBCRunConfig):
    """A GCIQL run on Two Rooms trajectories streamed on the fly."""

    model: GCIQLConfig = field(default_factory=GCIQLConfig)  # type: ignore[assignment]
    """Value, critic, policy, relabelling and losses."""


@dataclass
class HIQLRunConfig(GCBCRunConfig):
    """A HIQL run on Two Rooms trajectories streamed on the fly."""

    model: HIQLConfig = field(default_factory=HIQLConfig)  # type: ignore[assignment]
    """Value with its goal representation, the two policies, relabelling and losses."""


@dataclass
class MazeGCBCRunConfig(GCBCRunConfig):
    """A GCBC run on maze random walks (the maze-generic data)."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per trajectory)."""


@dataclass
class MazeGCIQLRunConfig(GCIQLRunConfig):
    """A GCIQL run on maze random walks (the maze-generic data)."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per trajectory)."""


@dataclass
class MazeHIQLRunConfig(HIQLRunConfig):
    """A HIQL run on maze random walks (the maze-generic data)."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per trajectory)."""


RUN_CONFIGS = {("gcbc", "two_rooms"): GCBCRunConfig, ("gciql", "two_rooms"): GCIQLRunConfig,
               ("hiql", "two_rooms"): HIQLRunConfig, ("gcbc", "maze"): MazeGCBCRunConfig,
               ("gciql", "maze"): MazeGCIQLRunConfig, ("hiql", "maze"): MazeHIQLRunConfig}
"""(method, env) -> the run config class of its preset."""


STEPS = 20_000
"""Optimizer steps of the presets (a cosine schedule's end; the 1800 s budget ends a CPU run first)."""


def gcrl_train() -> TrainConfig:
    """The generic world model's TrainConfig (same 1800 s budget, warm-up, logging) with OGBench's optimiser (Adam,
    lr 3e-4, betas (0.9, 0.999), no weight decay, no gradient clipping: the summed losses of a method touch disjoint
    networks, so one Adam step is the separate optimisers' steps), and steps enough that the budget, not the step
    count, ends a CPU run."""
    return replace(_generic_train(), lr=3e-4, betas=(0.9, 0.999), grad_clip=0.0, steps=STEPS)


def gcrl_config(method: str, env: str) -> GCBCRunConfig:
    """The default run config of ``method`` ('gcbc', 'gciql', 'hiql') on ``env`` ('two_rooms', 'maze')."""
    if (method, env) not in RUN_CONFIGS:
        raise ValueError(f"no gcrl preset for method {method!r} on env {env!r}; valid: {sorted(RUN_CONFIGS)}")
    return RUN_CONFIGS[method, env]()


def method_name(model: Any) -> str:
    """The METHODS key of a method config instance."""
    return next(name for name, (_, cls) in METHODS.items() if isinstance(model, cls))


def resolved_model(cfg: GCBCRunConfig) -> Any:
    """The method config with the encoders' input statistics filled in (measured on the stream when not given)."""
    enc = cfg.model.net.encoder
    if cfg.model.net.encoder_kind != "impala" or (enc.input_mean and enc.input_std):
        return cfg.model
    mean, std = measure_input_stats(cfg.data, seed=cfg.data_seed)
    enc = replace(enc, input_mean=enc.input_mean or mean, input_std=enc.input_std or std)
    return replace(cfg.model, net=replace(cfg.model.net, encoder=enc))


def build_gcrl_run(cfg: GCBCRunConfig) -> RunSpec:
    """config -> RunSpec: the seeded baseline, the world models' data stream, the settings."""
    cfg.validate()
    model_cfg = resolved_model(cfg)
    name = method_name(model_cfg)
    torch.manual_seed(cfg.model_seed)
    method = METHODS[name][0](model_cfg)
    source = make_stream(cfg.data, cfg.batch_size, seed=cfg.data_seed)
    return RunSpec(kind=KIND, method=method, source=source, train=cfg.train,
                   model_config={"method": name, "env": trained_env(cfg.data), **to_dict(model_cfg)},
                   batch_size=cfg.batch_size)


def rebuild_policy(model_config: dict[str, Any]) -> nn.Module:
    """A saved gcrl ``model_config`` -> an untrained baseline of the same method and shape."""
    config = dict(model_config)
    name = config.pop("method", None)
    config.pop("env", None)
    if name not in METHODS:
        raise ValueError(f"unknown gcrl method {name!r}; valid: {sorted(METHODS)}")
    module_cls, config_cls = METHODS[name]
    return module_cls(from_dict(config_cls, config))


HELP = {"gcbc": "goal-conditioned behaviour cloning", "gciql": "goal-conditioned IQL (AWR policy)",
        "hiql": "HIQL (value, subgoal and action policies)"}
"""One line per method for `jepa-world presets`."""

register_method(KIND, rebuild_policy)
for _env, _prefix, _data in (("two_rooms", "two-rooms", "two-rooms-generic"), ("maze", "maze", "maze-generic")):
    for _method in METHODS:
        register_preset(Preset(f"{_prefix}-{_method}", config=lambda m=_method, e=_env: gcrl_config(m, e),
                               build=build_gcrl_run,
                               help=f"offline RL baseline: {HELP[_method]} on the {_data} data (eval: policy)"))
