"""Labelled image datasets held in memory as uint8 tensors, with a fixed train/test split.

Every loader (digits, shapes, image folder, CIFAR-10) returns an :class:`ImageSplits`: a train and a
test :class:`ImageDataset` plus the per-channel mean and std of the train images, which
:func:`normalize` uses to turn uint8 images into the float inputs of the encoders. The labels are
only used by the evaluation probes, never by self-supervised training.

Examples:
    >>> import torch
    >>> ds = ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]), ("a", "b"))
    >>> len(ds), ds.num_classes, ds.image_shape
    (4, 2, (1, 8, 8))
    >>> splits = ImageSplits.from_datasets(ds, ds)
    >>> normalize(ds.images, splits.mean, splits.std).shape
    torch.Size([4, 1, 8, 8])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, C, H, W) uint8 with labels (N,) int64 in ``[0, len(classes))``."""

    images: Tensor
    """(N, C, H, W) uint8."""
    labels: Tensor
    """(N,) int64 class indices."""
    classes: tuple[str, ...]
    """Class names, index = label."""

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        if not isinstance(x, Tensor) or x.ndim != 4 or x.dtype != torch.uint8:
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"ImageDataset.images must be a (N, C, H, W) uint8 tensor, got {got}")
        if not isinstance(y, Tensor) or y.ndim != 1 or y.shape[0] != x.shape[0]:
            got = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise ValueError(f"ImageDataset.labels must be ({x.shape[0]},) to match the images, got {got}")
        if y.dtype != torch.int64:
            object.__setattr__(self, "labels", y.long())
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
            raise ValueError(f"ImageDataset.labels must lie in [0, {len(self.classes)}), "
                             f"got range [{int(y.min())}, {int(y.max())}]")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def subset(self, index: Tensor) -> ImageDataset:
        """The samples ``index`` (a long or bool tensor)."""
        return ImageDataset(self.images[index], self.labels[index], self.classes)


@dataclass(frozen=True)
class ImageSplits:
    """The fixed train and test splits of one dataset, and the train images' channel statistics."""

    train: ImageDataset
    """Self-supervised training and probe fitting use this split."""
    test: ImageDataset
    """Probe accuracy is measured on this split (never trained on)."""
    mean: tuple[float, ...]
    """Per-channel mean of the train images, in [0, 1] units."""
    std: tuple[float, ...]
    """Per-channel std of the train images, in [0, 1] units."""

    def __post_init__(self) -> None:
        if self.train.image_shape != self.test.image_shape:
            raise ValueError(f"train and test images differ in shape: {self.train.image_shape} "
                             f"vs {self.test.image_shape}")
        if self.train.classes != self.test.classes:
            raise ValueError("train and test splits must share their class list")

    @classmethod
    def from_datasets(cls, train: ImageDataset, test: ImageDataset) -> ImageSplits:
        """Splits with mean/std measured on ``train``."""
        x = train.images.double() / 255.0  # (N, C, H, W)
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
        return cls(train, test, tuple(float(v) for v in mean), tuple(float(v) for v in std))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return self.train.image_shape


def to_float(images: Tensor) -> Tensor:
    """uint8 (..., C, H, W) -> float32 in [0, 1]; float input is returned as float32 unchanged."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def normalize(images: Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    """(B, C, H, W) uint8 or [0, 1] float -> float32 ``(x - mean) / std`` per channel."""
    x = to_float(images)
    if x.ndim < 3 or x.shape[-3] != len(mean) or len(mean) != len(std):
        raise ValueError(f"normalize: images {tuple(images.shape)} need C = len(mean) = len(std), "
                         f"got {len(mean)} and {len(std)}")
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x - m) / s


def every_kth_per_class(labels: Tensor, k: int = 5) -> Tensor:
    """Deterministic stratified split: bool (N,) marking the k-th, 2k-th, ... sample of each class.

    No random numbers: within each class, in dataset order, samples ``k-1, 2k-1, ...`` go to the
    test split (1/k of every class).

    Examples:
        >>> every_kth_per_class(torch.tensor([0, 0, 1, 0, 1, 1]), k=2).tolist()
        [False, True, False, False, True, False]
    """
    if k < 2:
        raise ValueError(f"every_kth_per_class: k must be >= 2, got {k}")
    test = torch.zeros(labels.shape[0], dtype=torch.bool)
    for c in labels.unique():
        idx = (labels == c).nonzero().squeeze(1)
        test[idx[k - 1 :: k]] = True
    return test


def resize_uint8(images: Tensor, size: int) -> Tensor:
    """Bilinear (antialiased when shrinking) resize of (N, C, H, W) images to (N, C, size, size), uint8."""
    if images.shape[-2:] == (size, size):
        return images.to(torch.uint8) if images.dtype == torch.uint8 else (images.clamp(0, 1) * 255).round().byte()
    x = to_float(images)
    shrink = size < max(images.shape[-2:])
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def crop_or_pad(images: Tensor, size: int) -> Tensor:
    """Centre-crop or zero-pad the last two dims of (..., H, W) to (..., size, size); no resampling.

    One pixel stays one pixel: an odd surplus is cut from the bottom/right, an odd deficit padded there.
    The image datasets of trajectory frames and the frozen-backbone world model use the same rule, so an
    encoder sees the environment's observations exactly as it saw its training images.

    Examples:
        >>> crop_or_pad(torch.ones(2, 1, 65, 65), 64).shape, crop_or_pad(torch.ones(1, 5, 5), 8).shape
        (torch.Size([2, 1, 64, 64]), torch.Size([1, 8, 8]))
        >>> crop_or_pad(torch.arange(9.0).view(3, 3), 2).tolist()
        [[0.0, 1.0], [3.0, 4.0]]
    """
    if size < 1 or images.ndim < 2:
        raise ValueError(f"crop_or_pad needs size >= 1 and images (..., H, W), got {size} and {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if h > size or w > size:
        top, left = max(h - size, 0) // 2, max(w - size, 0) // 2
        images = images[..., top:top + min(size, h), left:left + min(size, w)]
    h, w = images.shape[-2:]
    if h < size or w < size:
        pad_top, pad_left = (size - h) // 2, (size - w) // 2
        images = torch.nn.functional.pad(images, (pad_left, size - w - pad_left, pad_top, size - h - pad_top))
    return images
