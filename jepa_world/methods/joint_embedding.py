"""Joint-embedding SSL on two augmented views, with interchangeable objectives.

Two views of each image go through the same backbone (one batched call) and a head; an objective,
chosen by name from :data:`OBJECTIVES`, compares the two views' embeddings while preventing collapse:

=========  ==================================  ===========================================
name       anti-collapse family                 parts
=========  ==================================  ===========================================
vicreg     regularised (variance, covariance)   projector; Bardes et al. 2022
sigreg     regularised (isotropic Gaussian)     projector; LeJEPA, Balestriero & LeCun 2025
infonce    contrastive (negatives)              projector; SimCLR, Chen et al. 2020
byol       distillation (EMA teacher)           projector + predictor + EMA teacher; Grill et al. 2020
simsiam    distillation (stop-gradient)         projector + predictor; Chen & He 2021
dino       distillation (centering, sharpening) DINO head + EMA teacher; Caron et al. 2021
=========  ==================================  ===========================================

Verbs: ``encode(x) -> (B, D)`` the backbone representation (what probes evaluate);
``embed(x) -> (B, K)`` the embedding the objective sees (projector output, DINO bottleneck);
``training_step``, ``after_optimizer_step`` (EMA teacher), ``diagnostics`` (collapse metrics of both),
``param_groups`` (no weight decay on biases, norms, positions).

The EMA teacher of BYOL/DINO is a frozen copy of backbone + head updated by
:func:`~jepa_world.objectives.ema.ema_update`; it runs in the method's own mode (BatchNorm with
batch statistics during training, as in BYOL), which is why it is not an ``EMATarget`` (always eval).

Examples:
    >>> import torch
    >>> cfg = JointEmbeddingConfig(objective="byol", backbone=BackboneConfig(kind="resnet",
    ...     resnet=ResNetConfig(widths=(8, 16))), projector=HeadConfig(hidden=32, out_dim=16),
    ...     predictor=HeadConfig(hidden=32, out_dim=16))
    >>> method = JointEmbedding(cfg)
    >>> loss, metrics = method.training_step({"views": torch.randn(2, 8, 1, 16, 16)}, step=0)
    >>> method.encode(torch.zeros(3, 1, 16, 16)).shape, method.embed(torch.zeros(3, 1, 16, 16)).shape
    (torch.Size([3, 16]), torch.Size([3, 16]))
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.config import added_field
from jepa_world.methods.param_groups import weight_decay_groups
from jepa_world.nn.backbones import BackboneConfig, build_backbone
from jepa_world.nn.heads import DINOHead, DINOHeadConfig, HeadConfig, MLPHead
from jepa_world.nn.resnet import ResNetConfig
from jepa_world.objectives.byol import symmetric_prediction_loss
from jepa_world.objectives.dino import DINOLoss, teacher_temperature
from jepa_world.objectives.ema import cosine_momentum, ema_update
from jepa_world.objectives.infonce import contrastive_accuracy, info_nce_loss
from jepa_world.objectives.sigreg import sigreg
from jepa_world.objectives.ssl_verdict import collapse_reports
from jepa_world.objectives.vicreg import vicreg_loss

__all__ = ["OBJECTIVES", "BackboneConfig", "JointEmbedding", "JointEmbeddingConfig", "ResNetConfig"]


@dataclass
class VICRegWeights:
    """Weights of the VICReg terms (Bardes et al. 2022: 25, 25, 1)."""

    sim_weight: float = 25.0
    """Invariance (MSE between the views' embeddings)."""
    var_weight: float = 25.0
    """Variance hinge (std of each dimension >= 1); 0 together with cov_weight=0 collapses."""
    cov_weight: float = 1.0
    """Off-diagonal covariance penalty."""


@dataclass
class SIGRegSettings:
    """LeJEPA: ``(1 - weight) * invariance + weight * SIGReg`` (Balestriero & LeCun 2025)."""

    weight: float = 0.05
    """lambda, the SIGReg share of the loss (the paper's default 0.05)."""
    num_directions: int = 256
    """Random 1-D projections per step."""


@dataclass
class DINOSettings:
    """The DINO head, temperatures and centering (Caron et al. 2021)."""

    head: DINOHeadConfig = field(default_factory=DINOHeadConfig)
    """MLP -> bottleneck -> K prototypes."""
    student_temp: float = 0.1
    """Student softmax temperature."""
    teacher_temp_start: float = 0.04
    """Teacher temperature at step 0 (sharpening)."""
    teacher_temp: float = 0.07
    """Teacher temperature after the warm-up."""
    teacher_temp_warmup_steps: int = 300
    """Steps of the linear teacher-temperature warm-up."""
    center_momentum: float = 0.9
    """Momentum of the running center of the teacher logits."""


@dataclass
class EMASettings:
    """Momentum schedule of an EMA teacher: cosine from ``base`` to ``final`` over the run."""

    base: float = 0.99
    """Momentum at the first step."""
    final: float = 1.0
    """Momentum at the last step."""


@dataclass
class JointEmbeddingConfig:
    """A joint-embedding method: backbone, heads, and the objective with its settings."""

    objective: str = "vicreg"
    """vicreg | sigreg | infonce | byol | simsiam | dino."""
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    """The encoder whose representation is evaluated."""
    projector: HeadConfig = field(default_factory=HeadConfig)
    """Projector MLP (every objective but dino)."""
    predictor: HeadConfig = field(default_factory=lambda: HeadConfig(hidden=128, out_dim=256, layers=2))
    """Predictor MLP (byol, simsiam); out_dim must equal projector.out_dim."""
    vicreg: VICRegWeights = field(default_factory=VICRegWeights)
    """VICReg term weights."""
    sigreg: SIGRegSettings = field(default_factory=SIGRegSettings)
    """SIGReg (LeJEPA) settings."""
    infonce_temperature: float = 0.2
    """InfoNCE temperature tau."""
    stop_gradient: bool = True
    """byol/simsiam: no gradient through the targets (false is the classic collapsing ablation)."""
    dino: DINOSettings = field(default_factory=DINOSettings)
    """DINO head, temperatures, centering."""
    ema: EMASettings = field(default_factory=EMASettings)
    """EMA teacher momentum schedule (byol, dino)."""
    gather: bool = added_field(True, absent=False)
    """Under DDP, compute batch-wide terms (VICReg var/cov, SIGReg, InfoNCE negatives, DINO centre) over every
    process's samples: the one-process objective of the global batch (docs/ddp_objectives.md); no effect alone."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {self.objective!r}")
        self.backbone.validate()
        self.projector.validate("projector")
        self.predictor.validate("predictor")
        self.dino.head.validate()
        spec = OBJECTIVES[self.objective]
        if spec.predictor and self.predictor.layers and self.predictor.out_dim != self.projector.out_dim:
            raise ValueError(f"predictor.out_dim ({self.predictor.out_dim}) must equal projector.out_dim "
                             f"({self.projector.out_dim})")
        if self.infonce_temperature <= 0:
            raise ValueError(f"infonce_temperature must be > 0, got {self.infonce_temperature}")
        if not 0.0 <= self.sigreg.weight <= 1.0 or self.sigreg.num_directions < 1:
            raise ValueError(f"sigreg needs weight in [0, 1] and num_directions >= 1, got {self.sigreg}")
        if min(self.vicreg.sim_weight, self.vicreg.var_weight, self.vicreg.cov_weight) < 0:
            raise ValueError(f"vicreg weights must be >= 0, got {self.vicreg}")
        if not 0.0 <= self.ema.base <= self.ema.final <= 1.0:
            raise ValueError(f"ema needs 0 <= base <= final <= 1, got {self.ema}")
        d = self.dino
        if min(d.student_temp, d.teacher_temp, d.teacher_temp_start) <= 0 or not 0 <= d.center_momentum <= 1:
            raise ValueError(f"dino needs positive temperatures and center_momentum in [0, 1], got {d}")


@dataclass
class Views:
    """Per-view outputs of one step; every tensor is (V, B, ...)."""

    h: Tensor
    """Backbone representations (V, B, D)."""
    z: Tensor
    """Online head outputs (V, B, K): projections, or DINO logits."""
    p: Tensor | None = None
    """Predictor outputs (V, B, K) (byol, simsiam)."""
    t: Tensor | None = None
    """EMA-teacher head outputs (V, B, K) (byol, dino), no gradient."""


LossFn = Callable[["JointEmbedding", Views, int], tuple[Tensor, dict[str, float]]]


@dataclass(frozen=True)
class ObjectiveSpec:
    """What an objective needs besides backbone + head, and its loss."""

    loss: LossFn
    """``loss(method, views, step) -> (loss, float terms)``."""
    predictor: bool = False
    """Has a predictor MLP on top of the projector."""
    teacher: bool = False
    """Has an EMA teacher (backbone + head)."""
    dino_head: bool = False
    """Uses the DINO head instead of the projector."""


def _two(views: Views, name: str) -> tuple[Tensor, Tensor]:
    if views.z.shape[0] != 2:
        raise ValueError(f"{name} compares exactly two views, got {views.z.shape[0]}")
    return views.z[0], views.z[1]


def _vicreg(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    w = m.config.vicreg
    a, b = _two(v, "vicreg")
    loss, terms = vicreg_loss(a, b, sim_weight=w.sim_weight, var_weight=w.var_weight, cov_weight=w.cov_weight,
                              gather=m.config.gather)
    return loss, {k: float(t) for k, t in terms.items() if k != "loss"}


def _sigreg(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    s = m.config.sigreg
    center = v.z.mean(dim=0, keepdim=True)  # (1, B, K): the views' mean embedding
    inv = (v.z - center).pow(2).mean()
    reg = torch.stack([sigreg(z, num_directions=s.num_directions, gather=m.config.gather) for z in v.z]).mean()
    loss = (1 - s.weight) * inv + s.weight * reg
    return loss, {"invariance": float(inv.detach()), "sigreg": float(reg.detach())}


def _infonce(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    a, b = _two(v, "infonce")
    loss = info_nce_loss(a, b, temperature=m.config.infonce_temperature, gather=m.config.gather)
    return loss, {"contrastive_acc": contrastive_accuracy(a, b)}


def _byol(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    assert v.p is not None and v.t is not None
    loss = symmetric_prediction_loss(v.p[0], v.p[1], v.t[0], v.t[1], stop_gradient=True, kind="byol")
    return loss, {}


def _simsiam(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    assert v.p is not None
    loss = symmetric_prediction_loss(v.p[0], v.p[1], v.z[0], v.z[1], stop_gradient=m.config.stop_gradient,
                                     kind="simsiam")
    return loss, {}


def _dino(m: JointEmbedding, v: Views, step: int) -> tuple[Tensor, dict[str, float]]:
    assert v.t is not None and m.dino_loss is not None
    d = m.config.dino
    temp = teacher_temperature(step, warmup_steps=d.teacher_temp_warmup_steps, start=d.teacher_temp_start,
                               end=d.teacher_temp)
    loss = m.dino_loss(v.z, v.t, teacher_temp=temp)
    probs = torch.softmax((v.t - m.dino_loss.center) / temp, dim=-1)  # (V, B, K)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(-1).mean()
    return loss, {"teacher_temp": temp, "teacher_entropy": float(entropy)}


OBJECTIVES: dict[str, ObjectiveSpec] = {
    "vicreg": ObjectiveSpec(_vicreg),
    "sigreg": ObjectiveSpec(_sigreg),
    "infonce": ObjectiveSpec(_infonce),
    "byol": ObjectiveSpec(_byol, predictor=True, teacher=True),
    "simsiam": ObjectiveSpec(_simsiam, predictor=True),
    "dino": ObjectiveSpec(_dino, teacher=True, dino_head=True),
}
"""Objective name -> its parts and loss."""


class JointEmbedding(nn.Module):
    """Two-view joint-embedding SSL: ``encode`` (B, C, H, W) -> (B, D); ``embed`` -> (B, K)."""

    def __init__(self, config: JointEmbeddingConfig | None = None) -> None:
        super().__init__()
        self.config = config or JointEmbeddingConfig()
        self.config.validate()
        cfg = self.config
        self.spec = OBJECTIVES[cfg.objective]
        self.backbone = build_backbone(cfg.backbone)
        dim = self.backbone.embed_dim
        self.head: nn.Module = (DINOHead(cfg.dino.head, dim) if self.spec.dino_head else MLPHead(cfg.projector, dim))
        head_dim = cfg.dino.head.out_dim if self.spec.dino_head else self.head.out_dim
        self.predictor = MLPHead(cfg.predictor, head_dim) if self.spec.predictor else None
        self.teacher: nn.ModuleDict | None = None
        if self.spec.teacher:
            self.teacher = copy.deepcopy(nn.ModuleDict({"backbone": self.backbone, "head": self.head}))
            self.teacher.requires_grad_(False)
        self.dino_loss = (DINOLoss(cfg.dino.head.out_dim, student_temp=cfg.dino.student_temp,
                                   center_momentum=cfg.dino.center_momentum, gather=cfg.gather)
                          if self.spec.dino_head else None)

    # --- verbs -------------------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """The representation the probes evaluate: images (B, C, H, W) -> (B, D)."""
        return self.backbone.features(x)

    def embed(self, x: Tensor) -> Tensor:
        """The embedding the objective sees: projector output, or the DINO bottleneck. (B, K')."""
        h = self.encode(x)
        return self.head.embed(h) if isinstance(self.head, DINOHead) else self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    # --- training ----------------------------------------------------------------------------------
    def _views(self, views: Tensor) -> Views:
        v, b = views.shape[:2]
        x = views.flatten(0, 1)  # (V, B, C, H, W) -> (V*B, C, H, W): one backbone call for all views
        h = self.backbone.features(x)  # (V*B, D)
        z = self.head(h)  # (V*B, K)
        p = self.predictor(z) if self.predictor is not None else None
        t = None
        if self.teacher is not None:
            with torch.no_grad():
                t = self.teacher["head"](self.teacher["backbone"].features(x)).view(v, b, -1)
        return Views(h=h.view(v, b, -1), z=z.view(v, b, -1), p=None if p is None else p.view(v, b, -1), t=t)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch["views"]: (V, B, C, H, W) augmented views -> (loss, metrics)."""
        views = batch["views"]
        if views.ndim != 5 or views.shape[0] < 2 or views.shape[1] < 2:
            raise ValueError(f"JointEmbedding expects views (V >= 2, B >= 2, C, H, W), got {tuple(views.shape)}")
        out = self._views(views)
        loss, terms = self.spec.loss(self, out, step)
        with torch.no_grad():
            h = out.h[0]
            terms["repr_std"] = float(torch.nn.functional.normalize(h, dim=1).std(dim=0).mean())
        return loss, terms

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA update of the teacher (byol, dino)."""
        if self.teacher is not None:
            m = cosine_momentum(step, total_steps, base=self.config.ema.base, final=self.config.ema.final)
            online = nn.ModuleDict({"backbone": self.backbone, "head": self.head})
            ema_update(self.teacher, online, momentum=m)

    def param_groups(self) -> list[dict[str, Any]]:
        """Weight decay on weight matrices only (see :mod:`jepa_world.methods.param_groups`)."""
        return weight_decay_groups(self)

    @torch.no_grad()
    def diagnostics(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse diagnostics (effective rank, normalised std, per-dim variance) of the first view's
        representation (``repr_*``) and embedding (``emb_*``); rules of :mod:`jepa_world.objectives.ssl_verdict`."""
        x = batch["views"][0]
        h = self.encode(x)
        e = self.head.embed(h) if isinstance(self.head, DINOHead) else self.head(h)
        rep, emb = collapse_reports(h, e)
        return {**rep.as_metrics("repr_"), **emb.as_metrics("emb_")}
