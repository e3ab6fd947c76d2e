"""The embedded default image dataset: scikit-learn's real handwritten digits (UCI optdigits test set).

1,797 greyscale 8x8 images of the digits 0-9 (16 grey levels, about 180 per class), shipped inside
scikit-learn (``sklearn.datasets.load_digits``), so nothing is downloaded. They are upsampled
bilinearly to ``image_size`` (32 by default) and stored as uint8.

Fixed split, no random numbers: within each class, in the order of ``load_digits``, every 5th image
is a test image (355 test, 1,442 train).

Examples:
    >>> splits = load_digits_splits(image_size=16)
    >>> len(splits.train), len(splits.test), splits.image_shape
    (1442, 355, (1, 16, 16))
"""

from __future__ import annotations

import torch

from jepa_world.data.images.dataset import ImageDataset, ImageSplits, every_kth_per_class, resize_uint8

DIGIT_CLASSES = tuple(str(d) for d in range(10))
TEST_EVERY = 5
"""Every 5th image of each class is in the test split."""


def load_digits_raw() -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (1797, 1, 8, 8) float32 in [0, 1], labels (1797,) int64)`` from scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise RuntimeError(
            "the digits dataset needs scikit-learn (pip install scikit-learn); "
            "or train on data.name=shapes, which is generated"
        ) from e
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)


def load_digits_splits(image_size: int = 32) -> ImageSplits:
    """The digits, upsampled to ``image_size`` px, in the fixed train/test split."""
    if image_size < 8:
        raise ValueError(f"digits: image_size must be >= 8 (the images are 8x8), got {image_size}")
    images, labels = load_digits_raw()
    images = resize_uint8(images, image_size)  # (N, 1, S, S) uint8
    test = every_kth_per_class(labels, TEST_EVERY)
    full = ImageDataset(images, labels, DIGIT_CLASSES)
    return ImageSplits.from_datasets(full.subset(~test), full.subset(test))
