"""A procedurally generated shapes dataset: the class is the shape; everything else is random.

Six classes (:data:`SHAPE_CLASSES`): circle, square, triangle, hexagon, cross, star. Each RGB image
has a random background (a colour plus a random linear gradient) and one shape with random centre,
size, rotation and colour (kept away from the background colour). Shapes are rasterised at twice
the resolution and average-pooled (anti-aliasing). Generation is batched torch code, deterministic
for a given seed (labels cycle through the classes, so the splits are balanced).

Fixed split: the train images come from ``seed``, the test images from ``seed + 1``.

Examples:
    >>> import torch
    >>> images, labels = generate_shapes(12, image_size=16, generator=torch.Generator().manual_seed(0))
    >>> images.shape, images.dtype, labels[:7].tolist()
    (torch.Size([12, 3, 16, 16]), torch.uint8, [0, 1, 2, 3, 4, 5, 0])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from jepa_world.data.images.dataset import ImageDataset, ImageSplits

SHAPE_CLASSES = ("circle", "square", "triangle", "hexagon", "cross", "star")
"""Class names; label = index."""


def _regular_polygon(u: Tensor, v: Tensor, sides: int, rotation: float = 0.0) -> Tensor:
    """Inside a regular polygon of circumradius 1: every edge's half-plane ``<n_k, p> <= cos(pi / sides)``."""
    k = torch.arange(sides, dtype=u.dtype, device=u.device)
    phi = rotation + (2 * k + 1) * math.pi / sides  # edge normals, (K,)
    proj = u.unsqueeze(-1) * phi.cos() + v.unsqueeze(-1) * phi.sin()  # (..., K)
    return proj.amax(dim=-1) <= math.cos(math.pi / sides)


def _inside(shape: int, u: Tensor, v: Tensor) -> Tensor:
    """Boolean mask of shape class ``shape`` in local coordinates (the shape spans about [-1, 1]^2)."""
    name = SHAPE_CLASSES[shape]
    if name == "circle":
        return u * u + v * v <= 0.85
    if name == "square":
        return torch.maximum(u.abs(), v.abs()) <= 0.75
    if name == "triangle":
        return _regular_polygon(u, v, 3, rotation=math.pi / 6)
    if name == "hexagon":
        return _regular_polygon(u, v, 6)
    if name == "cross":
        return ((u.abs() <= 0.3) & (v.abs() <= 1.0)) | ((v.abs() <= 0.3) & (u.abs() <= 1.0))
    if name == "star":
        return torch.sqrt(u * u + v * v) <= 0.6 + 0.4 * torch.cos(5 * torch.atan2(v, u))
    raise ValueError(f"unknown shape {shape}")


def generate_shapes(
    n: int, *, image_size: int = 32, generator: torch.Generator, chunk: int = 1024
) -> tuple[Tensor, Tensor]:
    """``n`` images (n, 3, S, S) uint8 and labels (n,) int64 (``i % 6``)."""
    if n < 1 or image_size < 8:
        raise ValueError(f"generate_shapes: need n >= 1 and image_size >= 8, got {n} and {image_size}")
    images, labels = [], []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        lab = torch.arange(start, start + m) % len(SHAPE_CLASSES)
        images.append(_render(lab, image_size, generator))
        labels.append(lab)
    return torch.cat(images), torch.cat(labels)


def _render(labels: Tensor, size: int, g: torch.Generator) -> Tensor:
    m, hi = labels.shape[0], 2 * size  # rasterise at 2x, then average-pool
    coords = (torch.arange(hi, dtype=torch.float32) + 0.5) / hi  # pixel centres in [0, 1]
    y, x = torch.meshgrid(coords, coords, indexing="ij")  # (2S, 2S)
    scale = 0.18 + 0.17 * torch.rand(m, generator=g)  # shape radius, fraction of the image
    cx = scale + (1 - 2 * scale) * torch.rand(m, generator=g)
    cy = scale + (1 - 2 * scale) * torch.rand(m, generator=g)
    angle = 2 * math.pi * torch.rand(m, generator=g)
    bg = torch.rand(m, 3, generator=g)
    grad_dir = 2 * math.pi * torch.rand(m, generator=g)
    grad_amp = 0.3 * torch.rand(m, generator=g)
    fg = torch.rand(m, 3, generator=g)
    # keep the shape visible: push its colour away from the background where they are close
    close = (fg - bg).abs().amax(dim=1) < 0.35
    fg = torch.where(close.unsqueeze(1), (bg + 0.5) % 1.0, fg)
    dx, dy = x - cx.view(-1, 1, 1), y - cy.view(-1, 1, 1)  # (m, 2S, 2S)
    cos, sin = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    u = (cos * dx + sin * dy) / scale.view(-1, 1, 1)
    v = (-sin * dx + cos * dy) / scale.view(-1, 1, 1)
    mask = torch.zeros(m, hi, hi, dtype=torch.bool)
    for c in range(len(SHAPE_CLASSES)):
        sel = labels == c
        if sel.any():
            mask[sel] = _inside(c, u[sel], v[sel])
    ramp = (x - 0.5) * grad_dir.cos().view(-1, 1, 1) + (y - 0.5) * grad_dir.sin().view(-1, 1, 1)  # (m, 2S, 2S)
    background = bg.view(-1, 3, 1, 1) + grad_amp.view(-1, 1, 1, 1) * ramp.unsqueeze(1)  # (m, 3, 2S, 2S)
    img = torch.where(mask.unsqueeze(1), fg.view(-1, 3, 1, 1), background)
    img = F.avg_pool2d(img, 2).clamp(0, 1)  # (m, 3, S, S)
    return (img * 255).round().to(torch.uint8)


def load_shapes_splits(image_size: int = 32, *, train: int = 10_000, test: int = 2_000, seed: int = 0) -> ImageSplits:
    """Generated train (from ``seed``) and test (from ``seed + 1``) splits."""
    if train < len(SHAPE_CLASSES) or test < len(SHAPE_CLASSES):
        raise ValueError(f"shapes: need at least {len(SHAPE_CLASSES)} train and test images, got {train}, {test}")
    xtr, ytr = generate_shapes(train, image_size=image_size, generator=torch.Generator().manual_seed(seed))
    xte, yte = generate_shapes(test, image_size=image_size, generator=torch.Generator().manual_seed(seed + 1))
    return ImageSplits.from_datasets(ImageDataset(xtr, ytr, SHAPE_CLASSES), ImageDataset(xte, yte, SHAPE_CLASSES))
