"""Image SSL presets: ``jepa-world train --preset <method>-<dataset>`` for every method and dataset.

Presets (method x dataset):

* ``ijepa-digits``, ``ijepa-shapes``: :class:`~jepa_world.methods.ijepa.IJEPA` (kind ``"ijepa"``);
* ``vicreg-``, ``sigreg-``, ``byol-``, ``simsiam-``, ``dino-``, ``infonce-`` + ``digits`` / ``shapes``:
  :class:`~jepa_world.methods.joint_embedding.JointEmbedding` (kind ``"joint_embedding"``);
* ``two-rooms-ssl-encoder``, ``maze-ssl-encoder``: I-JEPA on the environment's frames (64 px crops, labels =
  the agent's 4x4 grid cell for the online probe), the encoder the ``*-frozen`` world models freeze. I-JEPA needs
  no augmentation and regresses patch features, so its patch tokens keep *where* things are.

A preset config is a nested dataclass (``model``, ``data``, ``augment``/``masks``, ``probe``,
``train``) that ``key=value`` overrides edit, e.g. ``model.vicreg.var_weight=0`` or
``data.name=folder data.path=/my/images``. :func:`build_joint_embedding` / :func:`build_ijepa` turn
it into a :class:`~jepa_world.presets.RunSpec`; the backbone's input size and channels are taken
from the data. The saved ``model_config`` is ``{"method": <model config>, "data": <data config>}``:
enough to rebuild the method (:data:`~jepa_world.presets.METHOD_BUILDERS`) and to find the
images that ``eval-probe`` and ``diagnose`` evaluate it on.

Defaults are tuned for a 2-core CPU on the 32x32 digits: a 4-block ViT of width 96 on 8x8-pixel
patches (16 tokens), batch 128, ~600 steps (a few minutes); docs/ssl.md lists the measured numbers.

Examples:
    >>> from jepa_world.presets import get_preset
    >>> cfg = get_preset("vicreg-digits").config()
    >>> cfg.model.objective, cfg.data.name, cfg.train.steps > 0
    ('vicreg', 'digits', True)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from jepa_world.config import from_dict, to_dict
from jepa_world.data.images.augment import AugmentConfig
from jepa_world.data.images.masks import MaskConfig, MultiBlockMaskSampler
from jepa_world.data.images.registry import ImageDataConfig, load_image_splits
from jepa_world.data.images.source import MaskedImageSource, TwoViewSource
from jepa_world.methods.ijepa import IJEPA, IJEPAConfig
from jepa_world.methods.joint_embedding import OBJECTIVES, DINOSettings, JointEmbedding, JointEmbeddingConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.heads import DINOHeadConfig, HeadConfig
from jepa_world.nn.vit import ViTConfig
from jepa_world.nn.vit_predictor import ViTPredictorConfig
from jepa_world.presets import Preset, RunSpec, register_method, register_preset
from jepa_world.train.config import TrainConfig
from jepa_world.train.probe_callback import probe_callback

KIND_JOINT = "joint_embedding"
KIND_IJEPA = "ijepa"
SSL_DATASETS = ("digits", "shapes")
"""Datasets with presets (``folder`` and ``cifar10`` are reached with ``data.name=...`` overrides)."""
JOINT_METHODS = tuple(OBJECTIVES)
"""vicreg, sigreg, infonce, byol, simsiam, dino."""


@dataclass
class ProbeConfig:
    """The online evaluation during training (linear probe and k-NN on frozen features)."""

    every: int = 200
    """Run the probe every this many optimizer steps (it also logs collapse metrics of the test features)."""
    batch_size: int = 512
    """Images per forward pass when extracting features."""


@dataclass
class JointEmbeddingRunConfig:
    """A joint-embedding run: method, data, augmentations, online probe, optimisation."""

    model: JointEmbeddingConfig = field(default_factory=JointEmbeddingConfig)
    """The method (objective, backbone, heads)."""
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    """The image dataset and its resolution."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    """Augmentations of each view."""
    batch_size: int = 128
    """Images per step (each seen in two views)."""
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    """Online linear / k-NN probe."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation and bookkeeping (train.seed also seeds the model's initialisation and the data)."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.data.validate()
        model = copy.deepcopy(self.model)
        model.backbone = _resolved_backbone(self.model.backbone, self.data)
        model.validate()
        self.augment.validate()
        self.train.validate()
        _check_common(self.batch_size, self.probe)


