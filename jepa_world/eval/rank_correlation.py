"""Spearman rank correlation: does an energy order pairs the way the true distance does?

Examples:
    >>> import torch
    >>> spearman(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0]))
    1.0
    >>> spearman(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, 1.0]))
    -1.0
"""

from __future__ import annotations

from torch import Tensor


def spearman(a: Tensor, b: Tensor) -> float:
    """Spearman rank correlation of two (N,) tensors (ties broken by order)."""
    if a.shape != b.shape or a.dim() != 1 or a.numel() < 2:
        raise ValueError(f"spearman needs two (N,) tensors with N >= 2, got {tuple(a.shape)} and {tuple(b.shape)}")
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return round(float((ra * rb).sum() / (ra.norm() * rb.norm())), 6)
