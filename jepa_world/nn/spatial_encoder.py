"""A convolutional encoder with a spatial latent: image (B, C, H, W) -> feature map (B, C', h, w).

Generic vision prior only: strided convolutions keep *where* things are (the map is translation-
equivariant up to the stride), so a predictor that acts on it learns a local rule once for every
place. Nothing here knows agents, walls or positions.

Layers: per-channel input normalisation, ``len(channels)`` stages of ``conv 3x3 stride 2 -> ReLU``
(each halves the resolution, rounding up), ``blocks`` residual 3x3 blocks at the last resolution,
and a 1x1 convolution to ``latent_channels``. The output is not squashed: the world model's
regularisers set its scale.

Examples:
    >>> import torch
    >>> enc = SpatialEncoder(SpatialEncoderConfig(in_channels=2, image_size=65, channels=(8, 8, 8)))
    >>> enc.config.grid(), enc(torch.zeros(3, 2, 65, 65)).shape
    (9, torch.Size([3, 16, 9, 9]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from jepa_world.nn.encoders import ResidualBlock


@dataclass
class SpatialEncoderConfig:
    """Shape of the convolutional spatial encoder."""

    in_channels: int = 2
    """Channels C of the observation."""
    image_size: int = 65
    """Height = width of the observation (px)."""
    channels: tuple[int, ...] = (16, 32, 32)
    """Output channels of each stride-2 stage (each halves the resolution, rounding up)."""
    blocks: int = 1
    """Residual 3x3 blocks after the last stage."""
    latent_channels: int = 16
    """Channels C' of the latent feature map."""
    input_mean: tuple[float, ...] = ()
    """Per-channel mean subtracted from the observation (empty = 0); presets measure it on data."""
    input_std: tuple[float, ...] = ()
    """Per-channel std the observation is divided by (empty = 1): a small moving blob must not be drowned
    by a large static channel."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.in_channels < 1 or self.image_size < 4 or self.latent_channels < 1:
            raise ValueError(f"SpatialEncoderConfig needs in_channels, latent_channels >= 1 and image_size >= 4, "
                             f"got {self.in_channels}, {self.latent_channels}, {self.image_size}")
        if not self.channels or min(self.channels) < 1 or self.blocks < 0:
            raise ValueError(f"SpatialEncoderConfig needs non-empty positive channels and blocks >= 0, "
                             f"got {self.channels}, {self.blocks}")
        for name in ("input_mean", "input_std"):
            if len(getattr(self, name)) not in (0, self.in_channels):
                raise ValueError(f"SpatialEncoderConfig.{name} needs 0 or {self.in_channels} values, "
                                 f"got {getattr(self, name)}")
        if any(s <= 0 for s in self.input_std):
            raise ValueError(f"SpatialEncoderConfig.input_std must be positive, got {self.input_std}")

    def grid(self) -> int:
        """Side h = w of the latent map."""
        size = self.image_size
        for _ in self.channels:
            size = (size + 1) // 2
        return size

    def latent_shape(self) -> tuple[int, int, int]:
        """(C', h, w) of the latent map."""
        return self.latent_channels, self.grid(), self.grid()


class SpatialEncoder(nn.Module):
    """obs (B, C, H, W) -> z (B, C', h, w)."""

    def __init__(self, config: SpatialEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpatialEncoderConfig()
        self.config.validate()
        cfg = self.config
        self.latent_shape: tuple[int, int, int] = cfg.latent_shape()
        widths = (cfg.in_channels, *cfg.channels)
        self.stages = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1)
                                    for i in range(len(cfg.channels)))
        self.blocks = nn.Sequential(*[ResidualBlock(cfg.channels[-1]) for _ in range(cfg.blocks)])
        self.head = nn.Conv2d(cfg.channels[-1], cfg.latent_channels, 1)
        mean = torch.tensor(cfg.input_mean or [0.0] * cfg.in_channels).view(1, -1, 1, 1)
        std = torch.tensor(cfg.input_std or [1.0] * cfg.in_channels).view(1, -1, 1, 1)
        self.register_buffer("input_mean", mean, persistent=False)
        self.register_buffer("input_std", std, persistent=False)

    def forward(self, obs: Tensor) -> Tensor:
        cfg = self.config
        if obs.dim() != 4 or obs.shape[1] != cfg.in_channels or tuple(obs.shape[-2:]) != (cfg.image_size,) * 2:
            raise ValueError(f"expected obs (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}), "
                             f"got {tuple(obs.shape)}")
        x = (obs - self.input_mean) / self.input_std
        for conv in self.stages:
            x = F.relu(conv(x))
        return self.head(F.relu(self.blocks(x)))
