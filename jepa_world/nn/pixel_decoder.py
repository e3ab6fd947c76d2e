"""A pixel decoder for pictures of representations: z (B, D, h, w) -> frames (B, C, H, W) in [0, 1].

Used only to *look at* what a video JEPA predicts (it is trained afterwards, on detached
representations); the JEPA objective never sees pixels. ``log2(H / h)`` stride-2 transposed
convolutions (GELU between) double the map up to the frame size, a 3x3 convolution and a sigmoid
give the pixels.

Examples:
    >>> import torch
    >>> dec = PixelDecoder(PixelDecoderConfig(dim=4, grid=8, image_size=64, width=8))
    >>> dec(torch.zeros(2, 4, 8, 8)).shape
    torch.Size([2, 1, 64, 64])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class PixelDecoderConfig:
    """Shape of the visualisation decoder."""

    dim: int = 32
    """Channels D of the representation map."""
    grid: int = 8
    """Height = width h of the representation map."""
    image_size: int = 64
    """Height = width of the frames (image_size / grid must be a power of two)."""
    out_channels: int = 1
    """Channels of a frame."""
    width: int = 64
    """Channels after the first upsampling (halved after each further one, at least 16)."""

    @property
    def upsamplings(self) -> int:
        """How many times the map is doubled."""
        return (self.image_size // self.grid).bit_length() - 1

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        ratio = self.image_size // max(self.grid, 1)
        if self.grid < 1 or ratio * self.grid != self.image_size or ratio & (ratio - 1):
            raise ValueError(f"PixelDecoderConfig: image_size / grid must be a power of two, got "
                             f"{self.image_size} / {self.grid}")
        if self.dim < 1 or self.out_channels < 1 or self.width < 1:
            raise ValueError(f"PixelDecoderConfig needs dim, out_channels, width >= 1, got {self}")


class PixelDecoder(nn.Module):
    """z (B, D, h, w) -> frames (B, C, H, W) in [0, 1]."""

    def __init__(self, config: PixelDecoderConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or PixelDecoderConfig()
        cfg.validate()
        layers: list[nn.Module] = []
        width, out = cfg.dim, cfg.width
        for _ in range(cfg.upsamplings):
            layers += [nn.ConvTranspose2d(width, out, 4, stride=2, padding=1), nn.GELU()]
            width, out = out, max(16, out // 2)
        layers.append(nn.Conv2d(width, cfg.out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """(B, D, h, w) -> (B, C, H, W)."""
        cfg = self.config
        if z.ndim != 4 or z.shape[1:] != (cfg.dim, cfg.grid, cfg.grid):
            raise ValueError(f"PixelDecoder expects z (B, {cfg.dim}, {cfg.grid}, {cfg.grid}), got {tuple(z.shape)}")
        return torch.sigmoid(self.net(z))
