"""An action-conditioned convolutional predictor over a spatial latent: (B, C', h, w), (B, A) -> (B, C', h, w).

The action enters as a constant field: a linear map of it is added to every cell of the first
convolution's output (the same as convolving a broadcast action field padded by replication); ``depth``
3x3 convolutions (ReLU between) predict a residual, ``z_next = z + f(z, a)``. Convolutions are
translation-equivariant and the action field is constant, so shifting the latent shifts the
prediction (away from the zero-padded border): what the action does at one place is learned once
for every place. Receptive field: ``2 * depth + 1`` cells, which bounds how far one step can move
anything in the latent.

Examples:
    >>> import torch
    >>> pred = SpatialPredictor(SpatialPredictorConfig(latent_channels=4, action_dim=2, hidden=8))
    >>> pred(torch.zeros(5, 4, 9, 9), torch.zeros(5, 2)).shape
    torch.Size([5, 4, 9, 9])
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class SpatialPredictorConfig:
    """Shape of the convolutional spatial predictor."""

    latent_channels: int = 16
    """Channels C' of the latent map (must equal the encoder's)."""
    action_dim: int = 2
    """Size A of one (model) action."""
    hidden: int = 32
    """Channels of the hidden 3x3 convolutions."""
    depth: int = 3
    """Number of 3x3 convolutions (>= 2); the receptive field is 2 * depth + 1 cells."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.latent_channels, self.action_dim, self.hidden) < 1 or self.depth < 2:
            raise ValueError(f"SpatialPredictorConfig needs latent_channels, action_dim, hidden >= 1 and depth >= 2, "
                             f"got {self.latent_channels}, {self.action_dim}, {self.hidden}, {self.depth}")


class SpatialPredictor(nn.Module):
    """z (B, C', h, w), a (B, A) -> z_next (B, C', h, w) = z + convs(z, constant field of a)."""

    def __init__(self, config: SpatialPredictorConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpatialPredictorConfig()
        self.config.validate()
        cfg = self.config
        widths = [cfg.latent_channels] + [cfg.hidden] * (cfg.depth - 1) + [cfg.latent_channels]
        self.convs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1) for i in range(cfg.depth))
        self.action = nn.Linear(cfg.action_dim, cfg.hidden, bias=False)
        nn.init.zeros_(self.convs[-1].weight)  # starts as the identity map: z_next = z
        nn.init.zeros_(self.convs[-1].bias)

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        cfg = self.config
        if z.dim() != 4 or z.shape[1] != cfg.latent_channels or a.shape != (z.shape[0], cfg.action_dim):
            raise ValueError(f"expected z (B, {cfg.latent_channels}, h, w) and a (B, {cfg.action_dim}), "
                             f"got {tuple(z.shape)} and {tuple(a.shape)}")
        x = self.convs[0](z) + self.action(a)[:, :, None, None]  # (B, hidden, h, w): the action field added
        for conv in self.convs[1:]:
            x = conv(F.relu(x))
        return z + x
