"""Action-conditioned latent predictors: (z_t (B, D), a_t (B, A)) -> z_{t+1} (B, D).

``ResidualMLPPredictor``: z + MLP([z, a]) — the change of the latent is predicted, so "no motion"
is the easy default. ``GRUPredictor``: a GRU cell whose hidden state is the latent and whose input
is the (embedded) action.

Examples:
    >>> import torch
    >>> pred = build_predictor(PredictorConfig(kind="gru", latent_dim=8, action_dim=2))
    >>> pred(torch.zeros(4, 8), torch.zeros(4, 2)).shape
    torch.Size([4, 8])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn


@dataclass
class PredictorConfig:
    """Shape of the action-conditioned predictor."""

    kind: Literal["mlp", "gru"] = "mlp"
    """mlp: residual MLP on [z, a]; gru: GRU cell with the latent as hidden state."""
    latent_dim: int = 64
    """Size D of the latent (must equal the encoder's embed_dim)."""
    action_dim: int = 2
    """Size A of an action."""
    hidden: int = 256
    """Hidden width of the MLP (or of the GRU's action embedding)."""
    depth: int = 2
    """Hidden layers of the MLP."""
    action_scale: float = 1.0
    """Actions are multiplied by this before entering the network (keeps inputs near unit scale)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.kind not in ("mlp", "gru"):
            raise ValueError(f"PredictorConfig.kind must be one of ['gru', 'mlp'], got {self.kind!r}")
        for name in ("latent_dim", "action_dim", "hidden", "depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"PredictorConfig.{name} must be >= 1, got {getattr(self, name)}")


def _check(z: Tensor, a: Tensor, cfg: PredictorConfig) -> None:
    if z.dim() != 2 or a.dim() != 2 or z.shape[0] != a.shape[0] or z.shape[1] != cfg.latent_dim \
            or a.shape[1] != cfg.action_dim:
        raise ValueError(f"predictor expects z (B, {cfg.latent_dim}) and a (B, {cfg.action_dim}), "
                         f"got {tuple(z.shape)} and {tuple(a.shape)}")


class ResidualMLPPredictor(nn.Module):
    """z_{t+1} = z_t + MLP([z_t, s * a_t]): (B, D), (B, A) -> (B, D)."""

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        widths = [config.latent_dim + config.action_dim] + [config.hidden] * config.depth
        layers: list[nn.Module] = []
        for i in range(config.depth):
            layers += [nn.Linear(widths[i], widths[i + 1]), nn.GELU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(config.hidden, config.latent_dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        _check(z, a, self.config)
        return z + self.mlp(_cat(z, a * self.config.action_scale))


class GRUPredictor(nn.Module):
    """z_{t+1} = GRUCell(embed(a_t), z_t): (B, D), (B, A) -> (B, D)."""

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.embed = nn.Sequential(nn.Linear(config.action_dim, config.hidden), nn.GELU())
        self.cell = nn.GRUCell(config.hidden, config.latent_dim)

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        _check(z, a, self.config)
        return self.cell(self.embed(a * self.config.action_scale), z)


def _cat(z: Tensor, a: Tensor) -> Tensor:
    return torch.cat([z, a], dim=-1)


PREDICTORS = {"mlp": ResidualMLPPredictor, "gru": GRUPredictor}
"""Predictor kind -> module class (all built from a PredictorConfig)."""


def build_predictor(config: PredictorConfig) -> nn.Module:
    """The predictor module of ``config.kind``."""
    config.validate()
    return PREDICTORS[config.kind](config)
