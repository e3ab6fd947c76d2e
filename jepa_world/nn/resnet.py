"""A small ResNet (He et al. 2016) for low-resolution images, in plain torch.

CIFAR-style stem (3x3 conv, no max-pool), then ``len(widths)`` stages of BasicBlocks; every stage
after the first halves the resolution with a stride-2 block; global average pooling gives the
representation (B, widths[-1]). BatchNorm everywhere, as in the SSL literature.

Examples:
    >>> import torch
    >>> net = ResNet(ResNetConfig(in_channels=1, widths=(8, 16), blocks=1))
    >>> net(torch.zeros(4, 1, 32, 32)).shape
    torch.Size([4, 16])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class ResNetConfig:
    """Shape of a small ResNet."""

    in_channels: int = 1
    """Channels C of the input image."""
    widths: tuple[int, ...] = (32, 64, 128)
    """Channels of each stage; stages after the first halve the resolution."""
    blocks: int = 1
    """BasicBlocks per stage (ResNet-18 uses 2 with widths (64, 128, 256, 512))."""
    stem_stride: int = 1
    """Stride of the 3x3 stem convolution (2 halves the input at once, 4x fewer FLOPs)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.in_channels < 1:
            raise ValueError(f"ResNetConfig.in_channels must be >= 1, got {self.in_channels}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"ResNetConfig.widths must be non-empty positive ints, got {self.widths}")
        if self.blocks < 1:
            raise ValueError(f"ResNetConfig.blocks must be >= 1, got {self.blocks}")
        if self.stem_stride not in (1, 2):
            raise ValueError(f"ResNetConfig.stem_stride must be 1 or 2, got {self.stem_stride}")


class BasicBlock(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)): (B, Cin, H, W) -> (B, Cout, H / s, W / s)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """image (B, C, H, W) -> representation (B, widths[-1]) (global average pool)."""

    def __init__(self, config: ResNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or ResNetConfig()
        self.config.validate()
        cfg = self.config
        self.embed_dim = cfg.widths[-1]
        self.stem = nn.Sequential(
            nn.Conv2d(cfg.in_channels, cfg.widths[0], 3, stride=cfg.stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(cfg.widths[0]),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        prev = cfg.widths[0]
        for i, width in enumerate(cfg.widths):
            for j in range(cfg.blocks):
                layers.append(BasicBlock(prev, width, stride=2 if i > 0 and j == 0 else 1))
                prev = width
        self.layers = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"ResNet expects images (B, {self.config.in_channels}, H, W), got {tuple(x.shape)}")
        return self.layers(self.stem(x)).mean(dim=(2, 3))  # (B, C_last, h, w) -> (B, C_last)

    def features(self, x: Tensor) -> Tensor:
        """Same as ``forward``: (B, C, H, W) -> (B, D)."""
        return self(x)
