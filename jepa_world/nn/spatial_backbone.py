"""A spatial readout of an image backbone: image (B, C, H, W) -> feature map (B, C', h, w).

Lets any backbone of the image-SSL zoo (:mod:`jepa_world.nn.backbones`) serve as the encoder of the
generic world model, keeping *where* things are instead of pooling it away:

* ViT: the final patch tokens (B, N, D) folded back onto their grid -> (B, D, g, g);
* ResNet: the last feature map before the global average pool -> (B, widths[-1], h, w).

The observation is first centre-cropped or zero-padded to the size the backbone was trained on
(:func:`~jepa_world.data.images.dataset.crop_or_pad`, the rule of the trajectory-frame datasets), then
normalised per channel as the SSL run normalised its images. An optional fixed 1x1 projection maps the
D channels to ``latent_channels`` (``projection="random"``: a seeded random orthonormal map;
``"pca"``: the same until :meth:`SpatialBackbone.fit_pca` sets it to the top principal directions of
the token features of some frames). The projection is a buffer, saved with the weights, and never
trained: the whole readout is a frozen function, which is what makes its features cacheable.

Examples:
    >>> import torch
    >>> from jepa_world.nn.vit import ViTConfig
    >>> cfg = SpatialBackboneConfig(backbone=BackboneConfig(kind="vit", vit=ViTConfig(
    ...     image_size=64, in_channels=2, patch_size=16, dim=32, depth=1, heads=2)), latent_channels=4)
    >>> enc = SpatialBackbone(cfg)
    >>> enc.latent_shape, enc(torch.zeros(3, 2, 65, 65)).shape
    ((4, 4, 4), torch.Size([3, 4, 4, 4]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.data.images.dataset import crop_or_pad
from jepa_world.nn.backbones import BackboneConfig, build_backbone
from jepa_world.nn.resnet import ResNet, ResNetConfig
from jepa_world.nn.vit import ViTConfig


def _default_backbone() -> BackboneConfig:
    return BackboneConfig(kind="vit", vit=ViTConfig(image_size=64, in_channels=2, patch_size=8, dim=64, depth=4,
                                                    heads=4, mlp_ratio=2.0, pos="sincos"))


@dataclass
class SpatialBackboneConfig:
    """A backbone read out as a feature map, with the input fitting and projection around it."""

    backbone: BackboneConfig = field(default_factory=_default_backbone)
    """The backbone (its kind and shape; the frozen presets copy it from the encoder's SSL run)."""
    in_channels: int = 2
    """Channels C of the observation (must equal the backbone's input channels)."""
    image_size: int = 65
    """Height = width of the observation (px)."""
    input_size: int = 64
    """Side the backbone was trained on: observations are centre-cropped or zero-padded to it."""
    input_mean: tuple[float, ...] = ()
    """Per-channel mean subtracted from the observation in [0, 1] units (empty = 0): the SSL run's image mean."""
    input_std: tuple[float, ...] = ()
    """Per-channel std the observation is divided by (empty = 1): the SSL run's image std."""
    projection: Literal["none", "random", "pca"] = "pca"
    """none: keep the backbone's D channels; random: a fixed seeded orthonormal 1x1 map to latent_channels;
    pca: a fixed 1x1 map onto the top principal directions of the token features (fitted by the preset)."""
    latent_channels: int = 16
    """Channels C' after the projection (unused with projection=none)."""
    projection_seed: int = 0
    """Seed of the random projection (and of pca's starting point)."""
    source: str = ""
    """Where the weights came from (an SSL run directory or 'random'); informational, the weights live in the
    world model's own file."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        self.backbone.validate()
        b = self.backbone
        channels = b.vit.in_channels if b.kind == "vit" else b.resnet.in_channels
        if channels != self.in_channels:
            raise ValueError(f"backbone takes {channels}-channel images, the observations have {self.in_channels}")
        if b.kind == "vit" and b.vit.image_size != self.input_size:
            raise ValueError(f"backbone.vit.image_size ({b.vit.image_size}) must equal input_size ({self.input_size})")
        if min(self.image_size, self.input_size, self.latent_channels) < 1:
            raise ValueError(f"SpatialBackboneConfig needs image_size, input_size, latent_channels >= 1, got "
                             f"{self.image_size}, {self.input_size}, {self.latent_channels}")
        if self.projection not in ("none", "random", "pca"):
            raise ValueError(f"projection must be 'none', 'random' or 'pca', got {self.projection!r}")
        if self.projection != "none" and self.latent_channels > self.width:
            raise ValueError(f"latent_channels ({self.latent_channels}) must be <= the backbone's width {self.width}")
        for name in ("input_mean", "input_std"):
            if len(getattr(self, name)) not in (0, self.in_channels):
                raise ValueError(f"SpatialBackboneConfig.{name} needs 0 or {self.in_channels} values, "
                                 f"got {getattr(self, name)}")
        if any(s <= 0 for s in self.input_std):
            raise ValueError(f"SpatialBackboneConfig.input_std must be positive, got {self.input_std}")

    @property
    def width(self) -> int:
        """Channels D of the backbone's feature map."""
        return self.backbone.vit.dim if self.backbone.kind == "vit" else self.backbone.resnet.widths[-1]

    def grid(self) -> int:
        """Side h = w of the feature map."""
        if self.backbone.kind == "vit":
            return self.backbone.vit.grid
        return resnet_grid(self.backbone.resnet, self.input_size)

    def latent_shape(self) -> tuple[int, int, int]:
        """(C', h, w) of the output."""
        channels = self.width if self.projection == "none" else self.latent_channels
        return channels, self.grid(), self.grid()


def resnet_grid(config: ResNetConfig, size: int) -> int:
    """Side of the last feature map of :class:`~jepa_world.nn.resnet.ResNet` on ``size`` px images.

    Every 3x3 convolution with padding 1 and stride s maps n px to ceil(n / s): the stem (stem_stride),
    then one stride-2 block per stage after the first.
    """
    size = math.ceil(size / config.stem_stride)
    for _ in config.widths[1:]:
        size = math.ceil(size / 2)
    return size


class SpatialBackbone(nn.Module):
    """obs (B, C, H, W) -> z (B, C', h, w): crop/pad, normalise, backbone feature map, fixed projection."""

    def __init__(self, config: SpatialBackboneConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpatialBackboneConfig()
        self.config.validate()
        cfg = self.config
        self.backbone = build_backbone(cfg.backbone)
        self.latent_shape: tuple[int, int, int] = cfg.latent_shape()
        mean = torch.tensor(cfg.input_mean or [0.0] * cfg.in_channels).view(1, -1, 1, 1)
        std = torch.tensor(cfg.input_std or [1.0] * cfg.in_channels).view(1, -1, 1, 1)
        self.register_buffer("input_mean", mean, persistent=False)
        self.register_buffer("input_std", std, persistent=False)
        if cfg.projection != "none":
            g = torch.Generator().manual_seed(cfg.projection_seed)
            q, _ = torch.linalg.qr(torch.randn(cfg.width, cfg.latent_channels, generator=g))  # (D, C') orthonormal
            self.register_buffer("proj_weight", q.T.contiguous())  # (C', D)
            self.register_buffer("proj_bias", torch.zeros(cfg.latent_channels))  # (C',)

    def feature_map(self, obs: Tensor) -> Tensor:
        """The backbone's map before the projection: obs (B, C, H, W) -> (B, D, h, w)."""
        cfg = self.config
        if obs.dim() != 4 or obs.shape[1] != cfg.in_channels or tuple(obs.shape[-2:]) != (cfg.image_size,) * 2:
            raise ValueError(f"expected obs (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}), "
                             f"got {tuple(obs.shape)}")
        x = (crop_or_pad(obs, cfg.input_size) - self.input_mean) / self.input_std
        if isinstance(self.backbone, ResNet):
            return self.backbone.layers(self.backbone.stem(x))  # (B, widths[-1], h, w)
        tokens = self.backbone(x)  # (B, N, D), row-major over the g x g grid
        g = cfg.grid()
        return tokens.transpose(1, 2).reshape(x.shape[0], -1, g, g)  # (B, D, g, g)

    def forward(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, C', h, w)."""
        z = self.feature_map(obs)
        if self.config.projection == "none":
            return z
        return torch.einsum("kd,bdhw->bkhw", self.proj_weight, z) + self.proj_bias[:, None, None]

    @torch.no_grad()
    def fit_pca(self, obs: Tensor) -> None:
        """Set the projection to the top ``latent_channels`` principal directions of the feature vectors of
        every cell of ``obs`` (B, C, H, W), centred, scaled so the projected channels have unit mean variance."""
        if self.config.projection != "pca":
            raise ValueError(f"fit_pca needs projection='pca', got {self.config.projection!r}")
        was_training = self.training
        self.eval()
        feats = self.feature_map(obs).transpose(0, 1).flatten(1).T.double()  # (B*h*w, D)
        self.train(was_training)
        mean = feats.mean(dim=0)
        _, s, vh = torch.linalg.svd(feats - mean, full_matrices=False)  # vh (D, D), rows = directions
        k = self.config.latent_channels
        var = (s[:k] ** 2 / max(feats.shape[0] - 1, 1)).mean().clamp_min(1e-12)
        weight = vh[:k] / var.sqrt()  # (C', D)
        self.proj_weight.copy_(weight.float())
        self.proj_bias.copy_((-weight @ mean).float())
