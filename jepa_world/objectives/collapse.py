"""Collapse diagnostics for embeddings: effective rank, std of normalised embeddings, dead dimensions.

Every function takes embeddings ``z: (N, D)``; any ``(..., D)`` is flattened to ``(prod(...), D)``
(a world-model sequence (B, T, D) counts as B * T samples). Computation is detached and in
float64 (float32 on devices without float64, e.g. MPS) so SVDs are stable.

Collapse comes in two forms (Jing et al. 2022, "Understanding Dimensional Collapse in Contrastive
Self-supervised Learning"): *complete* collapse (every input maps to about the same point) shows
as ``normalized_std`` near 0; *dimensional* collapse (embeddings span a low-dimensional subspace)
shows as a small effective rank.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor


class CollapseWarning(UserWarning):
    """Emitted by :func:`warn_if_collapsed` when a representation looks collapsed."""


def _as_matrix(z: Tensor) -> Tensor:
    """(..., D) -> (N, D), detached, float64 (float32 on MPS); needs N >= 2."""
    if z.ndim < 2:
        raise ValueError(f"collapse diagnostics need z of shape (N, D) or (..., D), got {tuple(z.shape)}")
    z = z.detach().reshape(-1, z.shape[-1])
    if z.shape[0] < 2 or z.shape[1] < 1:
        raise ValueError(f"collapse diagnostics need N >= 2 samples and D >= 1 dims, "
                         f"got (N, D) = {tuple(z.shape)}")
    dtype = torch.float32 if z.device.type == "mps" else torch.float64
    return z.to(dtype)


def singular_values(z: Tensor, *, center: bool = True) -> Tensor:
    """Singular values of the (centred) embedding matrix, descending.

    Values below ``max(N, D) * eps * ||z||_F`` (round-off, e.g. after centring constant rows)
    are set to exactly 0.

    Args:
        z: (N, D) or (..., D).
        center: subtract the mean embedding first.

    Returns:
        (min(N, D),) float64.

    Examples:
        >>> singular_values(torch.tensor([[3.0, 0.0], [0.0, 4.0]]), center=False).tolist()
        [4.0, 3.0]
    """
    m = _as_matrix(z)  # (N, D)
    tol = max(m.shape) * torch.finfo(m.dtype).eps * float(torch.linalg.matrix_norm(m))
    if center:
        m = m - m.mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(m)
    return torch.where(s > tol, s, torch.zeros_like(s))


def effective_rank(z: Tensor) -> float:
    """Effective rank ``exp(H(p))``, ``p_i = s_i / sum_j s_j`` over the singular values of the centred
    matrix (Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality").

    Between 1 (rank one) and min(N, D) (all singular values equal); k equal non-zero singular values
    give exactly k. A matrix whose centred version is zero (constant rows) gets 0.

    Args:
        z: (N, D) or (..., D).

    Returns:
        float.

    Examples:
        >>> round(effective_rank(torch.eye(4)), 6)        # centred eye(4) has 3 equal singular values
        3.0
    """
    s = singular_values(z)
    total = float(s.sum())
    if total == 0.0:
        return 0.0
    p = s[s > 0] / total
    return math.exp(float(-(p * p.log()).sum()))


def normalized_std(z: Tensor) -> float:
    """Mean over dims of the std (over samples) of L2-normalised embeddings (as in Grill et al. 2020
    and lightly's ``std_of_l2_normalized``).

    About ``1 / sqrt(D)`` for zero-mean isotropic embeddings and 0 for complete collapse. A large
    common offset in all embeddings also lowers it (they point the same way).

    Args:
        z: (N, D) or (..., D).

    Returns:
        float.

    Examples:
        >>> normalized_std(torch.ones(8, 4))
        0.0
    """
    m = F.normalize(_as_matrix(z), dim=1)  # (N, D) unit rows
    return float(m.std(dim=0).mean())


def per_dim_variance(z: Tensor) -> Tensor:
    """Unbiased variance of each embedding dimension over the samples.

    Args:
        z: (N, D) or (..., D).

    Returns:
        (D,) float64.

    Examples:
        >>> per_dim_variance(torch.tensor([[0.0, 1.0], [2.0, 1.0]])).tolist()
        [2.0, 0.0]
    """
    return _as_matrix(z).var(dim=0)


@dataclass(frozen=True)
class CollapseThresholds:
    """When :func:`collapse_report` calls a representation collapsed (any rule firing suffices)."""

    min_normalized_std_ratio: float = 0.1
    """Collapsed if ``normalized_std * sqrt(D)`` is below this (1 for isotropic, 0 for a point)."""
    min_rank_fraction: float = 0.05
    """Collapsed if ``effective_rank / D`` is below this (dimensional collapse)."""
    min_effective_rank: float = 1.5
    """Collapsed if the effective rank is below this (at most about one direction used)."""
    max_dead_dim_fraction: float = 0.5
    """Collapsed if more than this fraction of dims are dead."""
    dead_rel: float = 1e-2
    """A dim is dead if its std is below ``dead_rel`` times the median dim std ..."""
    dead_abs: float = 1e-6
    """... or below this absolute value."""


@dataclass
class CollapseReport:
    """Collapse diagnostics of one set of embeddings; see :func:`collapse_report`."""

    effective_rank: float
    rank_fraction: float
    normalized_std: float
    normalized_std_ratio: float
    min_dim_variance: float
    median_dim_variance: float
    dead_dim_fraction: float
    collapsed: bool
    reasons: list[str] = field(default_factory=list)

    def as_metrics(self, prefix: str = "collapse/") -> dict[str, float]:
        """Every numeric field as ``{prefix + name: float}`` (``collapsed`` as 0.0/1.0) for logging."""
        return {f"{prefix}{k}": float(v) for k, v in asdict(self).items() if k != "reasons"}


def collapse_report(z: Tensor, *, thresholds: CollapseThresholds = CollapseThresholds()) -> CollapseReport:
    """Compute every collapse diagnostic and decide whether ``z`` looks collapsed.

    Rules (defaults in :class:`CollapseThresholds`): collapsed if ``normalized_std_ratio < 0.1``, or
    ``rank_fraction < 0.05``, or ``effective_rank < 1.5``, or more than half the dims are dead
    (std < 1e-2 * median std or < 1e-6).

    Args:
        z: (N, D) or (..., D) embeddings, N >= 2.
        thresholds: the rules above.

    Returns:
        :class:`CollapseReport`; ``reasons`` names every rule that fired.

    Examples:
        >>> collapse_report(torch.ones(32, 8)).collapsed
        True
        >>> collapse_report(torch.randn(512, 8)).collapsed
        False
    """
    m = _as_matrix(z)  # (N, D)
    dim = m.shape[1]
    erank = effective_rank(m)
    nstd = normalized_std(m)
    var = per_dim_variance(m)  # (D,)
    std = var.sqrt()
    dead = (std < thresholds.dead_rel * std.median()) | (std < thresholds.dead_abs)
    report = CollapseReport(
        effective_rank=erank,
        rank_fraction=erank / dim,
        normalized_std=nstd,
        normalized_std_ratio=nstd * math.sqrt(dim),
        min_dim_variance=float(var.min()),
        median_dim_variance=float(var.median()),
        dead_dim_fraction=float(dead.double().mean()),
        collapsed=False,
    )
    th = thresholds
    rules = [
        (report.normalized_std_ratio < th.min_normalized_std_ratio,
         f"normalized_std_ratio {report.normalized_std_ratio:.3g} < {th.min_normalized_std_ratio}"),
        (report.rank_fraction < th.min_rank_fraction,
         f"rank_fraction {report.rank_fraction:.3g} < {th.min_rank_fraction}"),
        (report.effective_rank < th.min_effective_rank,
         f"effective_rank {report.effective_rank:.3g} < {th.min_effective_rank}"),
        (report.dead_dim_fraction > th.max_dead_dim_fraction,
         f"dead_dim_fraction {report.dead_dim_fraction:.3g} > {th.max_dead_dim_fraction}"),
    ]
    report.reasons = [why for fired, why in rules if fired]
    report.collapsed = bool(report.reasons)
    return report


def warn_if_collapsed(
    report: CollapseReport, *, logger: logging.Logger | None = None, stacklevel: int = 2
) -> bool:
    """Emit a :class:`CollapseWarning` (and ``logger.warning`` if a logger is given) naming the reasons.

    Returns:
        ``report.collapsed``.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_if_collapsed(collapse_report(torch.zeros(16, 4)))
        True
        >>> caught[0].category.__name__
        'CollapseWarning'
    """
    if not report.collapsed:
        return False
    message = "representation collapse detected: " + "; ".join(report.reasons)
    if logger is not None:
        logger.warning(message)
    warnings.warn(message, CollapseWarning, stacklevel=stacklevel)
    return True
