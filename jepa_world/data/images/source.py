"""Deterministic batch sources over an in-memory image dataset: ``source(step) -> batch``.

The images of step ``s`` are chunk ``c = shard.chunk(s)`` of :class:`~jepa_world.data.sharding.EpochStream`
(positions ``[c B, (c + 1) B)`` of an endless stream of shuffled epochs; epoch ``e`` is a permutation
seeded by ``(seed, e)``); augmentations and masks use a generator seeded by ``(seed, c)``. With one
process ``c = s``. Nothing depends on earlier calls, so a resumed run sees exactly the batches of an
uninterrupted one, and ``source(s)`` can be called in any order.

Under DDP (:meth:`set_shard`, the rule of ``data/sharding.py``) the ranks read disjoint chunks: within
an epoch no image is read by two ranks, and the position survives a change of the number of processes.

* :class:`TwoViewSource`: ``{"views": (V, B, C, H, W), "labels": (B,)}``, V augmented views.
* :class:`MaskedImageSource`: ``{"images": (B, C, H, W), "context_idx": (B, Nc),
  "target_idx": (B, M, Nt), "labels": (B,)}`` for I-JEPA.

Images are normalised with the dataset's channel mean and std after augmentation.

Examples:
    >>> import torch
    >>> from jepa_world.data.images.augment import AugmentConfig
    >>> images = torch.randint(0, 256, (10, 1, 16, 16), dtype=torch.uint8)
    >>> src = TwoViewSource(images, torch.arange(10), batch_size=4, augment=AugmentConfig(), mean=(0.5,), std=(0.25,))
    >>> src(3)["views"].shape
    torch.Size([2, 4, 1, 16, 16])
    >>> bool(torch.equal(src(3)["views"], src(3)["views"]))
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from jepa_world.data.images.augment import AugmentConfig, augment
from jepa_world.data.images.dataset import normalize, to_float
from jepa_world.data.images.masks import MultiBlockMaskSampler
from jepa_world.data.seeds import mixed_seed
from jepa_world.data.sharding import EpochStream, StreamShard


class _ImageSource:
    def __init__(self, images: Tensor, labels: Tensor | None, *, batch_size: int, seed: int,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        if images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
        if labels is not None and labels.shape != (images.shape[0],):
            raise ValueError(f"labels must be ({images.shape[0]},), got {tuple(labels.shape)}")
        self.images, self.labels = images, labels
        self.mean, self.std = tuple(mean), tuple(std)
        self.batch_size, self.seed = batch_size, seed
        self.epochs = EpochStream(images.shape[0], batch_size, seed)
        self.shard = StreamShard()

    def set_shard(self, shard: StreamShard) -> None:
        """Serve this rank's chunks of the global stream (see the module docstring)."""
        self.shard = shard

    def indices(self, step: int) -> Tensor:
        """The image indices (B,) of step ``step``."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return self.epochs.indices(self.shard.chunk(step))

    def _generator(self, step: int) -> torch.Generator:
        return torch.Generator().manual_seed(mixed_seed(self.seed, self.shard.chunk(step), 0xA06))

    def _labels(self, idx: Tensor) -> Tensor:
        return self.labels[idx] if self.labels is not None else torch.full((idx.numel(),), -1, dtype=torch.long)


class TwoViewSource(_ImageSource):
    """``source(step) -> {"views": (V, B, C, H, W) float, "labels": (B,)}`` with V augmented views."""

    def __init__(self, images: Tensor, labels: Tensor | None, *, batch_size: int, augment: AugmentConfig,
                 mean: tuple[float, ...], std: tuple[float, ...], views: int = 2, seed: int = 0) -> None:
        super().__init__(images, labels, batch_size=batch_size, seed=seed, mean=mean, std=std)
        augment.validate()
        if views < 2:
            raise ValueError(f"TwoViewSource: views must be >= 2, got {views}")
        self.augment_config, self.views = augment, views

    def __call__(self, step: int) -> dict[str, Any]:
        idx = self.indices(step)
        g = self._generator(step)
        x = to_float(self.images[idx])  # (B, C, H, W) in [0, 1]
        views = torch.stack([normalize(augment(x, self.augment_config, generator=g), self.mean, self.std)
                             for _ in range(self.views)])  # (V, B, C, H, W)
        return {"views": views, "labels": self._labels(idx)}


class MaskedImageSource(_ImageSource):
    """``source(step) -> {"images", "context_idx", "target_idx", "labels"}`` for I-JEPA (see module doc)."""

    def __init__(self, images: Tensor, labels: Tensor | None, *, batch_size: int, masks: MultiBlockMaskSampler,
                 mean: tuple[float, ...], std: tuple[float, ...], augment: AugmentConfig | None = None,
                 seed: int = 0) -> None:
        super().__init__(images, labels, batch_size=batch_size, seed=seed, mean=mean, std=std)
        if augment is not None:
            augment.validate()
        self.masks, self.augment_config = masks, augment

    def __call__(self, step: int) -> dict[str, Any]:
        idx = self.indices(step)
        g = self._generator(step)
        x = to_float(self.images[idx])
        if self.augment_config is not None:
            x = augment(x, self.augment_config, generator=g)
        m = self.masks(idx.numel(), generator=g)
        return {"images": normalize(x, self.mean, self.std), "context_idx": m.context_idx,
                "target_idx": m.target_idx, "labels": self._labels(idx)}
