"""The generic JEPA world model: a spatial latent and an action-conditioned convolutional predictor.

One code path for any image observation (C, H, W) and any action vector: nothing in the architecture
or the loss knows agents, positions, maps or walls. Its priors are those of vision, not of one
environment: a convolutional encoder keeps a (C', h, w) feature map (:mod:`jepa_world.nn.spatial_encoder`)
and a convolutional predictor moves it under a constant action field (:mod:`jepa_world.nn.spatial_predictor`),
so a local rule is learned once for every place.

**Frameskip.** One model step covers ``frameskip`` environment steps: its action is the chunk of their
actions concatenated, (B, frameskip * A) (the DINO-WM recipe). Training windows of ``1 + T * frameskip``
frames are read every ``frameskip`` frames; the planners hold one action for ``frameskip`` steps through
:meth:`SpatialWorldModel.hold` (the :class:`~jepa_world.planning.protocols.HoldingModel` capability).

For the planners the latent is flattened: ``encode`` returns (B, D) with D = C' * h * w and
``latent_shape`` says how to fold it back.

Loss over a window (frames z_0..z_T of the encoder, chunks a_0..a_{T-1}):

    L = w_pred * mean_t D(rollout_t, z_t) + w_var * var + w_cov * cov + w_time * |z_{t+1} - z_t|^2
      + w_idm * |IDM(z_t, z_{t+1}) - a_t|^2 (+ w_sigreg * sigreg)

var/cov are VICReg's terms per time step over the batch, on the flattened latent by default (``regularize``),
IDM is a small convolutional head pooled over space. With ``target="ema"`` the targets come from an EMA copy
of the encoder under stop-gradient; with ``freeze_encoder`` the encoder is fixed (a pretrained or random one)
and only the predictor and the heads learn; a batch may then carry the encoder's ``features`` cached once
(``data.feature_cache``) instead of images. ``encoder_kind="backbone"`` swaps the convolutional encoder for
the spatial readout of an image-SSL backbone (:mod:`jepa_world.nn.spatial_backbone`, ViT patch tokens or a
ResNet feature map), e.g. a pretrained one, frozen (the ``two-rooms-frozen`` preset).

An online linear position probe (detached) reports how well the latent encodes the agent's position
and decodes planned latent paths for pictures; it is a diagnostic, never a loss on the encoder.

Examples:
    >>> import torch
    >>> cfg = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(channels=(8, 8, 8), latent_channels=4),
    ...                               predictor=SpatialPredictorConfig(latent_channels=4, action_dim=4, hidden=8),
    ...                               frameskip=2)
    >>> wm = SpatialWorldModel(cfg)
    >>> batch = {"obs": torch.rand(3, 5, 2, 65, 65), "actions": torch.zeros(3, 4, 2),
    ...          "positions": torch.full((3, 5, 2), 30.0)}
    >>> loss, metrics = wm.training_step(batch, step=0)
    >>> z = wm.encode(batch["obs"][:, 0]); z.shape, wm.latent_shape
    (torch.Size([3, 324]), (4, 9, 9))
    >>> wm.hold(z, torch.ones(3, 2), steps=4).shape
    torch.Size([3, 324])
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.config import added_field
from jepa_world.methods.spatial_dynamics import SpatialDynamics
from jepa_world.nn.spatial_backbone import SpatialBackbone, SpatialBackboneConfig
from jepa_world.nn.spatial_encoder import SpatialEncoder, SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictor, SpatialPredictorConfig
from jepa_world.objectives.ema import cosine_momentum, ema_update
from jepa_world.objectives.idm import idm_loss
from jepa_world.objectives.prediction import multistep_prediction_loss
from jepa_world.objectives.sigreg import sigreg
from jepa_world.objectives.temporal import temporal_smoothness
from jepa_world.objectives.vicreg import temporal_vicreg_terms


@dataclass
class SpatialLossWeights:
    """Weights of the generic world model's loss terms (0 switches a term off)."""

    pred: float = 1.0
    """Multi-step prediction energy."""
    var: float = 4.0
    """VICReg variance hinge (per time step, over the batch, per latent dim)."""
    cov: float = 2.0
    """VICReg covariance (off-diagonal) penalty."""
    time: float = 1.0
    """Temporal smoothness: mean squared difference of consecutive latents."""
    idm: float = 8.0
    """Inverse dynamics: recover the action chunk from (z_t, z_{t+1})."""
    sigreg: float = 0.0
    """SIGReg (LeJEPA) on the latents: the single-hyperparameter alternative to var + cov."""


