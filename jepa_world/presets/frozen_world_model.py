"""Frozen-encoder world-model presets: ``two-rooms-frozen``, ``maze-frozen`` (the DINO-WM recipe, our own SSL).

Two steps: pretrain an encoder on the environment's frames alone with a method of the image-SSL zoo, then
train the generic world model's predictor on top of it, frozen::

    jepa-world train --preset two-rooms-ssl-encoder --run-dir runs/enc
    jepa-world train --preset two-rooms-frozen encoder=runs/enc

``encoder=RUN_DIR`` takes the backbone of any image-SSL run (I-JEPA's target ViT, or a joint-embedding
method's ViT / ResNet; :mod:`jepa_world.presets.ssl_backbone` checks its kind, channels and image size);
``encoder=random`` is the control, a frozen randomly initialised backbone of the same shape
(``model.backbone.backbone``, by default the ``two-rooms-ssl-encoder`` ViT). The backbone is read out as a
feature map (:mod:`jepa_world.nn.spatial_backbone`) and projected to ``model.backbone.latent_channels``
channels by a fixed PCA fitted on frames of the training distribution; everything else — the spatial
predictor, the loss, frameskip, the data — is the ``two-rooms-generic`` recipe.

The frozen encoder's features of a fixed set of training windows are computed once
(:mod:`jepa_world.data.feature_cache`) and the predictor trains on them: no image is encoded during
training. The cache is stored beside the encoder, ``<encoder run>/feature_cache.safetensors`` (shared by
every frozen run on that encoder; ``cache.path`` moves it; memory only for ``encoder=random``), keyed by
the sha256 of the encoder's weights, the data config and the frameskip: a cache of another encoder or data
is rebuilt, never reused.

The run saves ``architecture="spatial"`` with ``encoder_kind="backbone"`` and the backbone's config; the
frozen weights are in the world model's own file, so ``jepa-world eval RUN`` needs nothing else.

Examples:
    >>> cfg = frozen_config()
    >>> cfg.model.encoder_kind, cfg.model.freeze_encoder, cfg.model.latent_shape()
    ('backbone', True, (16, 8, 8))
"""

from __future__ import annotations

import copy
import logging
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from jepa_world.config import to_dict
from jepa_world.data.feature_cache import build_feature_cache, cache_key, load_or_build
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.errors import UserError
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.spatial_backbone import SpatialBackboneConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.presets import Preset, RunSpec, register_preset
from jepa_world.presets.ssl import ssl_encoder_config
from jepa_world.presets.ssl_backbone import RECIPE, load_ssl_backbone, spatial_backbone_config
from jepa_world.presets.world_model import KIND, SpatialRunConfig, make_stream, measure_input_stats, trained_env
from jepa_world.train.config import TrainConfig
from jepa_world.train.device import dist_info_from_env

log = logging.getLogger(__name__)

CACHE_FILE = "feature_cache.safetensors"
"""Name of the feature cache in the encoder's run directory."""
PCA_WINDOWS = 64
"""Training windows whose model-step frames fit the PCA projection (seed data_seed + 7919)."""


