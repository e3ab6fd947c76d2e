"""Video JEPA: predict the representation of the next frame from the last k, never its pixels.

Energy of a clip continuation: E(x_{1..k}, x_{k+1..k+H}) = mean_h D(Pred^h(Enc(x_{1..k})), Enc(x_{k+h})), the
distance between the autoregressively unrolled predictions and the encoded future frames. Training
lowers it on clips; no pixel is reconstructed. Representations are spatial maps z (D, h, w)
(:class:`~jepa_world.nn.frame_encoder.FrameEncoder`), the predictor a small convolutional network
over the last k maps (:class:`~jepa_world.nn.frame_predictor.FramePredictor`).

Anti-collapse, two families (``regularizer`` and ``target``):

* regularised: the online encoder's maps of every frame are kept spread by VICReg's variance and
  covariance terms (statistics over the clips and frames of the batch, separately at each cell of the
  map) or by SIGReg (every cell vector a sample); targets are the online encoder's own outputs.
* distillation: ``target="ema"`` takes targets from an EMA copy of the encoder under stop-gradient
  (V-JEPA style); a regulariser may be kept on top or switched off (``regularizer="none"``).

Loss: ``pred_weight * pred + var_weight * var + cov_weight * cov`` (vicreg) or
``pred_weight * pred + sigreg_weight * sigreg`` (sigreg).

Examples:
    >>> import torch
    >>> cfg = VideoJEPAConfig(encoder=FrameEncoderConfig(channels=(8, 8, 8), dim=4),
    ...                       predictor=FramePredictorConfig(dim=4, hidden=8))
    >>> model = VideoJEPA(cfg)
    >>> frames = torch.rand(3, 5, 1, 64, 64)
    >>> loss, metrics = model.training_step({"frames": frames}, step=0)
    >>> z = model.encode(frames)
    >>> z.shape, model.unroll(z[:, :2], steps=4).shape
    (torch.Size([3, 5, 4, 8, 8]), torch.Size([3, 4, 4, 8, 8]))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.config import added_field
from jepa_world.data.images.dataset import to_float
from jepa_world.nn.frame_encoder import FrameEncoder, FrameEncoderConfig
from jepa_world.nn.frame_predictor import FramePredictor, FramePredictorConfig
from jepa_world.objectives.collapse import collapse_report
from jepa_world.objectives.distributed import gather_batch, same_on_all_ranks
from jepa_world.objectives.ema import EMATarget, cosine_momentum
from jepa_world.objectives.prediction import multistep_prediction_loss, per_horizon_prediction_loss
from jepa_world.objectives.sigreg import random_directions, sigreg
from jepa_world.objectives.vicreg import covariance_term, variance_term

REGULARIZERS = ("vicreg", "sigreg", "none")
TARGETS = ("online", "stopgrad", "ema")


@dataclass
class VideoJEPAConfig:
    """A video JEPA: frame encoder, next-representation predictor, anti-collapse objective."""

    encoder: FrameEncoderConfig = field(default_factory=FrameEncoderConfig)
    """The frame encoder (representation: a D x h x w map)."""
    predictor: FramePredictorConfig = field(default_factory=FramePredictorConfig)
    """The predictor; predictor.dim must equal encoder.dim, predictor.context is k."""
    regularizer: Literal["vicreg", "sigreg", "none"] = "vicreg"
    """Anti-collapse term on the online encoder's maps: vicreg | sigreg | none (only with target=ema)."""
    target: Literal["online", "stopgrad", "ema"] = "online"
    """online: targets are the encoder's own outputs, gradient flows into them; stopgrad: the same outputs
    under stop-gradient; ema: an EMA copy of the encoder, stop-gradient."""
    train_horizon: int = 0
    """Steps unrolled autoregressively in training (0 = every frame after the k context frames)."""
    pred_weight: float = 1.0
    """Weight of the multi-step prediction energy (mean squared error over the unrolled steps)."""
    horizon_discount: float = 1.0
    """Weight rho^(h-1) of unrolled step h in the prediction energy (1 = all steps equal)."""
    one_step_weight: float = 0.0
    """Weight of the teacher-forced one-step energy: every window of k true maps predicts the next map."""
    var_weight: float = 25.0
    """VICReg variance hinge weight (per cell of the map, over the batch's frames)."""
    cov_weight: float = 1.0
    """VICReg covariance weight."""
    sigreg_weight: float = 1.0
    """SIGReg weight (regularizer=sigreg)."""
    sigreg_directions: int = 64
    """Random directions of SIGReg, drawn afresh each step."""
    sigreg_samples: int = 4096
    """Cell vectors SIGReg looks at per step (a random subset of the batch's; 0 = all)."""
    ema_momentum: float = 0.99
    """Start momentum of the EMA target encoder (cosine schedule to 1.0), target=ema."""
    gather: bool = added_field(True, absent=False)
    """Under DDP, take the regulariser's statistics over every process's clips (SIGReg's subset and directions
    shared): the one-process objective of the global batch (docs/ddp_objectives.md); no effect alone."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.encoder.validate()
        self.predictor.validate()
        if self.predictor.dim != self.encoder.dim:
            raise ValueError(f"predictor.dim ({self.predictor.dim}) must equal encoder.dim ({self.encoder.dim})")
        if self.regularizer not in REGULARIZERS:
            raise ValueError(f"regularizer must be one of {list(REGULARIZERS)}, got {self.regularizer!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {list(TARGETS)}, got {self.target!r}")
        if self.regularizer == "none" and self.target != "ema":
            raise ValueError(f"regularizer=none needs target=ema: {self.target} targets without a regulariser collapse")
        weights = {k: getattr(self, k) for k in ("pred_weight", "one_step_weight", "var_weight", "cov_weight",
                                                  "sigreg_weight")}
        negative = {k: v for k, v in weights.items() if v < 0}
        if negative:
            raise ValueError(f"loss weights must be >= 0, got {negative}")
        if self.train_horizon < 0 or self.sigreg_directions < 1 or self.sigreg_samples < 0:
            raise ValueError(f"need train_horizon >= 0, sigreg_directions >= 1, sigreg_samples >= 0, got "
                             f"{self.train_horizon}, {self.sigreg_directions}, {self.sigreg_samples}")
        if not 0.0 < self.horizon_discount <= 1.0:
            raise ValueError(f"horizon_discount must be in (0, 1], got {self.horizon_discount}")
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")

    @property
    def context(self) -> int:
        """k, the number of context frames."""
        return self.predictor.context


class VideoJEPA(nn.Module):
    """encode (B, T, 1, H, W) -> (B, T, D, h, w); unroll (B, k, D, h, w) -> (B, steps, D, h, w)."""

    def __init__(self, config: VideoJEPAConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or VideoJEPAConfig()
        cfg.validate()
        self.encoder = FrameEncoder(cfg.encoder)
        self.predictor = FramePredictor(cfg.predictor)
        self.target_encoder = EMATarget(self.encoder) if cfg.target == "ema" else None

    # --- verbs ----------------------------------------------------------------------------------
    def encode(self, frames: Tensor) -> Tensor:
        """frames (..., C, H, W) uint8 or float in [0, 1] -> z (..., D, h, w) (online encoder)."""
        return _apply_to_frames(self.encoder, frames)

    def encode_target(self, frames: Tensor) -> Tensor:
        """The space predictions live in: (..., C, H, W) -> (..., D, h, w) by the EMA encoder (target=ema) or the
        encoder."""
        encoder = self.encoder if self.target_encoder is None else self.target_encoder
        return _apply_to_frames(encoder, frames)

    def predict_next(self, context: Tensor) -> Tensor:
        """context (B, k, D, h, w) -> the next frame's representation (B, D, h, w)."""
        return self.predictor(context)

    def unroll(self, context: Tensor, *, steps: int) -> Tensor:
        """Autoregressive prediction: context (B, k, D, h, w) -> (B, steps, D, h, w), each step fed back."""
        k = self.config.context
        if context.ndim != 5 or context.shape[1] != k:
            raise ValueError(f"unroll expects context (B, k={k}, D, h, w), got {tuple(context.shape)}")
        if steps < 1:
            raise ValueError(f"unroll: steps must be >= 1, got {steps}")
        window, out = context, []
        for _ in range(steps):
            nxt = self.predictor(window)  # (B, D, h, w)
            out.append(nxt)
            window = torch.cat([window[:, 1:], nxt.unsqueeze(1)], dim=1)  # (B, k, D, h, w)
        return torch.stack(out, dim=1)

    # --- training -------------------------------------------------------------------------------
    def _horizon(self, num_frames: int) -> int:
        k, h = self.config.context, self.config.train_horizon
        if num_frames <= k:
            raise ValueError(f"clips of {num_frames} frames leave nothing to predict after k={k} context frames")
        return min(h, num_frames - k) if h else num_frames - k

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch["frames"]: (B, T, C, H, W) -> (loss, metrics)."""
        frames = batch["frames"]
        if frames.ndim != 5:
            raise ValueError(f"expected frames (B, T, C, H, W), got {tuple(frames.shape)}")
        cfg, k = self.config, self.config.context
        horizon = self._horizon(frames.shape[1])
        z = self.encode(frames)  # (B, T, D, h, w)
        if self.target_encoder is not None:
            target = self.encode_target(frames[:, k:k + horizon])  # (B, H, D, h, w), no gradient
        else:
            target = z[:, k:k + horizon]
            target = target.detach() if cfg.target == "stopgrad" else target
        pred = self.unroll(z[:, :k], steps=horizon)  # (B, H, D, h, w)
        discount = cfg.horizon_discount ** torch.arange(horizon, dtype=pred.dtype, device=pred.device)  # (H,)
        terms = {"pred": multistep_prediction_loss(pred.flatten(2), target.flatten(2), horizon_weights=discount)}
        if cfg.one_step_weight:
            terms["one_step"] = self._one_step_energy(z, target)
        terms.update(self._regularizer_terms(z))
        weights = {"pred": cfg.pred_weight, "one_step": cfg.one_step_weight, "var": cfg.var_weight,
                   "cov": cfg.cov_weight, "sigreg": cfg.sigreg_weight}
        loss = sum(weights[name] * value for name, value in terms.items())
        return loss, {name: float(value.detach()) for name, value in terms.items()}

    def _one_step_energy(self, z: Tensor, target: Tensor) -> Tensor:
        """Teacher-forced: z (B, T, D, h, w) windows [t-k, t) predict target (B, H, D, h, w) at t = k..k+H-1."""
        k, horizon = self.config.context, target.shape[1]
        windows = torch.stack([z[:, t:t + k] for t in range(horizon)], dim=1)  # (B, H, k, D, h, w)
        pred = self.predictor(windows.flatten(0, 1)).view_as(target)  # (B, H, D, h, w)
        return multistep_prediction_loss(pred.flatten(2), target.flatten(2))

    def _regularizer_terms(self, z: Tensor) -> dict[str, Tensor]:
        """z (B, T, D, h, w) -> the anti-collapse terms of the configured regulariser."""
        cfg = self.config
        if cfg.gather and cfg.regularizer != "none":
            z = gather_batch(z)  # (B_all, T, D, h, w): every process's clips
        if cfg.regularizer == "vicreg":
            groups = cell_groups(z)  # (h*w, B*T, D): one group of samples per cell
            return {"var": variance_term(groups), "cov": covariance_term(groups)}
        if cfg.regularizer == "sigreg":
            cells = cell_vectors(z)  # (B*T*h*w, D)
            if cfg.sigreg_samples and cells.shape[0] > cfg.sigreg_samples:
                keep = torch.randperm(cells.shape[0], device=cells.device)[:cfg.sigreg_samples]
                cells = cells[same_on_all_ranks(keep) if cfg.gather else keep]
            directions = random_directions(cells.shape[1], cfg.sigreg_directions, device=cells.device,
                                           dtype=torch.promote_types(cells.dtype, torch.float32))  # (D, M)
            return {"sigreg": sigreg(cells, directions=same_on_all_ranks(directions) if cfg.gather else directions)}
        return {}

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the target encoder (target=ema only)."""
        if self.target_encoder is not None:
            momentum = cosine_momentum(step, total_steps, base=self.config.ema_momentum)
            self.target_encoder.update(self.encoder, momentum)

    @torch.no_grad()
    def diagnostics(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse diagnostics of the cell vectors of the batch's target maps, and the relative prediction
        error (MSE / target variance) at the first and last unrolled step."""
        frames, k = batch["frames"], self.config.context
        horizon = self._horizon(frames.shape[1])
        target = self.encode_target(frames)  # (B, T, D, h, w)
        metrics = collapse_report(cell_vectors(target)).as_metrics("repr_")
        pred = self.unroll(self.encode(frames[:, :k]), steps=horizon).flatten(2)
        future = target[:, k:k + horizon].flatten(2)  # (B, H, D*h*w)
        err = per_horizon_prediction_loss(pred, future) / future.var(dim=0).mean().clamp_min(1e-12)  # (H,)
        metrics.update({"rel_pred_err_h1": float(err[0]), f"rel_pred_err_h{horizon}": float(err[-1])})
        return metrics


def _apply_to_frames(encoder: nn.Module, frames: Tensor) -> Tensor:
    """Run a frame encoder on (..., C, H, W) frames: (..., C, H, W) -> (..., D, h, w), one batched call."""
    if frames.ndim < 4:
        raise ValueError(f"expected frames (..., C, H, W), got {tuple(frames.shape)}")
    lead = frames.shape[:-3]
    z = encoder(to_float(frames.reshape(-1, *frames.shape[-3:])))  # (N, D, h, w)
    return z.view(*lead, *z.shape[1:])


def cell_groups(z: Tensor) -> Tensor:
    """(B, T, D, h, w) -> (h*w, B*T, D): the samples of each cell of the map, one group per cell."""
    b, t, d, h, w = z.shape
    return z.permute(3, 4, 0, 1, 2).reshape(h * w, b * t, d)


def cell_vectors(z: Tensor) -> Tensor:
    """(..., D, h, w) -> (N, D): every cell of every map as one D-vector."""
    return z.movedim(-3, -1).reshape(-1, z.shape[-3])
