"""Digit sprites and pasting them onto a canvas, vectorised over clips, frames and sprites.

Sprites are scikit-learn's real 8x8 handwritten digits (:func:`jepa_world.data.images.digits`),
upsampled bilinearly to ``size`` px: the train split's 1,442 images for training clips, the test
split's 355 for evaluation clips, so evaluation never sees a training digit.

Examples:
    >>> sprites = torch.full((1, 1, 2, 2), 200, dtype=torch.uint8)           # (N, K, S, S)
    >>> frames = paste(sprites, torch.tensor([[[[1, 2]]]]), image_size=4)    # top-left (x, y) = (1, 2)
    >>> frames[0, 0].tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0], [0, 200, 200, 0], [0, 200, 200, 0]]
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import torch
from torch import Tensor

from jepa_world.data.images.digits import load_digits_splits

Split = Literal["train", "test"]


@lru_cache(maxsize=8)
def digit_sprites(size: int, split: Split = "train") -> tuple[Tensor, Tensor]:
    """``(sprites (N, size, size) uint8, labels (N,) int64)``: the digits of ``split``, upsampled.

    Cached: the tensors are shared between callers, who must not modify them.
    """
    if split not in ("train", "test"):
        raise ValueError(f"digit_sprites: split must be 'train' or 'test', got {split!r}")
    splits = load_digits_splits(image_size=size)
    part = splits.train if split == "train" else splits.test
    return part.images[:, 0].contiguous(), part.labels


def paste(sprites: Tensor, top_left: Tensor, *, image_size: int) -> Tensor:
    """Draw every sprite of a clip at its top-left corner in every frame; overlaps keep the maximum.

    Args:
        sprites: (N, K, S, S) uint8, K sprites per clip.
        top_left: (N, T, K, 2) integer (x, y) corners, each in ``[0, image_size - S]``.
        image_size: H = W of the canvas.

    Returns:
        (N, T, H, W) uint8 frames.
    """
    n, k, s = sprites.shape[0], sprites.shape[1], sprites.shape[-1]
    if sprites.ndim != 4 or top_left.ndim != 4 or top_left.shape[0] != n or top_left.shape[2:] != (k, 2):
        raise ValueError(f"paste: expected sprites (N, K, S, S) and top_left (N, T, K, 2), got "
                         f"{tuple(sprites.shape)} and {tuple(top_left.shape)}")
    if bool((top_left < 0).any()) or bool((top_left > image_size - s).any()):
        raise ValueError(f"paste: corners must lie in [0, {image_size - s}] so {s}px sprites fit a "
                         f"{image_size}px canvas, got range [{int(top_left.min())}, {int(top_left.max())}]")
    t = top_left.shape[1]
    offsets = torch.arange(s)
    x = top_left[..., 0, None, None] + offsets  # (N, T, K, 1, S): columns
    y = top_left[..., 1, None, None] + offsets[:, None]  # (N, T, K, S, 1): rows
    flat = (y * image_size + x).reshape(n * t, k * s * s)  # (N*T, K*S*S) canvas indices
    values = sprites[:, None].expand(n, t, k, s, s).reshape(n * t, k * s * s)
    canvas = torch.zeros(n * t, image_size * image_size, dtype=torch.uint8)
    canvas.scatter_reduce_(1, flat, values, reduce="amax")
    return canvas.view(n, t, image_size, image_size)