@dataclass
class FeatureCacheSettings:
    """The feature cache of the frozen encoder."""

    enabled: bool = True
    """Train on cached features (false: encode every batch's frames on the fly, the slow reference)."""
    windows: int = 8192
    """Training windows encoded once (each of data.length frames; the predictor samples them with replacement)."""
    seed: int = 1
    """Seed of the cached windows' trajectory stream (batches drawn from them use data_seed)."""
    chunk: int = 128
    """Windows generated and encoded per call while building."""
    path: str = ""
    """Cache file; empty = <encoder run>/feature_cache.safetensors, or memory only for encoder=random."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.windows < 1 or self.chunk < 1:
            raise ValueError(f"cache.windows and cache.chunk must be >= 1, got {self.windows}, {self.chunk}")


def _ssl_backbone() -> BackboneConfig:
    """The backbone of ``two-rooms-ssl-encoder``, set for the 2-channel 64 px crops of the 65 px frames."""
    vit = copy.deepcopy(ssl_encoder_config("two_rooms").model.encoder)
    vit.image_size, vit.in_channels = 64, 2
    return BackboneConfig(kind="vit", vit=vit)


def _frozen_model() -> SpatialWorldModelConfig:
    backbone = SpatialBackboneConfig(backbone=_ssl_backbone(), in_channels=2, image_size=65, input_size=64,
                                     projection="pca", latent_channels=16)
    return SpatialWorldModelConfig(encoder_kind="backbone", backbone=backbone, freeze_encoder=True,
                                   predictor=SpatialPredictorConfig(latent_channels=16, action_dim=10))


@dataclass
class FrozenRunConfig(SpatialRunConfig):
    """A generic world model over a frozen image-SSL encoder (or a frozen random one), on Two Rooms."""

    encoder: str = ""
    """The frozen encoder: an image-SSL run directory (e.g. from --preset two-rooms-ssl-encoder) or 'random'."""
    model: SpatialWorldModelConfig = field(default_factory=_frozen_model)
    """Backbone readout (its shape is replaced by the encoder run's), spatial predictor, loss, frameskip."""
    cache: FeatureCacheSettings = field(default_factory=FeatureCacheSettings)
    """Encode the training windows once and train the predictor on the cached features."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (predictor.latent_channels is set from the encoder at build)."""
        synced = copy.deepcopy(self)
        synced.model.predictor.latent_channels = synced.model.latent_shape()[0]
        SpatialRunConfig.validate(synced)
        self.cache.validate()
        if self.model.encoder_kind != "backbone" or not self.model.freeze_encoder:
            raise ValueError(f"a frozen preset needs model.encoder_kind=backbone and model.freeze_encoder=true, got "
                             f"{self.model.encoder_kind!r} and {self.model.freeze_encoder}")


@dataclass
class MazeFrozenRunConfig(FrozenRunConfig):
    """The frozen-encoder recipe on maze random walks."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per window)."""


def _frozen_train() -> TrainConfig:
    return TrainConfig(steps=8000, lr=1e-3, weight_decay=0.0, warmup_steps=100, time_budget_s=1080.0,
                       log_every=50, diag_every=500, ckpt_every=1000)


def frozen_config() -> FrozenRunConfig:
    """``two-rooms-frozen``: the two-rooms-generic data and predictor over a frozen encoder."""
    return FrozenRunConfig(batch_size=64, data=TwoRoomsDataConfig(length=21), train=_frozen_train())


def maze_frozen_config() -> MazeFrozenRunConfig:
    """``maze-frozen``: the same recipe (same model and hyperparameters) on 3 x 3 maze random walks."""
    return MazeFrozenRunConfig(batch_size=64, data=MazeDataConfig(length=21), train=_frozen_train())


def resolved_frozen_model(cfg: FrozenRunConfig) -> tuple[SpatialWorldModelConfig, dict | None, Path | None]:
    """(model config with the encoder's backbone and input statistics, backbone weights or None for random,
    the encoder run directory or None)."""
    name = cfg.encoder.strip()
    if not name:
        raise UserError(f"{type(cfg).__name__} needs encoder=RUN_DIR (an image-SSL run) or encoder=random; "
                        f"recipe: {RECIPE}")
    base = cfg.model.backbone
    channels, size = base.in_channels, base.image_size
    if name == "random":
        mean, std = measure_input_stats(cfg.data, seed=cfg.data_seed)
        backbone = spatial_backbone_config(base.backbone, in_channels=channels, image_size=size,
                                           input_size=base.input_size, mean=base.input_mean or mean,
                                           std=base.input_std or std, base=base, source="random")
        state, run_dir = None, None
    else:
        run_dir = Path(name)
        bb, data, state, mean, std = load_ssl_backbone(run_dir, in_channels=channels, image_size=size)
        backbone = spatial_backbone_config(bb, in_channels=channels, image_size=size, input_size=data.image_size,
                                           mean=mean, std=std, base=base, source=str(run_dir))
    backbone.validate()
    predictor = replace(cfg.model.predictor, latent_channels=backbone.latent_shape()[0])
    return replace(cfg.model, backbone=backbone, predictor=predictor), state, run_dir


def build_frozen_run(cfg: FrozenRunConfig) -> RunSpec:
    """config -> RunSpec: the world model with the frozen encoder, trained on cached features (or on the fly)."""
    cfg.validate()
    model_cfg, state, run_dir = resolved_frozen_model(cfg)
    torch.manual_seed(cfg.model_seed)
    method = SpatialWorldModel(model_cfg)
    if state is not None:
        method.encoder.backbone.load_state_dict(state)
    method.encoder.eval()
    if model_cfg.backbone.projection == "pca":
        obs = make_stream(cfg.data, PCA_WINDOWS, seed=cfg.data_seed + 7919)(0)["obs"]  # (B, L, C, H, W)
        method.encoder.fit_pca(obs[:, :: model_cfg.frameskip].flatten(0, 1))
    source: Any = make_stream(cfg.data, cfg.batch_size, seed=cfg.data_seed)
    if cfg.cache.enabled:
        source = frozen_feature_cache(cfg, method, run_dir)
    return RunSpec(kind=KIND, method=method, source=source, train=cfg.train,
                   model_config={"architecture": "spatial", "env": trained_env(cfg.data), **to_dict(model_cfg)},
                   batch_size=cfg.batch_size)


def frozen_feature_cache(cfg: FrozenRunConfig, method: SpatialWorldModel, run_dir: Path | None):
    """The run's feature cache: loaded when its key matches the encoder and data, else built (and saved)."""
    c = cfg.cache
    encoder = {k: v for k, v in to_dict(method.config.backbone).items() if k != "source"}  # incl. input statistics
    key = cache_key(method.encoder.state_dict(), data={"type": type(cfg.data).__name__, **to_dict(cfg.data),
                                                       "encoder": encoder},
                    frameskip=cfg.model.frameskip, windows=c.windows, seed=c.seed)
    path = Path(c.path) if c.path else (run_dir / CACHE_FILE if run_dir is not None else None)
    windows = make_stream(cfg.data, c.chunk, seed=c.seed)

    def build():
        with torch.no_grad():
            return build_feature_cache(windows, method.encode, windows=c.windows, frameskip=cfg.model.frameskip,
                                       batch_size=cfg.batch_size, seed=cfg.data_seed, key=key)

    cache, status = load_or_build(path, build, key=key, batch_size=cfg.batch_size, seed=cfg.data_seed,
                                  write=dist_info_from_env().is_main)  # under torchrun, rank 0 writes the file
    where = path if path is not None else "memory"
    line = (f"feature cache ({where}): {len(cache)} windows x {tuple(cache.features.shape[1:])} features, {status}; "
            f"{cache.build_seconds:.1f} s of encoding")
    log.info(line)
    print(line, file=sys.stderr, flush=True)  # the one-off cost of a run, shown by `jepa-world train`
    return cache


register_preset(Preset("two-rooms-frozen", config=frozen_config, build=build_frozen_run,
                       help="generic world model over a frozen SSL encoder (encoder=RUN_DIR | random), cached "
                            "features, Two Rooms"))
register_preset(Preset("maze-frozen", config=maze_frozen_config, build=build_frozen_run,
                       help="the two-rooms-frozen recipe on 3x3 maze random walks (encoder=RUN_DIR | random)"))
