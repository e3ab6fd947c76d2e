"""Keypoint + occupancy-map encoder: observation (B, C, H, W) -> z (B, 2K + M*M).

The latent of a navigation world model, in two parts that live in one frame (a G x G grid over the
observation, G = H // pool):

* **keypoints** (2K dims): K spatial-softmax keypoints (Levine et al. 2016) in grid cells, the
  expected (x, y) under ``softmax(w_k . x / T_k)`` over the full-resolution standardised pixels x:
  a per-pixel linear score (weights start at 1 on every channel: salient, bright things) and a
  learned temperature. Full resolution and a linear score keep the estimate sub-pixel accurate and
  cheap enough for every frame of a window.
* **map** (M*M dims): an M x M map of logits read off a second small CNN. A world model learns to
  use it as an occupancy map (where the keypoints cannot go). ``map_net="local"`` (the default)
  scores every pixel by a per-pixel MLP over its channels, max-pools the scores to the G x G grid
  and mixes 3 x 3 neighbouring cells once: a wall pixel gives the same logit wherever it lies (no
  corner or border effects, which a deeper CNN learns only where collisions were seen).
  ``map_net="conv"`` is a 5 x 5 + 3 x 3 CNN on the average-pooled grid.

Both heads are cheap enough to run on every frame of a training window on a CPU; the map is static
within a window, so training reads it off one frame (``scene``) and the keypoints off all
(``keypoints``). ``forward`` returns the concatenation, the WorldModel latent.

Examples:
    >>> import torch
    >>> enc = KeypointMapEncoder(KeypointMapConfig(keypoints=1, map_size=8))
    >>> enc(torch.zeros(3, 2, 65, 65)).shape
    torch.Size([3, 66])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class KeypointMapConfig:
    """Shape of a keypoint + occupancy-map encoder."""

    in_channels: int = 2
    """Channels C of the observation."""
    image_size: int = 65
    """Height = width of the observation (px); the top-left pool * G pixels are used."""
    pool: int = 2
    """Average-pool factor from pixels to the grid: G = image_size // pool cells per side."""
    keypoints: int = 1
    """K keypoints (one per independently moving thing)."""
    temperature: float = 2.0
    """Initial softmax temperature of the keypoint scores (learned). With standardised inputs a small
    blob scores ~25 at its peak: 2.0 makes it dominate the background while its softmax still spans
    a few pixels (sub-pixel estimate)."""
    map_net: str = "local"
    """'local': per-pixel MLP, max-pool to the grid, one 3x3 conv; 'conv': a 5x5 + 3x3 CNN on the
    average-pooled grid."""
    map_channels: int = 8
    """Width of the map network."""
    map_layers: int = 2
    """'local': layers of the per-pixel MLP; 'conv': conv layers (a 5x5 then 3x3 ones). ReLU between,
    then a 1x1 conv to one map."""
    map_size: int = 32
    """M: side of the map in the latent (a divisor of G); M*M latent dims."""
    map_bias: float = -2.0
    """Initial value of the map logits (negative = 'free' under a sigmoid(-logit) reading)."""
    input_mean: tuple[float, ...] = ()
    """Per-channel mean subtracted from the observation (empty = 0); presets measure it on data."""
    input_std: tuple[float, ...] = ()
    """Per-channel std the observation is divided by (empty = 1)."""

    @property
    def grid(self) -> int:
        """G, the side of the keypoint grid in cells."""
        return self.image_size // self.pool

    @property
    def latent_dim(self) -> int:
        """D = 2K + M*M."""
        return 2 * self.keypoints + self.map_size**2

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        for name in ("in_channels", "pool", "keypoints", "map_channels", "map_layers", "map_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"KeypointMapConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.grid < 4 or self.grid % self.map_size:
            raise ValueError(f"map_size {self.map_size} must divide the grid G = image_size // pool = "
                             f"{self.image_size} // {self.pool} = {self.grid} (>= 4)")
        if self.map_net not in MAP_NETS:
            raise ValueError(f"KeypointMapConfig.map_net must be one of {list(MAP_NETS)}, got {self.map_net!r}")
        if self.temperature <= 0:
            raise ValueError(f"KeypointMapConfig.temperature must be > 0, got {self.temperature}")
        for name in ("input_mean", "input_std"):
            if len(getattr(self, name)) not in (0, self.in_channels):
                raise ValueError(f"KeypointMapConfig.{name} needs 0 or {self.in_channels} values, "
                                 f"got {getattr(self, name)}")
        if any(s <= 0 for s in self.input_std):
            raise ValueError(f"KeypointMapConfig.input_std must be positive, got {self.input_std}")


MAP_NETS = ("local", "conv")
"""The map networks :class:`KeypointMapEncoder` can build."""


def _map_net(cfg: KeypointMapConfig) -> nn.Sequential:
    """The map network: standardised pixels (B, C, S, S) -> logits (B, 1, G, G)."""
    c, w = cfg.in_channels, cfg.map_channels
    if cfg.map_net == "conv":
        layers: list[nn.Module] = [nn.AvgPool2d(cfg.pool)] if cfg.pool > 1 else []
        layers += [nn.Conv2d(c, w, 5, padding=2), nn.ReLU()]
        for _ in range(cfg.map_layers - 1):
            layers += [nn.Conv2d(w, w, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*layers, nn.Conv2d(w, 1, 1))
    layers = [nn.Conv2d(c, w, 1), nn.ReLU()]
    for _ in range(cfg.map_layers - 1):
        layers += [nn.Conv2d(w, w, 1), nn.ReLU()]
    if cfg.pool > 1:
        layers.append(nn.MaxPool2d(cfg.pool))
    return nn.Sequential(*layers, nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, 1, 1))


def expected_coordinates(weights: Tensor, *, cell: float = 1.0) -> Tensor:
    """Softmax maps (B, K, S, S) summing to one -> expected (x, y) (B, K, 2) in units of ``cell`` pixels.

    Pixel i spans [i, i + 1), so its centre is i + 0.5; in cells of ``cell`` pixels, (i + 0.5) / cell.
    """
    g = weights.shape[-1]
    centres = (torch.arange(g, device=weights.device, dtype=weights.dtype) + 0.5) / cell  # (S,)
    x = (weights.sum(dim=2) * centres).sum(dim=-1)  # column marginal (B, K, G) . centres
    y = (weights.sum(dim=3) * centres).sum(dim=-1)
    return torch.stack([x, y], dim=-1)


class KeypointMapEncoder(nn.Module):
    """obs (B, C, H, W) -> z (B, 2K + M*M) = [keypoints in cells, map logits]."""

    def __init__(self, config: KeypointMapConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or KeypointMapConfig()
        cfg.validate()
        c = cfg.in_channels
        self.kp_weight = nn.Parameter(torch.ones(cfg.keypoints, c) + 0.1 * torch.randn(cfg.keypoints, c))
        self.log_temperature = nn.Parameter(torch.full((cfg.keypoints,), math.log(cfg.temperature)))
        self.map_net = _map_net(cfg)
        nn.init.constant_(self.map_net[-1].bias, cfg.map_bias)
        mean = torch.tensor(cfg.input_mean or [0.0] * c).view(1, -1, 1, 1)
        std = torch.tensor(cfg.input_std or [1.0] * c).view(1, -1, 1, 1)
        self.register_buffer("input_mean", mean, persistent=False)
        self.register_buffer("input_std", std, persistent=False)

    def standardize(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> the used G * pool square, standardised per channel (B, C, S, S)."""
        cfg = self.config
        if obs.dim() != 4 or obs.shape[1] != cfg.in_channels or obs.shape[-1] != cfg.image_size \
                or obs.shape[-2] != cfg.image_size:
            raise ValueError(f"expected obs (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}), "
                             f"got {tuple(obs.shape)}")
        side = cfg.grid * cfg.pool
        return (obs[..., :side, :side] - self.input_mean) / self.input_std

    def keypoints(self, x: Tensor) -> Tensor:
        """Standardised pixels (B, C, S, S) -> keypoints (B, 2K) as [x_1, y_1, ..., x_K, y_K] in grid cells."""
        scores = torch.einsum("kc,bchw->bkhw", self.kp_weight, x).flatten(2)  # (B, K, S*S)
        weights = torch.softmax(scores / self.log_temperature.exp()[:, None], dim=-1)
        s = x.shape[-1]
        return expected_coordinates(weights.view(x.shape[0], -1, s, s), cell=self.config.pool).flatten(1)

    def scene(self, x: Tensor) -> Tensor:
        """Standardised pixels (B, C, S, S) -> map logits (B, M*M): the G x G logits, average-pooled to M x M."""
        logits = self.map_net(x)  # (B, 1, G, G)
        m = self.config.map_size
        return (logits if m == logits.shape[-1] else F.adaptive_avg_pool2d(logits, m)).flatten(1)

    def forward(self, obs: Tensor) -> Tensor:
        x = self.standardize(obs)
        return torch.cat([self.keypoints(x), self.scene(x)], dim=1)
