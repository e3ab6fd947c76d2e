"""Video JEPA presets: ``jepa-world train --preset video-digits`` (and its -sigreg / -ema variants).

* ``video-digits``: VICReg-regularised, online targets (the default);
* ``video-digits-sigreg``: SIGReg instead of VICReg;
* ``video-digits-ema``: EMA target encoder under stop-gradient (distillation family).

A preset config is a nested dataclass (``model``, ``data``, ``batch_size``, ``train``) that ``key=value``
overrides edit, e.g. ``train.steps=3000`` or ``data.name=moving_mnist data.path=mnist_test_seq.npy``.
The saved ``model_config`` is ``{"method": <VideoJEPAConfig>, "data": <VideoDataConfig>}``: enough to
rebuild the method (kind ``"video_jepa"``) and to make its evaluation clips (``jepa-world eval-video``).

Defaults are tuned for a 2-core CPU: 10-frame 64x64 clips, batch 32, a patchify CNN encoder to an 8x8
map of 32 channels, a 3-layer convolutional predictor over the last 2 maps; docs/video.md lists the
measured numbers.

Examples:
    >>> from jepa_world.presets import get_preset
    >>> cfg = get_preset("video-digits").config()
    >>> cfg.model.regularizer, cfg.data.num_frames, cfg.batch_size
    ('vicreg', 10, 32)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch

from jepa_world.config import from_dict, to_dict
from jepa_world.data.video.source import VideoDataConfig, VideoSource
from jepa_world.methods.video_jepa import VideoJEPA, VideoJEPAConfig
from jepa_world.nn.frame_encoder import FrameEncoderConfig
from jepa_world.nn.frame_predictor import FramePredictorConfig
from jepa_world.presets import Preset, RunSpec, register_method, register_preset
from jepa_world.train.config import TrainConfig

KIND_VIDEO = "video_jepa"


@dataclass
class VideoRunConfig:
    """A video JEPA run: method, clips, batch, optimisation."""

    model: VideoJEPAConfig = field(default_factory=VideoJEPAConfig)
    """The method (encoder, predictor, anti-collapse); encoder.image_size is taken from the data."""
    data: VideoDataConfig = field(default_factory=VideoDataConfig)
    """The training clips."""
    batch_size: int = 32
    """Clips per step."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation and bookkeeping (train.seed also seeds the model's initialisation and the clips)."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.data.validate()
        resolved_model(self).validate()
        self.train.validate()
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (the regularisers need a batch), got {self.batch_size}")
        if self.data.num_frames <= self.model.context:
            raise ValueError(f"data.num_frames ({self.data.num_frames}) must exceed the context "
                             f"model.predictor.context ({self.model.context})")


def resolved_model(cfg: VideoRunConfig) -> VideoJEPAConfig:
    """The model config with the encoder's input size taken from the data."""
    model = copy.deepcopy(cfg.model)
    model.encoder.image_size = cfg.data.image_size
    model.encoder.in_channels = 1
    return model


def build_video(cfg: VideoRunConfig) -> RunSpec:
    """The run of a video preset config."""
    cfg.validate()
    model_cfg = resolved_model(cfg)
    torch.manual_seed(cfg.train.seed)
    method = VideoJEPA(model_cfg)
    source = VideoSource(cfg.data, batch_size=cfg.batch_size, seed=cfg.train.seed)
    model_config = {"method": to_dict(model_cfg), "data": to_dict(cfg.data)}
    return RunSpec(kind=KIND_VIDEO, method=method, source=source, train=cfg.train, model_config=model_config,
                   batch_size=cfg.batch_size)


def rebuild_video(model_config: dict[str, Any]) -> VideoJEPA:
    """METHOD_BUILDERS["video_jepa"]: an untrained method from a saved model_config."""
    return VideoJEPA(from_dict(VideoJEPAConfig, model_config["method"]))


def video_config(variant: str = "vicreg") -> VideoRunConfig:
    """The default config of ``video-digits`` (variant ``vicreg``), ``-sigreg`` or ``-ema``."""
    model = VideoJEPAConfig(
        encoder=FrameEncoderConfig(patch=4, stem_channels=32, channels=(64,), dim=32),
        predictor=FramePredictorConfig(dim=32, context=2, hidden=64, layers=3),
        regularizer="vicreg", pred_weight=10.0, var_weight=25.0, cov_weight=1.0,
    )
    if variant == "sigreg":
        model.regularizer, model.sigreg_weight = "sigreg", 1.0
    elif variant == "ema":
        model.target = "ema"
    elif variant != "vicreg":
        raise ValueError(f"unknown video preset variant {variant!r}; valid: ['ema', 'sigreg', 'vicreg']")
    train = TrainConfig(steps=1500, lr=2e-3, weight_decay=0.01, warmup_steps=50, min_lr_ratio=0.05,
                        log_every=10, diag_every=100, ckpt_every=250)
    return VideoRunConfig(model=model, data=VideoDataConfig(), batch_size=32, train=train)


VARIANTS = {
    "video-digits": ("vicreg", "video JEPA on moving digits: predict next-frame representations, VICReg"),
    "video-digits-sigreg": ("sigreg", "video JEPA on moving digits, SIGReg instead of VICReg"),
    "video-digits-ema": ("ema", "video JEPA on moving digits, EMA target encoder (stop-gradient)"),
}
"""Preset name -> (variant, help)."""


def _register() -> None:
    register_method(KIND_VIDEO, rebuild_video)
    for name, (variant, help_text) in VARIANTS.items():
        register_preset(Preset(name=name, config=lambda v=variant: video_config(v), build=build_video,
                               help=help_text))


_register()
