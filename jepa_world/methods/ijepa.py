"""I-JEPA: predict the representations of masked image blocks from a context block (Assran et al. 2023).

A ViT context encoder sees only the context patches (``forward(x, keep=context_idx)``); a narrow ViT
predictor predicts, from those tokens and positional mask tokens, the representations that an EMA
target encoder (stop-gradient, cosine momentum schedule) gives the target-block patches of the full
image. Targets are layer-normalised (no affine) as in the paper. The loss lives in representation
space only: the mean squared error :func:`~jepa_world.objectives.prediction.prediction_energy`.
No pixel is reconstructed and no augmentation is needed; the masks come from the data collator
(:class:`~jepa_world.data.images.masks.MultiBlockMaskSampler`).

``encode(x)`` mean-pools the tokens of the *target* encoder on the full image (as the paper
evaluates), or of the context encoder with ``probe_encoder="context"``.

Examples:
    >>> import torch
    >>> from jepa_world.data.images.masks import MaskConfig, MultiBlockMaskSampler
    >>> cfg = IJEPAConfig(encoder=ViTConfig(image_size=16, patch_size=4, dim=32, depth=1, heads=2),
    ...                   predictor=ViTPredictorConfig(dim=16, depth=1, heads=2))
    >>> method = IJEPA(cfg)
    >>> masks = MultiBlockMaskSampler(MaskConfig(), grid=4)(3, generator=torch.Generator().manual_seed(0))
    >>> batch = {"images": torch.randn(3, 1, 16, 16), "context_idx": masks.context_idx,
    ...          "target_idx": masks.target_idx}
    >>> loss, metrics = method.training_step(batch, step=0)
    >>> method.encode(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 32])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.methods.joint_embedding import EMASettings
from jepa_world.methods.param_groups import weight_decay_groups
from jepa_world.nn.vit import VisionTransformer, ViTConfig, gather_tokens
from jepa_world.nn.vit_predictor import ViTPredictor, ViTPredictorConfig
from jepa_world.objectives.ema import EMATarget, cosine_momentum
from jepa_world.objectives.prediction import prediction_energy
from jepa_world.objectives.ssl_verdict import collapse_reports

__all__ = ["IJEPA", "IJEPAConfig", "ViTConfig", "ViTPredictorConfig"]


@dataclass
class IJEPAConfig:
    """I-JEPA: context encoder, predictor, EMA target encoder."""

    encoder: ViTConfig = field(default_factory=ViTConfig)
    """The ViT context encoder (the target encoder is its EMA copy)."""
    predictor: ViTPredictorConfig = field(default_factory=ViTPredictorConfig)
    """The narrow ViT predictor."""
    ema: EMASettings = field(default_factory=lambda: EMASettings(base=0.996, final=1.0))
    """Momentum schedule of the target encoder (the paper: 0.996 -> 1.0)."""
    distance: Literal["mse", "l1"] = "mse"
    """Distance between predicted and target patch representations."""
    probe_encoder: Literal["target", "context"] = "target"
    """Which encoder ``encode`` (and so the probes) uses."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        self.encoder.validate()
        self.predictor.validate()
        if not 0.0 <= self.ema.base <= self.ema.final <= 1.0:
            raise ValueError(f"ema needs 0 <= base <= final <= 1, got {self.ema}")
        if self.distance not in ("mse", "l1"):
            raise ValueError(f"distance must be 'mse' or 'l1', got {self.distance!r}")
        if self.probe_encoder not in ("target", "context"):
            raise ValueError(f"probe_encoder must be 'target' or 'context', got {self.probe_encoder!r}")


class IJEPA(nn.Module):
    """I-JEPA: ``encode`` images (B, C, H, W) -> (B, D); ``training_step`` on masked batches."""

    def __init__(self, config: IJEPAConfig | None = None) -> None:
        super().__init__()
        self.config = config or IJEPAConfig()
        self.config.validate()
        cfg = self.config
        self.encoder = VisionTransformer(cfg.encoder)
        self.target_encoder = EMATarget(self.encoder)
        self.predictor = ViTPredictor(cfg.predictor, embed_dim=cfg.encoder.dim, grid=cfg.encoder.grid)

    def _probe_vit(self) -> VisionTransformer:
        return self.target_encoder.module if self.config.probe_encoder == "target" else self.encoder

    def encode(self, x: Tensor) -> Tensor:
        """Mean-pooled tokens of the full image: (B, C, H, W) -> (B, D)."""
        return self._probe_vit().features(x)

    def embed(self, x: Tensor) -> Tensor:
        """The patch representations the predictor regresses: (B, C, H, W) -> (B, N, D)."""
        t = self.target_encoder(x)
        return F.layer_norm(t, t.shape[-1:])

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch: images (B, C, H, W), context_idx (B, Nc), target_idx (B, M, Nt) -> (loss, metrics)."""
        x, ctx_idx, tgt_idx = batch["images"], batch["context_idx"], batch["target_idx"]
        if tgt_idx.ndim != 3 or ctx_idx.ndim != 2 or len({x.shape[0], ctx_idx.shape[0], tgt_idx.shape[0]}) != 1:
            raise ValueError(f"IJEPA expects context_idx (B, Nc) and target_idx (B, M, Nt) for images "
                             f"{tuple(x.shape)}, got {tuple(ctx_idx.shape)} and {tuple(tgt_idx.shape)}")
        flat_tgt = tgt_idx.flatten(1)  # (B, M * Nt): all blocks in one sequence
        with torch.no_grad():
            target = gather_tokens(self.embed(x), flat_tgt)  # (B, M*Nt, D)
        context = self.encoder(x, keep=ctx_idx)  # (B, Nc, D)
        pred = self.predictor(context, context_idx=ctx_idx, target_idx=flat_tgt)  # (B, M*Nt, D)
        loss = prediction_energy(pred, target, distance=self.config.distance)
        with torch.no_grad():
            pooled = context.mean(dim=1)
            std = float(F.normalize(pooled, dim=1).std(dim=0).mean())
        return loss, {"context_frac": ctx_idx.shape[1] / self.config.encoder.num_patches, "repr_std": std}

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the target encoder."""
        m = cosine_momentum(step, total_steps, base=self.config.ema.base, final=self.config.ema.final)
        self.target_encoder.update(self.encoder, momentum=m)

    def param_groups(self) -> list[dict[str, Any]]:
        """Weight decay on weight matrices only (the target encoder has no trainable parameters)."""
        return weight_decay_groups(self)

    @torch.no_grad()
    def diagnostics(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse diagnostics of the pooled representation (``repr_*``) and of the target patch
        tokens of the batch (``emb_*``, all patches of all images as samples)."""
        x = batch["images"]
        rep, emb = collapse_reports(self.encode(x), self.embed(x).flatten(0, 1))  # tokens (B*N, D)
        return {**rep.as_metrics("repr_"), **emb.as_metrics("emb_")}