@dataclass
class SpatialWorldModelConfig:
    """The generic world model: spatial encoder, spatial predictor, objective."""

    encoder: SpatialEncoderConfig = field(default_factory=SpatialEncoderConfig)
    """The convolutional encoder (its latent_channels sets C'), when encoder_kind=conv."""
    encoder_kind: Literal["conv", "backbone"] = "conv"
    """conv: the convolutional encoder above; backbone: the spatial readout of an image backbone (below)."""
    backbone: SpatialBackboneConfig = field(default_factory=SpatialBackboneConfig)
    """The backbone encoder (ViT tokens / ResNet map, fixed projection), when encoder_kind=backbone."""
    predictor: SpatialPredictorConfig = field(default_factory=lambda: SpatialPredictorConfig(action_dim=10))
    """The predictor; latent_channels must equal the encoder's, action_dim = frameskip * env action size."""
    frameskip: int = 5
    """Environment steps per model step (the model's action is their chunk)."""
    weights: SpatialLossWeights = field(default_factory=SpatialLossWeights)
    """Loss weights."""
    distance: Literal["mse", "l1"] = "mse"
    """Distance of the prediction energy."""
    target: Literal["online", "ema"] = "online"
    """online: targets are the encoder's own outputs (gradient flows; PLDM); ema: an EMA encoder, no gradient."""
    ema_momentum: float = 0.99
    """Start momentum of the EMA target (cosine schedule to 1.0), when target=ema."""
    regularize: Literal["cells", "flat"] = "flat"
    """What VICReg's var/cov (and SIGReg) treat as one embedding: 'flat' the whole flattened map (every one of
    C' * h * w dims must vary over the batch, which pushes every cell to say something about where things are),
    'cells' the C'-vector of every latent cell (samples = batch x cells): on Two Rooms the walls alone satisfy
    it and the latent dropped the agent (docs/world_model.md)."""
    freeze_encoder: bool = False
    """Keep the encoder fixed (pretrained or random): only the predictor and heads learn."""
    idm_hidden: int = 32
    """Channels of the inverse-dynamics head."""
    probe: bool = True
    """Train a detached linear probe z -> agent position (a sanity metric and the path decoder)."""
    gather: bool = added_field(True, absent=False)
    """Under DDP, take the batch-wide terms (var/cov, SIGReg) over every process's samples: the one-process
    objective of the global batch (docs/ddp_objectives.md); no effect alone."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        if self.encoder_kind not in ("conv", "backbone"):
            raise ValueError(f"encoder_kind must be 'conv' or 'backbone', got {self.encoder_kind!r}")
        self.encoder.validate() if self.encoder_kind == "conv" else self.backbone.validate()
        self.predictor.validate()
        if self.frameskip < 1:
            raise ValueError(f"frameskip must be >= 1, got {self.frameskip}")
        channels = self.latent_shape()[0]
        if self.predictor.latent_channels != channels:
            raise ValueError(f"predictor.latent_channels ({self.predictor.latent_channels}) must equal the "
                             f"{self.encoder_kind} encoder's latent channels ({channels})")
        if self.predictor.action_dim % self.frameskip:
            raise ValueError(f"predictor.action_dim ({self.predictor.action_dim}) must be frameskip "
                             f"({self.frameskip}) x the environment's action size")
        if self.distance not in ("mse", "l1") or self.target not in ("online", "ema"):
            raise ValueError(f"distance must be 'mse' or 'l1' and target 'online' or 'ema', "
                             f"got {self.distance!r}, {self.target!r}")
        if self.regularize not in ("cells", "flat"):
            raise ValueError(f"regularize must be 'cells' or 'flat', got {self.regularize!r}")
        if self.freeze_encoder and self.target == "ema":
            raise ValueError("freeze_encoder already fixes the targets: use target='online' with it")
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")
        negative = [k for k, v in vars(self.weights).items() if v < 0]
        if negative:
            raise ValueError(f"loss weights must be >= 0, got negative {negative}")

    def latent_shape(self) -> tuple[int, int, int]:
        """(C', h, w) of the chosen encoder's latent map."""
        return self.encoder.latent_shape() if self.encoder_kind == "conv" else self.backbone.latent_shape()

    @property
    def env_action_dim(self) -> int:
        """Size A of one environment action."""
        return self.predictor.action_dim // self.frameskip


def build_spatial_encoder(config: SpatialWorldModelConfig) -> SpatialEncoder | SpatialBackbone:
    """The encoder of ``config.encoder_kind``: obs (B, C, H, W) -> (B, C', h, w), with a ``latent_shape``."""
    return SpatialEncoder(config.encoder) if config.encoder_kind == "conv" else SpatialBackbone(config.backbone)


class SpatialInverseDynamics(nn.Module):
    """(z_t, z_{t+1}) maps (B, C', h, w) each -> the action chunk (B, A'): two 3x3 convs, mean over space, linear."""

    def __init__(self, channels: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(2 * channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU())
        self.out = nn.Linear(hidden, action_dim)

    def forward(self, z: Tensor, z_next: Tensor) -> Tensor:
        return self.out(self.net(torch.cat([z, z_next], dim=1)).mean(dim=(2, 3)))


class SpatialWorldModel(SpatialDynamics):
    """encode (B, C, H, W) -> (B, D); step (B, D), (B, frameskip * A) -> (B, D); hold (B, D), (B, A), k -> (B, D)."""

    def __init__(self, config: SpatialWorldModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpatialWorldModelConfig()
        self.config.validate()
        cfg = self.config
        self.encoder = build_spatial_encoder(cfg)
        self.predictor = SpatialPredictor(cfg.predictor)
        self.latent_shape: tuple[int, int, int] = self.encoder.latent_shape
        dim = self.latent_dim
        c = self.latent_shape[0]
        self.idm = SpatialInverseDynamics(c, cfg.predictor.action_dim, cfg.idm_hidden) if cfg.weights.idm else None
        self.probe = nn.Linear(dim, 2) if cfg.probe else None
        if cfg.freeze_encoder:
            self.encoder.requires_grad_(False)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False) if cfg.target == "ema" else None

    def train(self, mode: bool = True) -> SpatialWorldModel:
        """As nn.Module.train, but a frozen encoder stays in eval mode (a backbone's BatchNorm keeps its statistics)."""
        super().train(mode)
        if self.config.freeze_encoder:
            self.encoder.eval()
        return self

    # --- the WorldModel verbs (step, rollout, hold: SpatialDynamics) ------------------------------
    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D)."""
        return self.encoder(obs).flatten(1)

    # --- training -------------------------------------------------------------------------------
    def _encode_sequence(self, obs: Tensor, encoder: nn.Module) -> Tensor:
        """obs (B, T+1, C, H, W) -> z (B, T+1, D), one batched encoder call."""
        b, t1 = obs.shape[:2]
        return encoder(obs.flatten(0, 1)).reshape(b, t1, -1)

    def latents(self, batch: dict[str, Tensor]) -> Tensor:
        """The model-step latents of a subsampled batch: (B, T+1, D), from cached ``features`` when present."""
        if "features" in batch:
            if not self.config.freeze_encoder:
                raise ValueError("cached features can only stand in for a frozen encoder (freeze_encoder=true)")
            z = batch["features"]
            if z.dim() != 3 or z.shape[-1] != self.latent_dim:
                raise ValueError(f"expected features (B, T+1, {self.latent_dim}), got {tuple(z.shape)}")
            return z
        return self._encode_sequence(batch["obs"], self.encoder)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch: obs (B, 1+T*k, C, H, W) or features (B, 1+T, D), actions (B, T*k, A), positions -> (loss, metrics)."""
        batch = self.subsample(batch)
        actions = batch["actions"]  # (B, T, k*A)
        z = self.latents(batch)  # (B, T+1, D)
        if z.shape[1] != actions.shape[1] + 1:
            raise ValueError(f"expected {actions.shape[1] + 1} latents per window, got {tuple(z.shape)}")
        w = self.config.weights
        target = z[:, 1:]
        if self.target_encoder is not None:
            with torch.no_grad():
                target = self._encode_sequence(batch["obs"][:, 1:], self.target_encoder)
        terms = {"pred": multistep_prediction_loss(self.rollout(z[:, 0], actions), target,
                                                   distance=self.config.distance)}
        trainable_latent, gather = not self.config.freeze_encoder, self.config.gather
        regularized = self._regularized(z)  # (samples, T+1, dims)
        if trainable_latent and (w.var or w.cov):
            terms["var"], terms["cov"] = temporal_vicreg_terms(regularized, gather=gather)
        if trainable_latent and w.time:
            terms["time"] = temporal_smoothness(z)
        if trainable_latent and w.sigreg:
            terms["sigreg"] = sigreg(regularized.flatten(0, 1), gather=gather)
        if self.idm is not None:
            terms["idm"] = idm_loss(self._idm(z), actions)
        loss = sum(getattr(w, k) * v for k, v in terms.items())
        metrics = {k: float(v.detach()) for k, v in terms.items()}
        if self.probe is not None and "positions" in batch:
            probe_loss, metrics["probe_px"] = self._probe_loss(z.detach(), batch["positions"])
            loss = loss + probe_loss
        return loss, metrics

    def _regularized(self, z: Tensor) -> Tensor:
        """z (B, T+1, D) -> what var/cov see: (B * h * w, T+1, C') per cell ('cells') or z itself ('flat')."""
        if self.config.regularize == "flat":
            return z
        b, t1, _ = z.shape
        c, h, w = self.latent_shape
        return z.reshape(b, t1, c, h * w).permute(0, 3, 1, 2).reshape(b * h * w, t1, c)

    def _idm(self, z: Tensor) -> Tensor:
        """z (B, T+1, D) -> predicted chunks (B, T, k*A)."""
        b, t1, _ = z.shape
        maps = z.reshape(b, t1, *self.latent_shape)
        pred = self.idm(maps[:, :-1].flatten(0, 1), maps[:, 1:].flatten(0, 1))  # (B*T, k*A)
        return pred.view(b, t1 - 1, -1)

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the target encoder (target=ema only)."""
        if self.target_encoder is not None:
            momentum = cosine_momentum(step, total_steps, base=self.config.ema_momentum)
            ema_update(self.target_encoder, self.encoder, momentum=momentum)

    @torch.no_grad()
    def diagnostic_embeddings(self, batch: dict[str, Tensor]) -> Tensor:
        """The latent cells of the batch's first frames, one row each: (B * h * w, C').

        A spatial latent's flat rank is bounded by the scene's few degrees of freedom, so the collapse
        diagnostics (logged by the training loop) read its per-cell channel vectors, which collapse
        when the encoder's output stops depending on its input."""
        z = batch["features"][:, 0] if "features" in batch else self.encode(batch["obs"][:, 0])
        return z.reshape(z.shape[0], *self.latent_shape).permute(0, 2, 3, 1).reshape(-1, self.latent_shape[0])