@dataclass
class IJEPARunConfig:
    """An I-JEPA run: method, data, masks, online probe, optimisation."""

    model: IJEPAConfig = field(default_factory=IJEPAConfig)
    """Context encoder, predictor, EMA target encoder."""
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    """The image dataset and its resolution."""
    masks: MaskConfig = field(default_factory=MaskConfig)
    """Multi-block mask sampling (targets and context)."""
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(
        crop_scale=(0.3, 1.0), flip_p=0.0, jitter_p=0.0, grayscale_p=0.0, blur_p=0.0))
    """Augmentation of the (single) view, used when use_augment is true."""
    use_augment: bool = False
    """Augment the images (I-JEPA needs no hand-crafted views; the paper uses only crops and flips)."""
    batch_size: int = 128
    """Images per step."""
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    """Online linear / k-NN probe."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation and bookkeeping (train.seed also seeds the model's initialisation and the data)."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.data.validate()
        model = copy.deepcopy(self.model)
        model.encoder = encoder = _resolved_vit(self.model.encoder, self.data)
        model.validate()
        self.masks.validate()
        MultiBlockMaskSampler(self.masks, encoder.grid)  # checks min_context against the grid
        self.augment.validate()
        self.train.validate()
        _check_common(self.batch_size, self.probe)


def _check_common(batch_size: int, probe: ProbeConfig) -> None:
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2, got {batch_size}")
    if probe.every < 1 or probe.batch_size < 1:
        raise ValueError(f"probe.every and probe.batch_size must be >= 1, got {probe.every}, {probe.batch_size}")


def _resolved_vit(vit: ViTConfig, data: ImageDataConfig) -> ViTConfig:
    out = copy.deepcopy(vit)
    out.image_size, out.in_channels = data.image_size, data.in_channels
    return out


def _resolved_backbone(backbone: BackboneConfig, data: ImageDataConfig) -> BackboneConfig:
    out = copy.deepcopy(backbone)
    out.set_input(image_size=data.image_size, in_channels=data.in_channels)
    return out


def _model_config(method_cfg: Any, data: ImageDataConfig) -> dict[str, Any]:
    return {"method": to_dict(method_cfg), "data": to_dict(data)}


def _epoch_steps(n_train: int, batch_size: int) -> int:
    return max(1, math.ceil(n_train / batch_size))


def build_joint_embedding(cfg: JointEmbeddingRunConfig) -> RunSpec:
    """The run of a joint-embedding preset config."""
    cfg.validate()
    splits = load_image_splits(cfg.data)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone = _resolved_backbone(cfg.model.backbone, cfg.data)
    torch.manual_seed(cfg.train.seed)
    method = JointEmbedding(model_cfg)
    source = TwoViewSource(splits.train.images, splits.train.labels, batch_size=cfg.batch_size,
                           augment=cfg.augment, mean=splits.mean, std=splits.std, seed=cfg.train.seed)
    callbacks = [probe_callback(splits, every=cfg.probe.every, batch_size=cfg.probe.batch_size)]
    return RunSpec(kind=KIND_JOINT, method=method, source=source, train=cfg.train,
                   model_config=_model_config(model_cfg, cfg.data), batch_size=cfg.batch_size, callbacks=callbacks)


def build_ijepa(cfg: IJEPARunConfig) -> RunSpec:
    """The run of an I-JEPA preset config."""
    cfg.validate()
    splits = load_image_splits(cfg.data)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.encoder = _resolved_vit(cfg.model.encoder, cfg.data)
    torch.manual_seed(cfg.train.seed)
    method = IJEPA(model_cfg)
    sampler = MultiBlockMaskSampler(cfg.masks, model_cfg.encoder.grid)
    source = MaskedImageSource(splits.train.images, splits.train.labels, batch_size=cfg.batch_size, masks=sampler,
                               mean=splits.mean, std=splits.std, augment=cfg.augment if cfg.use_augment else None,
                               seed=cfg.train.seed)
    callbacks = [probe_callback(splits, every=cfg.probe.every, batch_size=cfg.probe.batch_size)]
    return RunSpec(kind=KIND_IJEPA, method=method, source=source, train=cfg.train,
                   model_config=_model_config(model_cfg, cfg.data), batch_size=cfg.batch_size, callbacks=callbacks)


def rebuild_joint_embedding(model_config: dict[str, Any]) -> JointEmbedding:
    """METHOD_BUILDERS["joint_embedding"]: an untrained method from a saved model_config."""
    return JointEmbedding(from_dict(JointEmbeddingConfig, model_config["method"]))


def rebuild_ijepa(model_config: dict[str, Any]) -> IJEPA:
    """METHOD_BUILDERS["ijepa"]: an untrained method from a saved model_config."""
    return IJEPA(from_dict(IJEPAConfig, model_config["method"]))


# ------------------------------------------------------------------------------------- defaults

DIGITS_TRAIN = 1442
"""Train images of the digits split (for steps per epoch)."""


def _vit_small() -> ViTConfig:
    """The CPU default: 4 blocks of width 96 on 8x8-pixel patches (16 tokens at 32x32)."""
    return ViTConfig(patch_size=8, dim=96, depth=4, heads=4, mlp_ratio=2.0, pos="sincos")


def _data(dataset: str) -> ImageDataConfig:
    return ImageDataConfig(name=dataset, image_size=32)


def _augment(dataset: str) -> AugmentConfig:
    if dataset == "digits":  # greyscale, and flips change digits
        return AugmentConfig(crop_scale=(0.3, 1.0), flip_p=0.0, jitter_p=0.8, brightness=0.4, contrast=0.4,
                             saturation=0.0, hue=0.0, grayscale_p=0.0, blur_p=0.5, blur_sigma=(0.1, 1.0))
    return AugmentConfig(crop_scale=(0.3, 1.0), flip_p=0.5, blur_sigma=(0.1, 1.0))


def _train(dataset: str, *, steps: int, lr: float, batch_size: int, warmup: int = 50,
           weight_decay: float = 0.05) -> TrainConfig:
    n_train = DIGITS_TRAIN if dataset == "digits" else ImageDataConfig().shapes_train
    return TrainConfig(steps=steps, lr=lr, weight_decay=weight_decay, warmup_steps=warmup, min_lr_ratio=0.01,
                       log_every=10, diag_every=_epoch_steps(n_train, batch_size), ckpt_every=200)


METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "vicreg": {"lr": 2e-3},
    "sigreg": {"lr": 2e-3},
    "infonce": {"lr": 2e-3},
    "byol": {"lr": 2e-3},
    "simsiam": {"lr": 2e-3},
    "dino": {"lr": 2e-3},
}
"""Per-objective learning rate (and other preset knobs) measured on the digits."""


def joint_embedding_config(objective: str, dataset: str) -> JointEmbeddingRunConfig:
    """The default config of preset ``{objective}-{dataset}``."""
    knobs = METHOD_DEFAULTS[objective]
    batch = 128 if dataset == "digits" else 256
    steps = 600 if dataset == "digits" else 1500
    model = JointEmbeddingConfig(
        objective=objective,
        backbone=BackboneConfig(kind="vit", vit=_vit_small()),
        projector=HeadConfig(hidden=512, out_dim=256, layers=2, norm="bn"),
        predictor=HeadConfig(hidden=128, out_dim=256, layers=2, norm="bn"),
        dino=_dino_settings(),
    )
    if objective == "simsiam":
        model.projector.last_norm = True
    if objective == "dino":
        model.ema.base = 0.996
    return JointEmbeddingRunConfig(
        model=model, data=_data(dataset), augment=_augment(dataset), batch_size=batch,
        probe=ProbeConfig(every=200 if dataset == "digits" else 500),
        train=_train(dataset, steps=steps, lr=knobs["lr"], batch_size=batch),
    )


def _dino_settings() -> DINOSettings:
    # BatchNorm in the head: without it the ViT's common offset sends DINO to the uniform solution
    # (teacher entropy = log K) on the digits; K = 256 prototypes suffice for 10 classes.
    return DINOSettings(head=DINOHeadConfig(hidden=512, bottleneck=64, out_dim=256, layers=3, norm="bn"),
                        teacher_temp_warmup_steps=200)


def ijepa_config(dataset: str) -> IJEPARunConfig:
    """The default config of preset ``ijepa-{dataset}``."""
    batch = 128 if dataset == "digits" else 256
    steps = 600 if dataset == "digits" else 1500
    model = IJEPAConfig(encoder=_vit_small(), predictor=ViTPredictorConfig(dim=64, depth=3, heads=4))
    return IJEPARunConfig(
        model=model, data=_data(dataset), masks=MaskConfig(), batch_size=batch,
        probe=ProbeConfig(every=200 if dataset == "digits" else 500),
        train=_train(dataset, steps=steps, lr=2e-3, batch_size=batch),
    )


SSL_ENCODER_ENVS = {"two-rooms": "two_rooms", "maze": "maze"}
"""Preset prefix -> image dataset of the environment's frames."""


