"""Image backbones by name: ``"vit"`` (:mod:`jepa_world.nn.vit`) and ``"resnet"`` (:mod:`jepa_world.nn.resnet`).

A backbone maps images (B, C, H, W) to a representation (B, D) with ``features(x)`` and tells its
width as ``embed_dim``. The representation is what the probes evaluate.

Examples:
    >>> import torch
    >>> net = build_backbone(BackboneConfig(kind="resnet", resnet=ResNetConfig(widths=(8, 16))))
    >>> net.embed_dim, net.features(torch.zeros(2, 1, 16, 16)).shape
    (16, torch.Size([2, 16]))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from torch import nn

from jepa_world.nn.resnet import ResNet, ResNetConfig
from jepa_world.nn.vit import VisionTransformer, ViTConfig

BACKBONES: dict[str, type[nn.Module]] = {"vit": VisionTransformer, "resnet": ResNet}
"""Backbone name -> module class."""


@dataclass
class BackboneConfig:
    """Which backbone, and its shape (only the chosen kind's sub-config is used)."""

    kind: Literal["vit", "resnet"] = "vit"
    """vit | resnet."""
    vit: ViTConfig = field(default_factory=ViTConfig)
    """Shape of the ViT (kind=vit); image_size and in_channels are set from the data by the presets."""
    resnet: ResNetConfig = field(default_factory=ResNetConfig)
    """Shape of the ResNet (kind=resnet); in_channels is set from the data by the presets."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.kind not in BACKBONES:
            raise ValueError(f"backbone.kind must be one of {sorted(BACKBONES)}, got {self.kind!r}")
        self.vit.validate() if self.kind == "vit" else self.resnet.validate()

    def set_input(self, *, image_size: int, in_channels: int) -> None:
        """Make the backbone accept (in_channels, image_size, image_size) images."""
        self.vit.image_size, self.vit.in_channels = image_size, in_channels
        self.resnet.in_channels = in_channels


def build_backbone(config: BackboneConfig) -> nn.Module:
    """The backbone module of ``config.kind``."""
    config.validate()
    return VisionTransformer(config.vit) if config.kind == "vit" else ResNet(config.resnet)
