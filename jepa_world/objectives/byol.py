"""Negative-cosine prediction losses of the distillation family: BYOL and SimSiam.

Both predict one view's projection from the other's with a predictor MLP and compare them by cosine
similarity; the target side gets no gradient. BYOL (Grill et al. 2020) takes targets from an EMA
teacher; SimSiam (Chen & He 2021) from the same network under a stop-gradient.

* :func:`negative_cosine`: ``-mean_i cos(p_i, z_i)`` in [-1, 1] (SimSiam's D, Eq. 1).
* :func:`byol_loss`: ``mean_i ||p_i/|p_i| - z_i/|z_i|||^2 = 2 - 2 mean_i cos(p_i, z_i)`` in [0, 4].
* :func:`symmetric_prediction_loss`: both directions averaged, with or without the stop-gradient.

Examples:
    >>> import torch
    >>> p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> float(negative_cosine(p, p)), float(byol_loss(p, -p))
    (-1.0, 4.0)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def _check_pair(name: str, p: Tensor, z: Tensor) -> None:
    if p.shape != z.shape or p.ndim < 1:
        raise ValueError(f"{name}: p and z must have equal shapes (..., D), got {tuple(p.shape)} and "
                         f"{tuple(z.shape)}")


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """``-mean cos(p, z)`` over rows (Chen & He 2021, SimSiam, Eq. 1). The caller detaches ``z``.

    Args:
        p: (..., D) predictions.
        z: (..., D) targets.

    Returns:
        () scalar in [-1, 1].
    """
    _check_pair("negative_cosine", p, z)
    return -F.cosine_similarity(p, z, dim=-1, eps=1e-8).mean()


def byol_loss(p: Tensor, z: Tensor) -> Tensor:
    """BYOL regression loss ``||normalize(p) - normalize(z)||^2 = 2 - 2 cos(p, z)`` averaged over rows
    (Grill et al. 2020, Eq. 2). The caller detaches ``z`` (the EMA teacher's projection).

    Args:
        p: (..., D) online predictions.
        z: (..., D) target projections.

    Returns:
        () scalar in [0, 4].
    """
    return 2.0 + 2.0 * negative_cosine(p, z)


def symmetric_prediction_loss(
    p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, *, stop_gradient: bool = True, kind: str = "simsiam"
) -> Tensor:
    """``(D(p1, z2) + D(p2, z1)) / 2`` (SimSiam Eq. 2; BYOL's symmetrised loss).

    Args:
        p1, p2: (N, D) predictor outputs of views 1 and 2.
        z1, z2: (N, D) targets of views 1 and 2 (projections, or EMA-teacher projections).
        stop_gradient: detach the targets (SimSiam without it collapses; Chen & He 2021, Fig. 2).
        kind: ``"simsiam"`` (D = negative cosine) or ``"byol"`` (D = 2 - 2 cos).

    Returns:
        () scalar.
    """
    if kind not in ("simsiam", "byol"):
        raise ValueError(f"symmetric_prediction_loss: kind must be 'simsiam' or 'byol', got {kind!r}")
    if stop_gradient:
        z1, z2 = z1.detach(), z2.detach()
    d = negative_cosine if kind == "simsiam" else byol_loss
    return 0.5 * (d(p1, z2) + d(p2, z1))
