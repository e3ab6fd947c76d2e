"""Image encoders: observation (B, C, H, W) -> embedding (B, D).

``ImpalaEncoder`` is the residual CNN of IMPALA (Espeholt et al., 2018): stages of
conv3x3 -> max-pool /2 -> two residual blocks, then a linear head. Knobs: ``channels`` per stage
(width), ``input_pool`` (average-pool the observation first: 65x65 -> 32x32 with 2, the cheapest
way to buy CPU speed), ``blocks`` per stage.

Examples:
    >>> import torch
    >>> enc = ImpalaEncoder(ImpalaConfig(in_channels=2, channels=(8, 16), embed_dim=32))
    >>> enc(torch.zeros(3, 2, 65, 65)).shape
    torch.Size([3, 32])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class ImpalaConfig:
    """Shape of an IMPALA-style residual CNN encoder."""

    in_channels: int = 2
    """Channels C of the observation."""
    image_size: int = 65
    """Height = width of the observation (px)."""
    channels: tuple[int, ...] = (16, 32, 32)
    """Output channels of each stage; every stage halves the resolution."""
    blocks: int = 1
    """Residual blocks per stage (IMPALA uses 2)."""
    input_pool: int = 2
    """Average-pool the input by this factor before the first conv (1 = full resolution)."""
    input_mean: tuple[float, ...] = ()
    """Per-channel mean subtracted from the observation (empty = 0); presets measure it on data."""
    input_std: tuple[float, ...] = ()
    """Per-channel std the observation is divided by (empty = 1). Equalising channels matters when one
    (a small agent blob) carries far less energy than another (the walls)."""
    embed_dim: int = 64
    """Size D of the embedding."""
    norm_output: bool = False
    """LayerNorm on the embedding (without affine), keeping every latent on a common scale."""
    keypoints: int = 0
    """Spatial-softmax keypoints (Levine et al. 2016) read after stage ``keypoint_stage``: each is
    the expected (x, y) of a softmax over one feature map, an explicit sub-pixel position feature
    that makes small moving objects visible to the head from the first step (0 = off)."""
    flat_dims: int = 0
    """With keypoints: embedding dims read linearly off the flattened last feature map (the rest come
    from the keypoints through a small MLP). Slow-varying scene content (walls, doors) lives there,
    the moving agent in the keypoint dims. 0 = keypoints only. Ignored without keypoints."""
    keypoint_stage: int = 0
    """Index of the stage whose output feeds the keypoints (0 = the highest-resolution stage)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.in_channels < 1 or self.image_size < 4 or self.embed_dim < 1:
            raise ValueError(f"ImpalaConfig needs in_channels, embed_dim >= 1 and image_size >= 4, got {self}")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"ImpalaConfig.channels must be non-empty positive ints, got {self.channels}")
        if self.blocks < 0 or self.input_pool < 1:
            raise ValueError(f"ImpalaConfig needs blocks >= 0 and input_pool >= 1, "
                             f"got {self.blocks}, {self.input_pool}")
        for name in ("input_mean", "input_std"):
            if len(getattr(self, name)) not in (0, self.in_channels):
                raise ValueError(f"ImpalaConfig.{name} needs 0 or {self.in_channels} values, got {getattr(self, name)}")
        if any(s <= 0 for s in self.input_std):
            raise ValueError(f"ImpalaConfig.input_std must be positive, got {self.input_std}")
        if self.keypoints < 0 or not 0 <= self.keypoint_stage < len(self.channels):
            raise ValueError(f"ImpalaConfig needs keypoints >= 0 and keypoint_stage in [0, {len(self.channels)}), "
                             f"got {self.keypoints}, {self.keypoint_stage}")
        if self.keypoints and not 0 <= self.flat_dims < self.embed_dim:
            raise ValueError(f"ImpalaConfig.flat_dims must be in [0, embed_dim={self.embed_dim}), got {self.flat_dims}")
        if self.feature_size() < 1:
            raise ValueError(f"image_size {self.image_size} is too small for {len(self.channels)} stages "
                             f"after pooling by {self.input_pool}")

    def feature_size(self) -> int:
        """Spatial size of the last stage's feature map."""
        size = self.image_size // self.input_pool
        for _ in self.channels:
            size = (size + 1) // 2
        return size


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), channels preserved: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ImpalaStage(nn.Module):
    """conv3x3 -> max-pool 3x3 stride 2 -> residual blocks: (B, Cin, H, W) -> (B, Cout, ceil(H/2), ceil(W/2))."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.blocks = nn.Sequential(*[ResidualBlock(out_channels) for _ in range(blocks)])

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(self.conv(x), 3, stride=2, padding=1)
        return self.blocks(x)


class SpatialSoftmax(nn.Module):
    """Feature maps -> keypoints: (B, C, H, W) -> (B, 2K) expected (x, y) in [-1, 1] of K softmax maps."""

    def __init__(self, in_channels: int, keypoints: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        maps = self.proj(x)  # (B, K, H, W)
        b, k, h, w = maps.shape
        attn = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1).view(b, k, h, w)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)
        ex = (attn.sum(dim=2) * xs).sum(dim=-1)  # (B, K)
        ey = (attn.sum(dim=3) * ys).sum(dim=-1)  # (B, K)
        return torch.cat([ex, ey], dim=-1)  # (B, 2K)


class ImpalaEncoder(nn.Module):
    """obs (B, C, H, W) -> z (B, D)."""

    def __init__(self, config: ImpalaConfig | None = None) -> None:
        super().__init__()
        self.config = config or ImpalaConfig()
        self.config.validate()
        cfg = self.config
        widths = (cfg.in_channels, *cfg.channels)
        self.stages = nn.Sequential(*[ImpalaStage(widths[i], widths[i + 1], cfg.blocks)
                                      for i in range(len(cfg.channels))])
        flat = cfg.channels[-1] * cfg.feature_size() ** 2
        self.keypoints = SpatialSoftmax(cfg.channels[cfg.keypoint_stage], cfg.keypoints) if cfg.keypoints else None
        self.flat_head = None
        if not cfg.keypoints:
            self.head = nn.Linear(flat, cfg.embed_dim)
        else:
            hidden = 4 * cfg.keypoints
            self.head = nn.Sequential(nn.Linear(2 * cfg.keypoints, hidden), nn.GELU(),
                                      nn.Linear(hidden, cfg.embed_dim - cfg.flat_dims))
            if cfg.flat_dims:
                self.flat_head = nn.Linear(flat, cfg.flat_dims)
        mean = torch.tensor(cfg.input_mean or [0.0] * cfg.in_channels).view(1, -1, 1, 1)
        std = torch.tensor(cfg.input_std or [1.0] * cfg.in_channels).view(1, -1, 1, 1)
        self.register_buffer("input_mean", mean, persistent=False)
        self.register_buffer("input_std", std, persistent=False)

    def forward(self, obs: Tensor) -> Tensor:
        cfg = self.config
        if obs.dim() != 4 or obs.shape[1] != cfg.in_channels or obs.shape[-1] != cfg.image_size:
            raise ValueError(f"expected obs (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}), "
                             f"got {tuple(obs.shape)}")
        x = (obs - self.input_mean) / self.input_std
        x = F.avg_pool2d(x, cfg.input_pool) if cfg.input_pool > 1 else x
        flat = self.keypoints is None  # flat head: (B, C_last * s * s) -> (B, D)
        z = self.head(F.relu(self.stages(x)).flatten(1)) if flat else self._keypoint_embedding(x)
        return F.layer_norm(z, z.shape[-1:]) if cfg.norm_output else z

    def _keypoint_embedding(self, x: Tensor) -> Tensor:
        """Pooled input (B, C, h, w) -> z (B, D) = [MLP(keypoints) (B, D - F), Linear(flat) (B, F)]."""
        cfg = self.config
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == cfg.keypoint_stage:
                z = self.head(self.keypoints(F.relu(x)))  # (B, 2K) -> (B, D - F)
                if self.flat_head is None:
                    return z
        return torch.cat([z, self.flat_head(F.relu(x).flatten(1))], dim=-1)
        return F.layer_norm(z, z.shape[-1:]) if cfg.norm_output else z


ENCODERS = {"impala": (ImpalaEncoder, ImpalaConfig)}
"""Encoder name -> (module class, config dataclass)."""
