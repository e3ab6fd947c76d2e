"""Ray-marching predictor over a [keypoints, occupancy map] latent: (z_t (B, D), a_t (B, A)) -> z_{t+1}.

An action moves keypoint k by a learned linear displacement ``d_k = W_k a`` (cells), as far as the
map lets it: R points along the segment, ``q_r = kp_k + (r / R) d_k``, are looked up in the map
(bilinear, after a learned affine calibration from the keypoint frame to the map frame), each is
free with probability ``sigmoid(-s * logit)``, and the keypoint advances by the expected free
fraction of its path, the mean over r of the transmittance ``T_r = prod_{j <= r} free_j`` (as in
volume rendering):

    kp_k' = kp_k + lambda_k d_k,    lambda_k = mean_r prod_{j <= r} sigmoid(-s * map(A_k q_j + b_k))

The map part of z is carried unchanged (the scene is static). Collisions are thus a lookup that is
the same everywhere on the map, which a plain MLP over z has to learn separately for every position
and layout.

Examples:
    >>> import torch
    >>> pred = RayMarchPredictor(RayMarchConfig(keypoints=1, map_size=8, grid=32))
    >>> z = torch.zeros(5, 2 + 64)
    >>> pred(z, torch.zeros(5, 2)).shape
    torch.Size([5, 66])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class RayMarchConfig:
    """Shape of the ray-marching predictor; keypoints, map_size and grid must match the encoder's."""

    keypoints: int = 1
    """K keypoints in the latent."""
    map_size: int = 32
    """M: side of the map in the latent."""
    grid: int = 32
    """G: side of the keypoint grid (cells); the map covers the same square."""
    action_dim: int = 2
    """Size A of an action."""
    samples: int = 4
    """R points looked up along each step's segment."""
    init_sharpness: float = 4.5
    """Initial s in sigmoid(-s * logit) (learned, kept positive)."""
    init_action_scale: float = 0.1
    """Std of the random initial action-to-displacement matrices W_k."""
    eval_sharpness_scale: float = 10.0
    """Outside training (planning, evaluation) s is multiplied by this: the map is read as an almost hard
    occupancy. Training keeps it soft for gradients; planning reads it sharper (docs/world_model.md)."""

    @property
    def latent_dim(self) -> int:
        """D = 2K + M*M."""
        return 2 * self.keypoints + self.map_size**2

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        for name in ("keypoints", "map_size", "grid", "action_dim", "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"RayMarchConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.init_sharpness <= 0 or self.init_action_scale < 0 or self.eval_sharpness_scale <= 0:
            raise ValueError(f"RayMarchConfig needs init_sharpness > 0, init_action_scale >= 0 and "
                             f"eval_sharpness_scale > 0, got {self.init_sharpness}, {self.init_action_scale}, "
                             f"{self.eval_sharpness_scale}")


def transmittance_fraction(free: Tensor) -> Tensor:
    """Per-sample free probabilities (..., R) -> expected free fraction of the path (...,) in [0, 1].

    ``mean_r prod_{j <= r} free_j``: 1 when every sample is free, 0 when the first one is blocked.
    """
    return torch.cumprod(free, dim=-1).mean(dim=-1)


class RayMarchPredictor(nn.Module):
    """z (B, 2K + M*M), a (B, A) -> z_next (B, 2K + M*M)."""

    def __init__(self, config: RayMarchConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or RayMarchConfig()
        cfg.validate()
        k = cfg.keypoints
        self.action_map = nn.Parameter(torch.randn(k, 2, cfg.action_dim) * cfg.init_action_scale)
        self.log_sharpness = nn.Parameter(torch.tensor(float(cfg.init_sharpness)).log())
        self.calib_matrix = nn.Parameter(torch.eye(2).repeat(k, 1, 1))
        self.calib_offset = nn.Parameter(torch.zeros(k, 2))
        self.register_buffer("fractions", torch.arange(1, cfg.samples + 1) / cfg.samples, persistent=False)

    def _check(self, z: Tensor, a: Tensor) -> None:
        cfg = self.config
        if z.dim() != 2 or a.dim() != 2 or z.shape[0] != a.shape[0] or z.shape[1] != cfg.latent_dim \
                or a.shape[1] != cfg.action_dim:
            raise ValueError(f"predictor expects z (B, {cfg.latent_dim}) and a (B, {cfg.action_dim}), "
                             f"got {tuple(z.shape)} and {tuple(a.shape)}")

    def displacement(self, a: Tensor) -> Tensor:
        """Actions (B, A) -> unobstructed keypoint displacements d (B, K, 2) in cells."""
        return (self.action_map * a[:, None, None, :]).sum(-1)  # (K, 2, A) x (B, 1, 1, A) -> (B, K, 2)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """z (B, 2K + M*M) -> keypoints (B, K, 2) and the map as an image (B, 1, M, M) (views, no copy)."""
        k, m = self.config.keypoints, self.config.map_size
        return z[:, : 2 * k].view(-1, k, 2), z[:, 2 * k:].reshape(-1, 1, m, m)

    def free_fraction(self, z: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """(lambda (B, K) in [0, 1], d (B, K, 2)): how much of each keypoint's displacement is free."""
        self._check(z, a)
        return self.march(*self.split(z), a)

    def to_map_unit(self, points: Tensor, *, shift: bool = True) -> Tensor:
        """Keypoint-frame points (..., K, 2) in cells -> grid_sample's map square [-1, 1]^2 through each keypoint's
        affine calibration ``A q + b``; ``shift=False`` maps displacements (no offset)."""
        g = self.config.grid
        if not shift:
            return (self.calib_matrix * points[..., None, :]).sum(-1) * (2.0 / g)
        mapped = (self.calib_matrix * (points - g / 2)[..., None, :]).sum(-1) + g / 2 + self.calib_offset
        return mapped * (2.0 / g) - 1.0

    def _lookup(self, scaled: Tensor, u_kp: Tensor, u_steps: Tensor) -> Tensor:
        """Sharpened negative maps (N, 1, M, M), keypoints (B, K, 2) and the R segment points' offsets (B, K, R, 2),
        all in the map square, B = N * C (row b reads map b // C) -> free fraction lambda (B, K): mean running
        product of sigmoid(-s * logit). C candidates of one environment share its map without copying it."""
        k, r = self.config.keypoints, self.config.samples
        grid = (u_kp[:, :, None] + u_steps).reshape(scaled.shape[0], -1, 1, 2)  # (N, C*K*R, 1, 2)
        if grid.requires_grad:  # grid_sample's CPU backward segfaults on a NaN grid (a diverging run); exact
            grid = grid.nan_to_num(0.0, 2.0, -2.0).clamp(-2.0, 2.0)  # for finite points: border padding
        logits = F.grid_sample(scaled, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return transmittance_fraction(torch.sigmoid(logits.view(-1, k, r)))

    def march(self, kp: Tensor, occupancy: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """keypoints (B, K, 2), map logits (B, 1, M, M), actions (B, A) -> (lambda (B, K), d (B, K, 2))."""
        d = self.displacement(a)  # (B, K, 2)
        u_steps = self.fractions[:, None] * self.to_map_unit(d, shift=False)[:, :, None]  # (B, K, R, 2)
        return self._lookup(occupancy * -self.sharpness(), self.to_map_unit(kp), u_steps), d

    def sharpness(self) -> Tensor:
        """s of sigmoid(-s * logit): learned, times ``eval_sharpness_scale`` outside training. () scalar."""
        s = self.log_sharpness.exp()
        return s if self.training else s * self.config.eval_sharpness_scale

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), a (B, A) held for ``steps`` steps -> z (B, D); the same as ``steps`` calls of forward, with
        everything that does not change while the action is held computed once: the displacement, its image in
        the map square, the sharpened map. Only the keypoints (and their map-square image) move between steps:
        the lookup point at fraction f of d is u(kp + f d) = u(kp) + f u_d, the calibration being affine."""
        self._check(z, a)
        kp, occupancy = self.split(z)
        kp = self._held(kp, occupancy * -self.sharpness(), a, steps)
        return torch.cat([kp.flatten(1), z[:, 2 * self.config.keypoints:]], dim=1)

    def rollout_keypoints(self, z0: Tensor, actions: Tensor, repeat: int = 1, *,
                          moving: Tensor | None = None) -> Tensor:
        """The keypoint dims after each action, without carrying the unchanged map through the T steps.

        z0 (N, D) one latent per environment; actions (B, T, A), each held ``repeat`` steps, B = N * C: C
        candidates per environment (row b belongs to environment b // C); ``moving`` (B, 2K) their start
        keypoints (default: z0's) -> (B, T, 2K). The map of z0 is read in place by all C candidates.
        """
        n, b, k2 = z0.shape[0], actions.shape[0], 2 * self.config.keypoints
        if actions.dim() != 3 or b % n or (moving is not None and moving.shape != (b, k2)):
            raise ValueError(f"rollout_keypoints expects actions (N*C, T, A) and moving (N*C, {k2}) for z0 (N, D), got "
                             f"{tuple(actions.shape)}, {None if moving is None else tuple(moving.shape)} and "
                             f"{tuple(z0.shape)}")
        self._check(z0, actions[:n, 0])
        kp, occupancy = self.split(z0)
        kp = kp.repeat_interleave(b // n, dim=0) if moving is None else moving.view(b, -1, 2)  # (B, K, 2)
        scaled = occupancy * -self.sharpness()  # (N, 1, M, M)
        out = []
        for t in range(actions.shape[1]):
            kp = self._held(kp, scaled, actions[:, t], repeat)
            out.append(kp.flatten(1))
        return torch.stack(out, dim=1)

    def _held(self, kp: Tensor, scaled: Tensor, a: Tensor, steps: int) -> Tensor:
        """Keypoints (B, K, 2), sharpened negative maps (N, 1, M, M) (B = N * C, see _lookup), actions (B, A) held
        ``steps`` steps -> (B, K, 2)."""
        d = self.displacement(a)  # (B, K, 2) cells
        u_kp, u_d = self.to_map_unit(kp), self.to_map_unit(d, shift=False)  # (B, K, 2) each
        u_steps = self.fractions[:, None] * u_d[:, :, None]  # (B, K, R, 2)
        for _ in range(steps):
            lam = self._lookup(scaled, u_kp, u_steps)[..., None]  # (B, K, 1)
            kp = kp + lam * d
            u_kp = u_kp + lam * u_d
        return kp

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        return self.hold(z, a, 1)
