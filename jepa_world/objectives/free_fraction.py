"""Free-fraction consistency: how much of a commanded latent displacement actually happened.

For a predictor that moves keypoints by ``lambda * d`` (``nn.raymarch``), the observed free fraction
of a transition is the projection of the encoded displacement onto the commanded one,

    lambda_obs = clip(<kp_{t+1} - kp_t, d> / |d|^2, 0, 1),

computed in representation space (no pixels, no labels). Fitting the predicted ``lambda`` to it by binary
cross-entropy gives collisions a classification loss whose gradient does not vanish when the predicted occupancy
saturates (a squared error on positions does, and then learns 'never blocked'). Collisions are the exception, and
saying so removes a degenerate trade: with ``d`` too long by a factor, every free step is observed as partly free,
the map learns that fraction everywhere, and the rollouts still fit (the map then leaks through walls wherever its
logits are soft: docs/world_model.md). ``normalize="median"`` divides the ratios by their batch median before
clipping, so that the typical (free) step counts as fully free whatever the scale of ``d``; the prediction loss then
has to fix the scale of ``d`` itself. A small prior ``mean(1 - lambda)`` says the same more weakly.

Examples:
    >>> import torch
    >>> d = torch.tensor([[[2.0, 0.0]], [[2.0, 0.0]]])            # commanded (B=2, K=1, 2)
    >>> moved = torch.tensor([[[1.0, 0.5]], [[3.0, 0.0]]])        # observed displacements
    >>> observed_free_fraction(moved, d).flatten().tolist()
    [0.5, 1.0]
    >>> observed_free_fraction(0.9 * d, d, normalize="median").flatten().tolist()   # the median step is free
    [1.0, 1.0]
    >>> round(float(free_fraction_loss(torch.tensor([0.5]), torch.tensor([0.5]))), 4)   # = ln 2
    0.6931
"""

from __future__ import annotations

from torch import Tensor

NORMALIZE = ("none", "median")
"""How observed ratios are normalised before clipping (see the module docstring)."""


def observed_free_fraction(displacement: Tensor, commanded: Tensor, *, normalize: str = "none",
                           eps: float = 1e-8) -> Tensor:
    """(..., 2) observed and commanded displacements -> (...,) projection ratio clipped to [0, 1].

    ``normalize="median"`` divides the ratios by their median over every element first (no gradient).
    """
    if displacement.shape != commanded.shape:
        raise ValueError(f"observed_free_fraction: shapes differ, {tuple(displacement.shape)} vs "
                         f"{tuple(commanded.shape)}")
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {list(NORMALIZE)}, got {normalize!r}")
    ratio = (displacement * commanded).sum(-1) / commanded.pow(2).sum(-1).clamp_min(eps)
    if normalize == "median":
        ratio = ratio / ratio.detach().median().clamp_min(eps)
    return ratio.clamp(0.0, 1.0)


def free_fraction_loss(predicted: Tensor, observed: Tensor, eps: float = 1e-5) -> Tensor:
    """Binary cross-entropy between predicted and observed free fractions (same shapes) -> () scalar.

    Written out rather than ``F.binary_cross_entropy``, which raises on a NaN input or target: a diverging
    run then gets a NaN loss here and the training loop's own non-finite check names the problem.
    """
    if predicted.shape != observed.shape:
        raise ValueError(f"free_fraction_loss: shapes differ, {tuple(predicted.shape)} vs {tuple(observed.shape)}")
    p = predicted.clamp(eps, 1.0 - eps)
    return -(observed * p.log() + (1.0 - observed) * (1.0 - p).log()).mean()


def collision_prior(predicted: Tensor) -> Tensor:
    """``mean(1 - lambda)``: collisions are rare; () scalar."""
    return (1.0 - predicted).mean()