def ssl_encoder_config(env: str) -> IJEPARunConfig:
    """``two-rooms-ssl-encoder`` / ``maze-ssl-encoder``: I-JEPA, a 4-block ViT of width 64 on 8 px patches of the
    64 px frames (8 x 8 tokens); about 6 minutes on 2 cores (train.time_budget_s stops it at 7)."""
    model = IJEPAConfig(encoder=ViTConfig(patch_size=8, dim=64, depth=4, heads=4, mlp_ratio=2.0, pos="sincos"),
                        predictor=ViTPredictorConfig(dim=48, depth=2, heads=4))
    train = TrainConfig(steps=700, lr=2e-3, weight_decay=0.05, warmup_steps=50, min_lr_ratio=0.01, log_every=10,
                        diag_every=100, ckpt_every=200, time_budget_s=420.0)
    return IJEPARunConfig(model=model, data=ImageDataConfig(name=env, image_size=64), masks=MaskConfig(),
                          batch_size=64, probe=ProbeConfig(every=350), train=train)


def _register() -> None:
    for prefix, env in SSL_ENCODER_ENVS.items():
        register_preset(Preset(
            name=f"{prefix}-ssl-encoder",
            config=lambda e=env: ssl_encoder_config(e),
            build=build_ijepa,
            help=f"I-JEPA ViT on {env} frames: the pretrained encoder of --preset {prefix}-frozen (~6 min)",
        ))
    register_method(KIND_JOINT, rebuild_joint_embedding)
    register_method(KIND_IJEPA, rebuild_ijepa)
    for dataset in SSL_DATASETS:
        register_preset(Preset(
            name=f"ijepa-{dataset}",
            config=lambda d=dataset: ijepa_config(d),
            build=build_ijepa,
            help=f"I-JEPA (ViT context encoder, EMA target, multi-block masks) on {dataset}",
        ))
        for objective in JOINT_METHODS:
            register_preset(Preset(
                name=f"{objective}-{dataset}",
                config=lambda o=objective, d=dataset: joint_embedding_config(o, d),
                build=build_joint_embedding,
                help=f"joint-embedding SSL with the {objective} objective on {dataset} (two augmented views)",
            ))


_register()
