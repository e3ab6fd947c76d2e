"""Image datasets by name: ``digits`` (embedded default), ``shapes`` (generated), ``folder``, ``cifar10``,
``two_rooms`` and ``maze`` (frames of the environments' random walks, labelled by the agent's grid cell;
:mod:`jepa_world.data.images.trajectory_frames`).

:class:`ImageDataConfig` names a dataset and its options; :func:`load_image_splits` returns its fixed
train/test :class:`~jepa_world.data.images.dataset.ImageSplits`. Generated and embedded datasets are
cached per process (the online probe and the training source share one copy).

Examples:
    >>> splits = load_image_splits(ImageDataConfig(name="digits", image_size=16))
    >>> splits.image_shape, splits.train.num_classes
    ((1, 16, 16), 10)
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from jepa_world.data.images.cifar10 import load_cifar10_splits
from jepa_world.data.images.dataset import ImageSplits
from jepa_world.data.images.digits import load_digits_splits
from jepa_world.data.images.folder import load_folder_splits
from jepa_world.data.images.shapes import load_shapes_splits
from jepa_world.data.images.trajectory_frames import ENVIRONMENTS, load_trajectory_frame_splits

DATASETS = ("digits", "shapes", "folder", "cifar10", *ENVIRONMENTS)
"""The names ``data.name`` accepts."""


@dataclass
class ImageDataConfig:
    """Which image dataset, at which resolution."""

    name: Literal["digits", "shapes", "folder", "cifar10", "two_rooms", "maze"] = "digits"
    """digits (scikit-learn's 1,797 handwritten digits) | shapes (generated) | folder | cifar10 |
    two_rooms | maze (environment frames, 2 channels)."""
    image_size: int = 32
    """Images are resized to image_size x image_size px (two_rooms, maze: centre-cropped or padded, not resampled)."""
    path: str = ""
    """folder: the image folder; cifar10: the cifar-10-batches-py folder (unused otherwise)."""
    channels: int = 3
    """folder only: 3 (RGB) or 1 (greyscale). Digits have 1 channel, shapes and CIFAR-10 have 3."""
    shapes_train: int = 10_000
    """shapes only: number of train images."""
    shapes_test: int = 2_000
    """shapes only: number of test images."""
    shapes_seed: int = 0
    """shapes only: seed of the train images (the test images use seed + 1)."""
    frames_train: int = 8_000
    """two_rooms, maze only: number of train frames."""
    frames_test: int = 2_000
    """two_rooms, maze only: number of test frames."""
    frames_seed: int = 0
    """two_rooms, maze only: seed of the train frames (the test frames use seed + 1)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.name not in DATASETS:
            raise ValueError(f"data.name must be one of {list(DATASETS)}, got {self.name!r}")
        if self.image_size < 8:
            raise ValueError(f"data.image_size must be >= 8, got {self.image_size}")
        if self.name in ("folder", "cifar10") and not self.path:
            raise ValueError(f"data.name={self.name} needs data.path (the dataset folder)")
        if self.channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 or 3, got {self.channels}")

    @property
    def in_channels(self) -> int:
        """Channels of the images this config loads."""
        return {"digits": 1, "shapes": 3, "cifar10": 3, "two_rooms": 2, "maze": 2}.get(self.name, self.channels)


def load_image_splits(config: ImageDataConfig) -> ImageSplits:
    """The fixed train/test splits of ``config`` (see each loader for its split rule)."""
    config.validate()
    return _cached(astuple(config))


@lru_cache(maxsize=4)
def _cached(key: tuple) -> ImageSplits:
    cfg = ImageDataConfig(*key)
    if cfg.name == "digits":
        return load_digits_splits(cfg.image_size)
    if cfg.name == "shapes":
        return load_shapes_splits(cfg.image_size, train=cfg.shapes_train, test=cfg.shapes_test, seed=cfg.shapes_seed)
    if cfg.name in ENVIRONMENTS:
        return load_trajectory_frame_splits(cfg.name, image_size=cfg.image_size, train=cfg.frames_train,
                                            test=cfg.frames_test, seed=cfg.frames_seed)
    if cfg.name == "folder":
        return load_folder_splits(Path(cfg.path), image_size=cfg.image_size, channels=cfg.channels)
    return load_cifar10_splits(Path(cfg.path), image_size=cfg.image_size)
