"""The action-conditioned JEPA world model: encoder + predictor + anti-collapse regularisers.

Energy of a transition: E(o_t, a_t, o_{t+1}) = D(Pred(Enc(o_t), a_t), Enc(o_{t+1})). Training lowers
it on observed windows, rolled out autoregressively over the whole window (multi-step prediction);
planning lowers the same energy with the goal's embedding as the target. No pixel is predicted.

Loss (PLDM / EB-JEPA recipe, Sobal et al. 2025):

    L = w_pred * pred + w_var * var + w_cov * cov + w_time * time + w_idm * idm   (+ w_sigreg * sigreg)

pred: mean over the T horizons of the distance between the rolled-out latents and the encoded
targets; var/cov: VICReg terms per time step over the batch; time: temporal smoothness of the
encoded sequence; idm: an inverse-dynamics head recovers a_t from (z_t, z_{t+1}). With
``target="ema"`` the targets come from an EMA copy of the encoder under stop-gradient instead.

An online linear position probe (detached: its gradient never reaches the encoder) reports how
well the latent encodes the agent's position; it also decodes planned latent paths for pictures.

Examples:
    >>> import torch
    >>> cfg = WorldModelConfig(encoder=ImpalaConfig(channels=(8, 8), embed_dim=16),
    ...                        predictor=PredictorConfig(latent_dim=16, hidden=32))
    >>> wm = JEPAWorldModel(cfg)
    >>> batch = {"obs": torch.rand(4, 3, 2, 65, 65), "actions": torch.zeros(4, 2, 2),
    ...          "positions": torch.full((4, 3, 2), 30.0)}
    >>> loss, metrics = wm.training_step(batch, step=0)
    >>> wm.rollout(wm.encode(batch["obs"][:, 0]), batch["actions"]).shape
    torch.Size([4, 2, 16])
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.config import added_field
from jepa_world.nn.encoders import ImpalaConfig, ImpalaEncoder
from jepa_world.nn.predictors import PredictorConfig, build_predictor
from jepa_world.nn.rollout import unroll
from jepa_world.objectives.collapse import collapse_report
from jepa_world.objectives.ema import cosine_momentum, ema_update
from jepa_world.objectives.idm import InverseDynamicsHead, idm_loss
from jepa_world.objectives.prediction import multistep_prediction_loss
from jepa_world.objectives.sigreg import sigreg
from jepa_world.objectives.temporal import temporal_smoothness
from jepa_world.objectives.vicreg import temporal_vicreg_terms

POSITION_CENTER = 32.0
"""Positions are probed as (p - center) / scale, a near unit range on Two Rooms' 65 px canvas."""
POSITION_SCALE = 16.0


@dataclass
class LossWeights:
    """Weights of the world-model loss terms (0 switches a term off)."""

    pred: float = 1.0
    """Multi-step prediction energy."""
    var: float = 16.0
    """VICReg variance hinge (per time step, over the batch)."""
    cov: float = 8.0
    """VICReg covariance (off-diagonal) penalty."""
    time: float = 12.0
    """Temporal smoothness: mean squared difference of consecutive latents."""
    idm: float = 1.0
    """Inverse dynamics: predict a_t from (z_t, z_{t+1})."""
    sigreg: float = 0.0
    """SIGReg (LeJEPA) on the latents: the single-hyperparameter alternative to var + cov."""


