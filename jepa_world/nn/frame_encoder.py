"""A small convolutional frame encoder whose representation is a spatial feature map.

``frames (B, C_in, H, W) -> z (B, D, h, w)``: an optional patchify stem (a ``patch x patch`` convolution
with stride ``patch``), then one 3x3 stride-2 convolution + GELU per entry of ``channels``, then a 1x1
convolution to ``dim`` channels (no activation). Each cell of the map describes one region of the
frame, so *where* a digit is stays explicit; ``h = w = H / (patch * 2^len(channels))``.

Examples:
    >>> import torch
    >>> enc = FrameEncoder(FrameEncoderConfig(channels=(8, 16, 16), dim=4))
    >>> enc(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 4, 8, 8])
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


@dataclass
class FrameEncoderConfig:
    """Shape of the convolutional frame encoder."""

    in_channels: int = 1
    """Channels of a frame."""
    image_size: int = 64
    """Height = width of a frame (px)."""
    patch: int = 1
    """Patchify stem: a patch x patch convolution with that stride first (1 = none)."""
    stem_channels: int = 16
    """Output channels of the patchify stem (used when patch > 1)."""
    channels: tuple[int, ...] = (16, 32, 64)
    """Output channels of each 3x3 stride-2 convolution (each halves the resolution)."""
    dim: int = 32
    """Channels D of the representation map."""

    @property
    def grid(self) -> int:
        """Height = width h of the representation map."""
        return self.image_size // (self.patch * 2 ** len(self.channels))

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.in_channels < 1 or self.dim < 1 or self.patch < 1 or self.stem_channels < 1:
            raise ValueError(f"FrameEncoderConfig needs in_channels, dim, patch, stem_channels >= 1, got {self}")
        if any(c < 1 for c in self.channels):
            raise ValueError(f"FrameEncoderConfig.channels must be positive, got {self.channels}")
        stride = self.patch * 2 ** len(self.channels)
        if self.image_size % stride or self.grid < 1:
            raise ValueError(f"FrameEncoderConfig: image_size {self.image_size} must be a positive multiple of "
                             f"patch * 2^len(channels) = {stride}")


class FrameEncoder(nn.Module):
    """frames (B, C_in, H, W) float -> z (B, D, h, w)."""

    def __init__(self, config: FrameEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or FrameEncoderConfig()
        cfg.validate()
        layers: list[nn.Module] = []
        width = cfg.in_channels
        if cfg.patch > 1:
            layers += [nn.Conv2d(width, cfg.stem_channels, cfg.patch, stride=cfg.patch), nn.GELU()]
            width = cfg.stem_channels
        for c in cfg.channels:
            layers += [nn.Conv2d(width, c, 3, stride=2, padding=1), nn.GELU()]
            width = c
        layers.append(nn.Conv2d(width, cfg.dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, frames: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, D, h, w)."""
        cfg = self.config
        if frames.ndim != 4 or frames.shape[1:] != (cfg.in_channels, cfg.image_size, cfg.image_size):
            raise ValueError(f"FrameEncoder expects (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}) "
                             f"frames, got {tuple(frames.shape)}")
        return self.net(frames)
