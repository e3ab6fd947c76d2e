"""A convolutional decoder from a spatial latent back to a frame: (B, C', h, w) -> (B, C, H, W).

The mirror of :class:`~jepa_world.nn.spatial_encoder.SpatialEncoder`: a 1x1 convolution from
``latent_channels``, ``blocks`` residual 3x3 blocks at the latent resolution, then one stride-2
transposed convolution per encoder stage (ReLU after each), each undoing one halving exactly (an odd
side s came from 2s - 1, an even one from 2s), and a 3x3 convolution to the frame's channels. The
output is not squashed: it lives in the encoder's normalised input units (the pixel world model
maps it back to observation units).

Examples:
    >>> import torch
    >>> cfg = SpatialDecoderConfig(latent_channels=4, out_channels=2, image_size=65, channels=(8, 8, 8))
    >>> cfg.sizes()
    [9, 17, 33, 65]
    >>> SpatialDecoder(cfg)(torch.zeros(3, 4, 9, 9)).shape
    torch.Size([3, 2, 65, 65])
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F

from jepa_world.nn.encoders import ResidualBlock


@dataclass
class SpatialDecoderConfig:
    """Shape of the convolutional spatial decoder."""

    latent_channels: int = 16
    """Channels C' of the latent map."""
    out_channels: int = 2
    """Channels C of a frame."""
    image_size: int = 65
    """Height = width of a frame (px); the latent side is image_size halved len(channels) times, rounding up."""
    channels: tuple[int, ...] = (32, 32, 16)
    """Input channels of each stride-2 upsampling stage, coarse to fine (the last one is kept to the output)."""
    blocks: int = 1
    """Residual 3x3 blocks at the latent resolution."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.latent_channels, self.out_channels) < 1 or self.image_size < 4:
            raise ValueError(f"SpatialDecoderConfig needs latent_channels, out_channels >= 1 and image_size >= 4, "
                             f"got {self.latent_channels}, {self.out_channels}, {self.image_size}")
        if not self.channels or min(self.channels) < 1 or self.blocks < 0:
            raise ValueError(f"SpatialDecoderConfig needs non-empty positive channels and blocks >= 0, "
                             f"got {self.channels}, {self.blocks}")

    def sizes(self) -> list[int]:
        """Sides of the map from the latent grid to the frame: [h, ..., image_size] (len(channels) + 1 values)."""
        sizes = [self.image_size]
        for _ in self.channels:
            sizes.append((sizes[-1] + 1) // 2)
        return sizes[::-1]


class SpatialDecoder(nn.Module):
    """z (B, C', h, w) -> frame (B, C, H, W) in normalised input units."""

    def __init__(self, config: SpatialDecoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpatialDecoderConfig()
        self.config.validate()
        cfg = self.config
        widths = (*cfg.channels, cfg.channels[-1])
        sizes = cfg.sizes()
        self.head = nn.Conv2d(cfg.latent_channels, cfg.channels[0], 1)
        self.blocks = nn.Sequential(*[ResidualBlock(cfg.channels[0]) for _ in range(cfg.blocks)])
        # a stride-2 transposed 3x3 conv maps side s to 2s - 1 + output_padding: pad by 1 where the side was even
        self.stages = nn.ModuleList(
            nn.ConvTranspose2d(widths[i], widths[i + 1], 3, stride=2, padding=1,
                               output_padding=sizes[i + 1] - (2 * sizes[i] - 1))
            for i in range(len(cfg.channels)))
        self.out = nn.Conv2d(widths[-1], cfg.out_channels, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        cfg = self.config
        side = cfg.sizes()[0]
        if z.dim() != 4 or tuple(z.shape[1:]) != (cfg.latent_channels, side, side):
            raise ValueError(f"expected z (B, {cfg.latent_channels}, {side}, {side}), got {tuple(z.shape)}")
        x = F.relu(self.blocks(self.head(z)))  # (B, channels[0], h, w)
        for conv in self.stages:
            x = F.relu(conv(x))  # each doubles the side (to the encoder's size at that stage)
        return self.out(x)