@dataclass
class WorldModelConfig:
    """A JEPA world model: encoder, predictor, objective."""

    encoder: ImpalaConfig = field(default_factory=ImpalaConfig)
    """The observation encoder (IMPALA-style residual CNN)."""
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    """The action-conditioned predictor; its latent_dim must equal encoder.embed_dim."""
    weights: LossWeights = field(default_factory=LossWeights)
    """Loss weights."""
    distance: Literal["mse", "l1"] = "mse"
    """Distance of the prediction energy (and of the default planning cost)."""
    target: Literal["online", "ema"] = "online"
    """online: targets are the encoder's own outputs (gradient flows; PLDM); ema: an EMA encoder, no gradient."""
    ema_momentum: float = 0.99
    """Start momentum of the EMA target (cosine schedule to 1.0), when target=ema."""
    idm_hidden: int = 128
    """Hidden width of the inverse-dynamics head."""
    probe: bool = True
    """Train a detached linear probe z -> agent position (a sanity metric and the path decoder)."""
    gather: bool = added_field(True, absent=False)
    """Under DDP, take the batch-wide terms (var/cov, SIGReg) over every process's samples: the one-process
    objective of the global batch (docs/ddp_objectives.md); no effect alone."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.encoder.validate()
        self.predictor.validate()
        if self.predictor.latent_dim != self.encoder.embed_dim:
            raise ValueError(f"predictor.latent_dim ({self.predictor.latent_dim}) must equal "
                             f"encoder.embed_dim ({self.encoder.embed_dim})")
        if self.distance not in ("mse", "l1"):
            raise ValueError(f"distance must be one of ['l1', 'mse'], got {self.distance!r}")
        if self.target not in ("online", "ema"):
            raise ValueError(f"target must be one of ['ema', 'online'], got {self.target!r}")
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")
        negative = [k for k, v in vars(self.weights).items() if v < 0]
        if negative:
            raise ValueError(f"loss weights must be >= 0, got negative {negative}")


class JEPAWorldModel(nn.Module):
    """encode (B, C, H, W) -> (B, D); step (B, D), (B, A) -> (B, D); rollout (B, D), (B, T, A) -> (B, T, D)."""

    def __init__(self, config: WorldModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or WorldModelConfig()
        self.config.validate()
        cfg = self.config
        self.encoder = ImpalaEncoder(cfg.encoder)
        self.predictor = build_predictor(cfg.predictor)
        dim, adim = cfg.encoder.embed_dim, cfg.predictor.action_dim
        self.idm = InverseDynamicsHead(dim, adim, cfg.idm_hidden) if cfg.weights.idm > 0 else None
        self.probe = nn.Linear(dim, 2) if cfg.probe else None
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False) if cfg.target == "ema" else None

    # --- the WorldModel verbs -------------------------------------------------------------------
    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D)."""
        return self.encoder(obs)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, A) -> z_next (B, D)."""
        return self.predictor(z, a)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, A) -> (B, T, D): the latents after each action (z0 excluded)."""
        return unroll(self.predictor, z0, actions)

    def decode_position(self, z: Tensor) -> Tensor:
        """The probe's position estimate (px): z (..., D) -> (..., 2)."""
        if self.probe is None:
            raise ValueError("this world model was trained without a position probe (probe=false)")
        return self.probe(z) * POSITION_SCALE + POSITION_CENTER

    # --- training -------------------------------------------------------------------------------
    def _encode_sequence(self, obs: Tensor, encoder: nn.Module) -> Tensor:
        """obs (B, T+1, C, H, W) -> z (B, T+1, D), one batched encoder call."""
        b, t1 = obs.shape[:2]
        return encoder(obs.flatten(0, 1)).view(b, t1, -1)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch: obs (B, T+1, C, H, W), actions (B, T, A), positions (B, T+1, 2) -> (loss, metrics)."""
        obs, actions = batch["obs"], batch["actions"]
        if obs.dim() != 5 or actions.dim() != 3 or obs.shape[1] != actions.shape[1] + 1:
            raise ValueError(f"expected obs (B, T+1, C, H, W) and actions (B, T, A), got {tuple(obs.shape)} "
                             f"and {tuple(actions.shape)}")
        w = self.config.weights
        z = self._encode_sequence(obs, self.encoder)  # (B, T+1, D)
        target = z[:, 1:]
        if self.target_encoder is not None:
            with torch.no_grad():
                target = self._encode_sequence(obs[:, 1:], self.target_encoder)  # (B, T, D)
        z_pred = self.rollout(z[:, 0], actions)  # (B, T, D)
        terms = {"pred": multistep_prediction_loss(z_pred, target, distance=self.config.distance)}
        if w.var or w.cov:
            terms["var"], terms["cov"] = temporal_vicreg_terms(z, gather=self.config.gather)
        if w.time:
            terms["time"] = temporal_smoothness(z)
        if self.idm is not None:
            terms["idm"] = idm_loss(self.idm.from_sequence(z), actions)
        if w.sigreg:
            terms["sigreg"] = sigreg(z.flatten(0, 1), gather=self.config.gather)
        loss = sum(getattr(w, k) * v for k, v in terms.items())
        metrics = {k: float(v.detach()) for k, v in terms.items()}
        if self.probe is not None:
            probe_loss, probe_px = self._probe_loss(z.detach(), batch["positions"])
            loss = loss + probe_loss
            metrics["probe_px"] = probe_px
        return loss, metrics

    def _probe_loss(self, z: Tensor, positions: Tensor) -> tuple[Tensor, float]:
        """z (B, T+1, D) detached, positions (B, T+1, 2) px -> (probe MSE loss, mean error in px)."""
        target = (positions - POSITION_CENTER) / POSITION_SCALE
        pred = self.probe(z)
        err_px = ((pred.detach() - target).norm(dim=-1) * POSITION_SCALE).mean()
        return (pred - target).pow(2).mean(), float(err_px)

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the target encoder (target=ema only)."""
        if self.target_encoder is not None:
            momentum = cosine_momentum(step, total_steps, base=self.config.ema_momentum)
            ema_update(self.target_encoder, self.encoder, momentum=momentum)

    @torch.no_grad()
    def diagnostics(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse diagnostics of the embeddings of the batch's first frames, and rollout drift."""
        obs = batch["obs"][:, 0]
        report = collapse_report(self.encode(obs))
        return report.as_metrics()
