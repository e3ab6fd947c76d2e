"""Predict the next frame's representation map from the last ``context`` ones.

``context (B, k, D, h, w) -> next (B, D, h, w)``: the k maps are stacked along channels, two
coordinate channels (x, y in [-1, 1]) are appended so the network knows where the borders are (digits
bounce off them), and ``layers`` 3x3 convolutions (GELU between) produce an update added to the last
map (``residual=True``: the prediction starts as "nothing moves"). Velocity is visible in the
difference of consecutive maps, so k >= 2 is needed for motion.

Examples:
    >>> import torch
    >>> pred = FramePredictor(FramePredictorConfig(dim=4, context=2, hidden=8))
    >>> pred(torch.zeros(3, 2, 4, 8, 8)).shape
    torch.Size([3, 4, 8, 8])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class FramePredictorConfig:
    """Shape of the convolutional next-representation predictor."""

    dim: int = 32
    """Channels D of a representation map (must equal the encoder's)."""
    context: int = 2
    """k: how many past maps the prediction sees."""
    hidden: int = 64
    """Channels of the hidden convolutions."""
    layers: int = 3
    """3x3 convolutions (>= 1); the receptive field is 2 * layers + 1 cells."""
    coords: bool = True
    """Append (x, y) coordinate channels (the position of the borders)."""
    residual: bool = True
    """Predict an update of the last map instead of the map itself."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.dim < 1 or self.context < 1 or self.hidden < 1 or self.layers < 1:
            raise ValueError(f"FramePredictorConfig needs dim, context, hidden, layers >= 1, got {self}")


def coordinate_channels(h: int, w: int, *, like: Tensor) -> Tensor:
    """(1, 2, h, w): x then y, each from -1 (first cell) to 1 (last cell)."""
    ys = torch.linspace(-1.0, 1.0, h, dtype=like.dtype, device=like.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=like.dtype, device=like.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y]).unsqueeze(0)


class FramePredictor(nn.Module):
    """context (B, k, D, h, w) -> next representation (B, D, h, w)."""

    def __init__(self, config: FramePredictorConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or FramePredictorConfig()
        cfg.validate()
        width = cfg.context * cfg.dim + (2 if cfg.coords else 0)
        layers: list[nn.Module] = []
        for i in range(cfg.layers):
            out = cfg.dim if i == cfg.layers - 1 else cfg.hidden
            layers.append(nn.Conv2d(width, out, 3, padding=1))
            if i < cfg.layers - 1:
                layers.append(nn.GELU())
            width = out
        self.net = nn.Sequential(*layers)

    def forward(self, context: Tensor) -> Tensor:
        """(B, k, D, h, w) -> (B, D, h, w)."""
        cfg = self.config
        if context.ndim != 5 or context.shape[1:3] != (cfg.context, cfg.dim):
            raise ValueError(f"FramePredictor expects context (B, k={cfg.context}, D={cfg.dim}, h, w), "
                             f"got {tuple(context.shape)}")
        b, _, _, h, w = context.shape
        x = context.flatten(1, 2)  # (B, k*D, h, w)
        if cfg.coords:
            x = torch.cat([x, coordinate_channels(h, w, like=x).expand(b, 2, h, w)], dim=1)
        update = self.net(x)
        return context[:, -1] + update if cfg.residual else update
