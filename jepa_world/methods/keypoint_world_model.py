"""A JEPA world model for navigation: keypoint + occupancy-map latent, ray-marching predictor.

Latent z = [keypoints (2K), map (M*M)] from :class:`~jepa_world.nn.keypoint_map.KeypointMapEncoder`;
step = :class:`~jepa_world.nn.raymarch.RayMarchPredictor` (keypoints move by a learned displacement
as far as the map lets them; the map is carried). Energy of a transition: the squared distance
between predicted and encoded keypoints; planning lowers the same energy to the goal's latent.
Nothing is predicted in pixels and nothing is supervised: positions are used only by a detached
probe that reports progress and decodes planned paths for pictures.

Loss over a window (obs (B, T+1, ...), actions (B, T, A)):

    L = w_pred * |rollout_kp - target_kp|^2          multi-step, from the first frame's latent
      + w_free * BCE(lambda, lambda_obs)             free fraction of each step (objectives.free_fraction)
      + w_prior * mean(1 - lambda)                   collisions are the exception
      + w_idm * |IDM(kp_t, kp_{t+1} - kp_t) - a_t|^2 the keypoints must carry the action
      + w_motion * VICReg-variance(kp_{t+1} - kp_t)  ... and move (no static-keypoint collapse)
      + w_map * |map(o_0) - map(o_T)|^2              the map ignores the moving agent

Targets are the keypoints of an EMA copy of the encoder (stop-gradient). The map is read off the
first frame of a window only (it is static), the keypoints off every frame: the encoder's cost per
window is one map pass plus T+1 cheap keypoint passes.

Examples:
    >>> import torch
    >>> wm = KeypointWorldModel(KeypointWorldModelConfig())
    >>> batch = {"obs": torch.rand(4, 3, 2, 65, 65), "actions": torch.zeros(4, 2, 2),
    ...          "positions": torch.full((4, 3, 2), 30.0)}
    >>> loss, metrics = wm.training_step(batch, step=0)
    >>> wm.rollout(wm.encode(batch["obs"][:, 0]), batch["actions"]).shape
    torch.Size([4, 2, 1026])
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.config import added_field
from jepa_world.nn.keypoint_map import KeypointMapConfig, KeypointMapEncoder
from jepa_world.nn.raymarch import RayMarchConfig, RayMarchPredictor
from jepa_world.nn.rollout import unroll
from jepa_world.objectives.collapse import collapse_report
from jepa_world.objectives.distributed import gather_batch, gather_batch_with_offset
from jepa_world.objectives.ema import cosine_momentum, ema_update
from jepa_world.objectives.free_fraction import (
    NORMALIZE,
    collision_prior,
    free_fraction_loss,
    observed_free_fraction,
)
from jepa_world.objectives.idm import InverseDynamicsHead, idm_loss
from jepa_world.objectives.vicreg import variance_term


@dataclass
class KeypointLossWeights:
    """Weights of the keypoint world model's loss terms (0 switches a term off, except pred)."""

    pred: float = 1.0
    """Multi-step keypoint prediction energy (squared distance in cells, mean over steps and dims)."""
    free: float = 1.0
    """Free-fraction binary cross-entropy of each one-step transition."""
    prior: float = 0.1
    """Collision prior mean(1 - lambda)."""
    idm: float = 1.0
    """Inverse dynamics from (keypoints, keypoint displacement)."""
    motion: float = 5.0
    """VICReg variance hinge on one-step keypoint displacements (target std ``motion_gamma``)."""
    map: float = 0.1
    """Map consistency between the first and last frame of a window."""


