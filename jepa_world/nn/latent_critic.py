"""A goal-conditioned value in latent space: V(z, g) >= 0, the (discounted) number of model steps from z to g.

Two trunks, chosen by the latent's layout: a flat latent (B, D) goes through an MLP on ``[z, g, |z - g|]``;
a spatial latent (B, C*h*w) with ``latent_shape = (C, h, w)`` through 3x3 convolutions on the two maps
stacked on channels (where the agent is and where the goal is are compared cell by cell, then pooled by two
stride-2 convolutions), then an MLP. The output is a softplus: a cost-to-go is never negative.

Examples:
    >>> import torch
    >>> critic = LatentCritic(LatentCriticConfig(latent_dim=8, hidden=16))
    >>> critic(torch.zeros(5, 8), torch.ones(5, 8)).shape
    torch.Size([5])
    >>> spatial = LatentCritic(LatentCriticConfig(latent_dim=4 * 9 * 9, latent_shape=(4, 9, 9), channels=8))
    >>> bool((spatial(torch.randn(3, 324), torch.randn(3, 324)) >= 0).all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class LatentCriticConfig:
    """Shape of the critic."""

    latent_dim: int = 32
    """Size D of one flat latent."""
    latent_shape: tuple[int, int, int] | None = None
    """(C, h, w) when the flat latent is a spatial map (C*h*w = D): a convolutional trunk; None: an MLP."""
    channels: int = 32
    """Channels of the convolutional trunk (spatial latents)."""
    hidden: int = 128
    """Width of the MLP layers."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.latent_dim, self.channels, self.hidden) < 1:
            raise ValueError(f"LatentCriticConfig needs latent_dim, channels, hidden >= 1, got "
                             f"{self.latent_dim}, {self.channels}, {self.hidden}")
        if self.latent_shape is not None:
            c, h, w = self.latent_shape
            if c * h * w != self.latent_dim:
                raise ValueError(f"latent_shape {tuple(self.latent_shape)} has {c * h * w} values, "
                                 f"not latent_dim={self.latent_dim}")


class LatentCritic(nn.Module):
    """z (B, D), g (B, D) -> V (B,) >= 0."""

    def __init__(self, config: LatentCriticConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        if config.latent_shape is None:
            self.trunk: nn.Module = nn.Identity()
            width = 3 * config.latent_dim
        else:
            c, h, w = config.latent_shape
            ch = config.channels
            self.trunk = nn.Sequential(
                nn.Conv2d(2 * c, ch, 3, padding=1), nn.ReLU(),
                nn.Conv2d(ch, ch, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(ch, ch, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
            width = ch * _halved(_halved(h)) * _halved(_halved(w))
        self.head = nn.Sequential(nn.Linear(width, config.hidden), nn.ReLU(),
                                  nn.Linear(config.hidden, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))

    def forward(self, z: Tensor, goal: Tensor) -> Tensor:
        """z (B, D), goal (B, D) -> (B,)."""
        if z.shape != goal.shape or z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"LatentCritic expects z and goal (B, {self.config.latent_dim}), "
                             f"got {tuple(z.shape)} and {tuple(goal.shape)}")
        shape = self.config.latent_shape
        if shape is None:
            x = torch.cat([z, goal, (z - goal).abs()], dim=1)
        else:
            x = torch.cat([z.reshape(-1, *shape), goal.reshape(-1, *shape)], dim=1)
        return F.softplus(self.head(self.trunk(x)).squeeze(-1))


def _halved(n: int) -> int:
    """Output size of a 3x3, stride-2, padding-1 convolution on n cells."""
    return (n + 1) // 2
