"""The network of every goal-conditioned baseline: an observation encoder and MLP heads on (state, goal[, input]).

``GoalNet`` encodes the state and the goal observations with the *same* encoder (late fusion: the goal is
encoded once per episode by the evaluation loop, which plans from encodings) and reads ``ensemble`` MLP heads
off ``[enc(s), enc(g), extra]`` (``extra``: the action of a Q function, nothing for V or a policy). Each baseline
builds one ``GoalNet`` per role (value, critic, actor), each with its own encoder, as OGBench does for its
pixel agents (Park et al. 2024); they differ from OGBench in fusing the goal after the encoder, not on the
input channels.

The encoder is the project's IMPALA CNN (:mod:`jepa_world.nn.encoders`; the ``two-rooms-mlp`` world model's
family: spatial-softmax keypoints for the small moving agent, flat dims for the walls), or the flattened
observation itself (``encoder_kind="identity"``: state-vector observations given as (C, 1, 1), and tests).

Examples:
    >>> import torch
    >>> cfg = GoalNetConfig(encoder=ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=2, flat_dims=2), hidden=16)
    >>> net = GoalNet(cfg, out_dim=2, extra_dim=2, ensemble=2)
    >>> obs = torch.zeros(3, 2, 65, 65)
    >>> net(net.encode(obs), net.encode(obs), torch.zeros(3, 2)).shape
    torch.Size([3, 2, 2])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.nn.encoders import ImpalaConfig, ImpalaEncoder


def _default_encoder() -> ImpalaConfig:
    return ImpalaConfig(channels=(16, 32), blocks=1, input_pool=2, embed_dim=64, keypoints=16, flat_dims=16)


@dataclass
class GoalNetConfig:
    """Encoder and MLP of one goal-conditioned network."""

    encoder: ImpalaConfig = field(default_factory=_default_encoder)
    """The observation encoder (IMPALA CNN, keypoints + flat dims); with encoder_kind='identity' only in_channels
    (the state size) and image_size (1) are read."""
    encoder_kind: Literal["impala", "identity"] = "impala"
    """'impala' (pixels) or 'identity' (the flattened observation is the feature: state vectors, tests)."""
    hidden: int = 256
    """Width of the MLP's hidden layers (OGBench: 512 on states; smaller here for CPU pixels)."""
    layers: int = 2
    """Hidden layers of the MLP (OGBench: 3)."""
    layer_norm: bool = True
    """LayerNorm after every hidden layer (OGBench's value and actor MLPs use it)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.encoder_kind not in ("impala", "identity"):
            raise ValueError(f"encoder_kind must be 'impala' or 'identity', got {self.encoder_kind!r}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError(f"GoalNetConfig needs hidden >= 1 and layers >= 1, got {self.hidden}, {self.layers}")
        if self.encoder_kind == "impala":
            self.encoder.validate()

    def feature_dim(self) -> int:
        """D of the encoder's output."""
        enc = self.encoder
        return enc.embed_dim if self.encoder_kind == "impala" else enc.in_channels * enc.image_size ** 2


def mlp(in_dim: int, out_dim: int, *, hidden: int, layers: int, layer_norm: bool) -> nn.Sequential:
    """``layers`` hidden Linear -> [LayerNorm] -> GELU, then a Linear to ``out_dim``."""
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), *([nn.LayerNorm(hidden)] if layer_norm else []), nn.GELU()]
        width = hidden
    return nn.Sequential(*mods, nn.Linear(width, out_dim))


class GoalNet(nn.Module):
    """encode: obs (N, C, H, W) -> (N, D); forward: z (N, D), goal input (N, G), extra (N, E) -> (N, ensemble, out).

    ``goal_dim`` is G (default D: an encoded goal observation; HIQL passes its subgoal representation)."""

    def __init__(self, config: GoalNetConfig, *, out_dim: int, extra_dim: int = 0, ensemble: int = 1,
                 goal_dim: int | None = None) -> None:
        super().__init__()
        config.validate()
        self.config, self.out_dim = config, out_dim
        self.encoder = ImpalaEncoder(config.encoder) if config.encoder_kind == "impala" else nn.Flatten(1)
        d = config.feature_dim()
        in_dim = d + (d if goal_dim is None else goal_dim) + extra_dim
        self.heads = nn.ModuleList(mlp(in_dim, out_dim, hidden=config.hidden, layers=config.layers,
                                       layer_norm=config.layer_norm) for _ in range(ensemble))

    def encode(self, obs: Tensor) -> Tensor:
        """obs (N, C, H, W) -> features (N, D)."""
        return self.encoder(obs)

    def forward(self, z: Tensor, goal: Tensor, extra: Tensor | None = None) -> Tensor:
        x = torch.cat([z, goal] if extra is None else [z, goal, extra], dim=-1)  # (N, D + G [+ E])
        return torch.stack([head(x) for head in self.heads], dim=1)  # (N, ensemble, out)