@dataclass
class KeypointWorldModelConfig:
    """Encoder, predictor and loss of a keypoint world model."""

    encoder: KeypointMapConfig = field(default_factory=KeypointMapConfig)
    """Keypoint + map encoder."""
    predictor: RayMarchConfig = field(default_factory=RayMarchConfig)
    """Ray-marching predictor; keypoints, map_size and grid must equal the encoder's."""
    weights: KeypointLossWeights = field(default_factory=KeypointLossWeights)
    """Loss weights."""
    free_normalize: str = "median"
    """Observed free fractions divided by their batch median ('median': most steps are free, which pins the
    scale of the action-to-displacement map) or taken as they are ('none'); see objectives.free_fraction."""
    motion_gamma: float = 0.2
    """Target std (cells) of the keypoint displacements in the motion hinge."""
    ema_momentum: float = 0.99
    """Start momentum of the EMA target encoder (cosine schedule to 1.0)."""
    predictor_lr_scale: float = 10.0
    """Learning-rate multiplier of the predictor's few parameters (displacement map, calibration)."""
    idm_hidden: int = 64
    """Hidden width of the inverse-dynamics head."""
    gather: bool = added_field(True, absent=False)
    """Under DDP, take the batch-wide terms (motion variance, the free fractions' batch median) over every
    process's transitions: the one-process objective of the global batch (docs/ddp_objectives.md); no effect alone."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.encoder.validate()
        self.predictor.validate()
        enc, pred = self.encoder, self.predictor
        for name, mine in (("keypoints", enc.keypoints), ("map_size", enc.map_size), ("grid", enc.grid)):
            if getattr(pred, name) != mine:
                raise ValueError(f"predictor.{name} ({getattr(pred, name)}) must equal the encoder's ({mine})")
        negative = [k for k, v in vars(self.weights).items() if v < 0]
        if negative:
            raise ValueError(f"loss weights must be >= 0, got negative {negative}")
        if self.free_normalize not in NORMALIZE:
            raise ValueError(f"free_normalize must be one of {list(NORMALIZE)}, got {self.free_normalize!r}")
        if self.motion_gamma <= 0 or not 0.0 <= self.ema_momentum < 1.0 or self.predictor_lr_scale <= 0:
            raise ValueError(f"need motion_gamma > 0, ema_momentum in [0, 1), predictor_lr_scale > 0; got "
                             f"{self.motion_gamma}, {self.ema_momentum}, {self.predictor_lr_scale}")


class KeypointWorldModel(nn.Module):
    """encode (B, C, H, W) -> (B, D); step (B, D), (B, A) -> (B, D); rollout (B, D), (B, T, A) -> (B, T, D)."""

    def __init__(self, config: KeypointWorldModelConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or KeypointWorldModelConfig()
        cfg.validate()
        self.encoder = KeypointMapEncoder(cfg.encoder)
        self.predictor = RayMarchPredictor(cfg.predictor)
        k2 = 2 * cfg.encoder.keypoints
        self.idm = InverseDynamicsHead(k2, cfg.predictor.action_dim, cfg.idm_hidden)
        self.probe = nn.Linear(k2, 2)  # starts as "cells x pool = pixels" on the first keypoint
        with torch.no_grad():
            self.probe.weight.zero_()
            self.probe.weight[:, :2] = torch.eye(2) * cfg.encoder.pool
            self.probe.bias.zero_()
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)

    @property
    def num_keypoint_dims(self) -> int:
        """2K: the leading latent dims that move."""
        return 2 * self.config.encoder.keypoints

    # --- the WorldModel verbs -------------------------------------------------------------------
    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D)."""
        return self.encoder(obs)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, A) -> z_next (B, D)."""
        return self.predictor(z, a)

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), a (B, A) held for ``steps`` steps -> (B, D): ``steps`` calls of ``step`` without copying the map
        in between (planners over held macro-actions use it through ``HeldActionModel``)."""
        return self.predictor.hold(z, a, steps)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, A) -> (B, T, D): the latents after each action (z0 excluded)."""
        return unroll(self.predictor, z0, actions)

    @property
    def moving_dims(self) -> int:
        """The leading latent dims a rollout changes (the keypoints); the map after them never moves."""
        return self.num_keypoint_dims

    def rollout_moving(self, z0: Tensor, actions: Tensor, repeat: int = 1, *, moving: Tensor | None = None) -> Tensor:
        """z0 (N, D), actions (N*C, T, A) each held ``repeat`` steps, moving (N*C, 2K) or None -> (N*C, T, 2K): the
        first ``moving_dims`` dims after each action of C candidates per environment, which share z0's map
        (starting from ``moving`` instead of z0's keypoints when given); see planning/moving.py."""
        return self.predictor.rollout_keypoints(z0, actions, repeat, moving=moving)

    def decode_position(self, z: Tensor) -> Tensor:
        """The probe's agent position (px): z (..., D) -> (..., 2)."""
        return self.probe(z[..., : self.num_keypoint_dims])

    # --- training -------------------------------------------------------------------------------
    def param_groups(self) -> list[dict[str, Any]]:
        """The predictor's few parameters learn ``predictor_lr_scale`` times faster."""
        pred = list(self.predictor.parameters())  # a list, not a set: the order must survive a resume
        ids = {id(p) for p in pred}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [{"params": rest}, {"params": pred, "lr_scale": self.config.predictor_lr_scale}]

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch: obs (B, T+1, C, H, W), actions (B, T, A), positions (B, T+1, 2) (optional: the detached probe's
        target) -> (loss, metrics)."""
        obs, actions = batch["obs"], batch["actions"]
        if obs.dim() != 5 or actions.dim() != 3 or obs.shape[1] != actions.shape[1] + 1:
            raise ValueError(f"expected obs (B, T+1, C, H, W) and actions (B, T, A), got {tuple(obs.shape)} "
                             f"and {tuple(actions.shape)}")
        b, t1 = obs.shape[:2]
        x = self.encoder.standardize(obs.flatten(0, 1)).unflatten(0, (b, t1))  # (B, T+1, C, S, S)
        kp = self.encoder.keypoints(x.flatten(0, 1)).view(b, t1, -1)  # (B, T+1, 2K)
        scene = self.encoder.scene(x[:, 0])  # (B, M*M)
        with torch.no_grad():
            target = self.target_encoder.keypoints(x[:, 1:].flatten(0, 1)).view(b, t1 - 1, -1)  # (B, T, 2K)
        terms = {"pred": self._rollout_error(kp[:, 0], scene, actions, target)}
        terms.update(self._transition_terms(kp, scene, actions, target))
        if self.config.weights.map:
            terms["map"] = (self.encoder.scene(x[:, -1]) - scene).pow(2).mean()
        w = self.config.weights
        loss = sum(getattr(w, name) * value for name, value in terms.items())
        metrics = {name: float(value.detach()) for name, value in terms.items()}
        metrics["sharpness"] = float(self.predictor.log_sharpness.detach().exp())
        if "positions" not in batch:  # the agent's own windows (online adjustment) carry no positions
            return loss, metrics
        probe_loss, metrics["probe_px"] = self._probe_loss(kp.detach(), batch["positions"])
        return loss + probe_loss, metrics

    def _rollout_error(self, kp0: Tensor, scene: Tensor, actions: Tensor, target: Tensor) -> Tensor:
        """Mean squared keypoint error of the T-step rollout from the first frame: -> () scalar."""
        rolled = self.rollout(torch.cat([kp0, scene], dim=1), actions)  # (B, T, D)
        return (rolled[..., : self.num_keypoint_dims] - target).pow(2).mean()

    def _transition_terms(self, kp: Tensor, scene: Tensor, actions: Tensor, target: Tensor) -> dict[str, Tensor]:
        """One-step terms on every transition: free fraction, collision prior, IDM, motion variance."""
        b, t = actions.shape[:2]
        k = self.config.encoder.keypoints
        start = kp[:, :-1].flatten(0, 1)  # (B*T, 2K)
        z = torch.cat([start, scene.repeat_interleave(t, dim=0)], dim=1)
        lam, d = self.predictor.free_fraction(z, actions.flatten(0, 1))  # (B*T, K), (B*T, K, 2)
        moved = (target.flatten(0, 1) - start.detach()).view(-1, k, 2)
        observed = self._observed(moved, d.detach())  # (B*T, K)
        delta = kp[:, 1:] - kp[:, :-1]  # (B, T, 2K)
        motion = gather_batch(delta.flatten(0, 1)) if self.config.gather else delta.flatten(0, 1)  # (N, 2K)
        g = self.config.encoder.grid
        return {
            "free": free_fraction_loss(lam, observed),
            "prior": collision_prior(lam),
            "idm": idm_loss(self.idm((kp[:, :-1] - g / 2) / g, z_next=delta), actions),
            "motion": variance_term(motion, gamma=self.config.motion_gamma),
        }

    def _observed(self, moved: Tensor, commanded: Tensor) -> Tensor:
        """Observed free fractions (B*T, K) of displacements moved (B*T, K, 2); under DDP with ``gather`` the
        batch median is every process's."""
        normalize = self.config.free_normalize
        if not self.config.gather:
            return observed_free_fraction(moved, commanded, normalize=normalize)
        moved_all, start = gather_batch_with_offset(moved)  # (N_all, K, 2)
        observed = observed_free_fraction(moved_all, gather_batch(commanded), normalize=normalize)
        return observed[start : start + moved.shape[0]]

    def _probe_loss(self, kp: Tensor, positions: Tensor) -> tuple[Tensor, float]:
        """kp (B, T+1, 2K) detached, positions (B, T+1, 2) px -> (probe loss, mean error in px)."""
        pred = self.probe(kp)
        err = (pred.detach() - positions).norm(dim=-1).mean()
        return (pred - positions).pow(2).mean() / 100.0, float(err)

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the target encoder."""
        momentum = cosine_momentum(step, total_steps, base=self.config.ema_momentum)
        ema_update(self.target_encoder, self.encoder, momentum=momentum)

    @torch.no_grad()
    def diagnostics(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse diagnostics of the keypoints and of the maps of the batch's first frames."""
        z = self.encode(batch["obs"][:, 0])
        k2 = self.num_keypoint_dims
        out = collapse_report(z[:, :k2]).as_metrics("collapse/keypoints/")
        out.update(collapse_report(z[:, k2:]).as_metrics("collapse/map/"))
        return out
