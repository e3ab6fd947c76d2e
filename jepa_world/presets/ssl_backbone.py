"""The backbone of an image-SSL run, ready to be frozen inside a world model: ``encoder=RUN_DIR``.

Any run of the image-SSL zoo with a backbone serves: I-JEPA (kind ``"ijepa"``: its EMA *target* ViT, the
encoder the paper evaluates) or a joint-embedding method (kind ``"joint_embedding"``: its ViT or ResNet
backbone). :func:`load_ssl_backbone` checks the run against the environment's observations and returns
the :class:`~jepa_world.nn.spatial_backbone.SpatialBackboneConfig` describing it (shape, input crop,
the run's per-channel normalisation) and the backbone's weights. Every mismatch is one ValueError line
naming what was expected and what was got: a missing directory, a run of another kind (a world model,
a video model), images of another channel count, or of a size the crop/pad cannot bridge.

It sits in ``presets`` (the frozen presets call it) and so cannot use ``runs.load.load_method`` (the
``runs`` layer is above ``presets``); both take the run's weights by the one rule of
:func:`jepa_world.train.run_weights.load_run_weights`.

Examples:
    >>> load_ssl_backbone("no/such/run", in_channels=2, image_size=65)   # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UserError: encoder=no/such/run: no such run directory; ...
"""

from __future__ import annotations

import copy
from pathlib import Path

from torch import Tensor, nn

from jepa_world.config import from_dict
from jepa_world.data.images.registry import ImageDataConfig, load_image_splits
from jepa_world.errors import UserError
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.spatial_backbone import SpatialBackboneConfig
from jepa_world.presets import build_method
from jepa_world.train.loop import RunPaths, read_run_config
from jepa_world.train.run_weights import load_run_weights

SSL_KINDS = ("ijepa", "joint_embedding")
"""Run kinds whose backbone can be frozen as a world-model encoder."""
MAX_FIT_PX = 8
"""Largest difference between the observation's side and the encoder's training image side (px) that the
centre crop / zero pad bridges; beyond it the encoder would see another image than it learned on."""
RECIPE = ("jepa-world train --preset two-rooms-ssl-encoder --run-dir runs/enc, then "
          "jepa-world train --preset two-rooms-frozen encoder=runs/enc")
"""The two-step recipe, for error messages."""


def load_ssl_backbone(run_dir: Path | str, *, in_channels: int, image_size: int
                      ) -> tuple[BackboneConfig, ImageDataConfig, dict[str, Tensor], tuple, tuple]:
    """(backbone config, the run's image data config, backbone state dict, image mean, image std) of an SSL run.

    ``in_channels`` and ``image_size`` describe the observations the backbone will encode (C and H = W).
    """
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"encoder={run_dir}: no such run directory; expected an image-SSL run directory "
                        f"(kind {' or '.join(SSL_KINDS)}) or encoder=random; recipe: {RECIPE}")
    if not paths.config.is_file():
        raise UserError(f"encoder={run_dir}: no config.json; expected a finished image-SSL run directory")
    config = read_run_config(paths.config)
    kind = config["kind"]
    if kind not in SSL_KINDS:
        raise UserError(f"encoder={run_dir} is a {kind!r} run; expected an image-SSL run with a backbone "
                        f"(kind {' or '.join(repr(k) for k in SSL_KINDS)}), e.g. from --preset two-rooms-ssl-encoder")
    data = from_dict(ImageDataConfig, config["model"]["data"])
    if data.in_channels != in_channels:
        raise UserError(f"encoder={run_dir} was trained on {data.in_channels}-channel images ({data.name}); "
                        f"the environment's observations have {in_channels} channels")
    if abs(data.image_size - image_size) > MAX_FIT_PX:
        raise UserError(f"encoder={run_dir} was trained on {data.image_size}x{data.image_size} images ({data.name}); "
                        f"the environment's observations are {image_size}x{image_size}: expected a training size "
                        f"within {MAX_FIT_PX} px of it (the frozen encoder crops or pads, it never resamples)")
    method = _load(run_dir, config)
    backbone, module = _backbone(method, kind)
    splits = load_image_splits(data)
    return backbone, data, module.state_dict(), splits.mean, splits.std


def _load(run_dir: Path, config: dict) -> nn.Module:
    """The SSL method of a run directory with its weights, in eval mode."""
    paths = RunPaths(run_dir)
    if not (paths.checkpoint.is_file() or paths.weights.is_file()):
        raise UserError(f"encoder={run_dir}: no weights (neither checkpoints/last.pt nor model.safetensors)")
    method = build_method(config["kind"], config["model"])
    load_run_weights(method, run_dir, kind=config["kind"])
    return method.eval()


def _backbone(method: nn.Module, kind: str) -> tuple[BackboneConfig, nn.Module]:
    """The backbone config and module of a loaded SSL method."""
    if kind == "ijepa":
        return BackboneConfig(kind="vit", vit=copy.deepcopy(method.config.encoder)), method.target_encoder.module
    return copy.deepcopy(method.config.backbone), method.backbone


def spatial_backbone_config(backbone: BackboneConfig, *, in_channels: int, image_size: int, input_size: int,
                            mean: tuple, std: tuple, base: SpatialBackboneConfig, source: str
                            ) -> SpatialBackboneConfig:
    """``base`` (projection settings) with the backbone, the observation and the SSL run's input statistics."""
    out = copy.deepcopy(base)
    out.backbone, out.in_channels, out.image_size, out.input_size = backbone, in_channels, image_size, input_size
    out.input_mean, out.input_std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    out.source = source
    return out
