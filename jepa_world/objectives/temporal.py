"""Temporal smoothness of a latent sequence (slow-feature prior for world models).

Penalising large jumps between consecutive embeddings (Wiskott & Sejnowski 2002, slow feature
analysis; used as a world-model regulariser by Sobal et al. 2025, "Learning from Reward-Free
Offline Data: A Case for Planning with Latent Dynamics Models"). On its own it is minimised by
collapse, so it is always paired with a variance/covariance or SIGReg term.
"""

from __future__ import annotations

from torch import Tensor


def temporal_smoothness(z: Tensor) -> Tensor:
    """Mean squared difference between consecutive embeddings.

    ``mean_{b, t, d} (z[b, t + 1, d] - z[b, t, d])^2``: the mean runs over every leading axis,
    the ``T - 1`` consecutive pairs and the ``D`` dims (so the value does not grow with B, T or D).

    Args:
        z: (B, T, D) latent sequence (any number of leading axes is accepted: ``(..., T, D)``), T >= 2.

    Returns:
        () scalar.

    Examples:
        >>> import torch
        >>> z = torch.arange(4.0)[None, :, None] * torch.tensor([1.0, 3.0])   # z_t = t * v, (1, 4, 2)
        >>> float(temporal_smoothness(z))                                     # mean(v ** 2)
        5.0
    """
    if z.ndim < 2 or z.shape[-2] < 2:
        raise ValueError(f"temporal_smoothness: expected z of shape (B, T, D) with T >= 2, "
                         f"got {tuple(z.shape)}")
    return (z[..., 1:, :] - z[..., :-1, :]).pow(2).mean()
