"""VICReg: Variance-Invariance-Covariance Regularization (Bardes, Ponce, LeCun, ICLR 2022).

Shape convention for the term functions: ``z`` is ``(..., N, D)``; the sample axis is ``-2`` and
any leading axes are *separate groups*. Each group gets its own statistics and the term is the
mean over groups. A plain batch is ``(N, D)``.

World models produce sequences ``z: (B, T, D)``. There the statistics should be taken over the
batch *at each time step* (B samples per step), which is the transpose of the group convention;
:func:`temporal_vicreg_terms` does exactly that, and :func:`vicreg_regularizer` uses it for 3-D input.

Under DDP, ``gather=True`` computes the statistics over every process's samples
(:func:`~jepa_world.objectives.distributed.gather_batch`): the loss and its gradient are then those of
one process holding the whole batch. It does nothing without a process group.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.objectives.distributed import gather_batch


def _check_samples(name: str, z: Tensor) -> None:
    if z.ndim < 2 or z.shape[-2] < 2:
        raise ValueError(f"{name}: expected z of shape (..., N, D) with N >= 2, got {tuple(z.shape)}")


def variance_term(z: Tensor, *, gamma: float = 1.0, eps: float = 1e-4) -> Tensor:
    """VICReg variance hinge ``v(Z) = mean_j relu(gamma - sqrt(Var(z_j) + eps))`` (Bardes et al. 2022, Eq. 1).

    ``Var`` is the unbiased variance over the sample axis.

    Args:
        z: (..., N, D) embeddings; leading axes are separate groups (averaged).
        gamma: target standard deviation.
        eps: numerical stabiliser inside the square root.

    Returns:
        () scalar, mean over dims (and groups).

    Examples:
        >>> z = torch.tensor([[0.0, 0.0], [0.0, 1.0]])    # column stds 0 and 0.707
        >>> round(float(variance_term(z, eps=0.0)), 4)
        0.6464
    """
    _check_samples("variance_term", z)
    std = torch.sqrt(z.var(dim=-2, unbiased=True) + eps)  # (..., D)
    return F.relu(gamma - std).mean()


def covariance_matrix(z: Tensor) -> Tensor:
    """Unbiased covariance over the sample axis.

    Args:
        z: (..., N, D).

    Returns:
        (..., D, D).
    """
    _check_samples("covariance_matrix", z)
    zc = z - z.mean(dim=-2, keepdim=True)  # (..., N, D)
    return zc.transpose(-1, -2) @ zc / (z.shape[-2] - 1)


def covariance_term(z: Tensor) -> Tensor:
    """VICReg covariance term ``c(Z) = (1/D) sum_{i != j} C(Z)_{ij}^2`` (Bardes et al. 2022, Eq. 3).

    Args:
        z: (..., N, D) embeddings; leading axes are separate groups (averaged).

    Returns:
        () scalar.

    Examples:
        >>> z = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # C = [[2, 2], [2, 2]]
        >>> float(covariance_term(z))                      # (2^2 + 2^2) / 2
        4.0
    """
    cov = covariance_matrix(z)  # (..., D, D)
    dim = z.shape[-1]
    off_diag_sq = cov.pow(2).sum(dim=(-2, -1)) - torch.diagonal(cov, dim1=-2, dim2=-1).pow(2).sum(dim=-1)
    return (off_diag_sq / dim).mean()


def invariance_term(a: Tensor, b: Tensor) -> Tensor:
    """VICReg invariance ``s(Z, Z') = mean ||z - z'||^2 / D`` (mean squared error; Bardes et al. 2022, Eq. 5).

    Args:
        a: (..., D) embeddings of one view.
        b: (..., D) embeddings of the other view, same shape.

    Returns:
        () scalar.

    Examples:
        >>> float(invariance_term(torch.zeros(3, 2), torch.ones(3, 2)))
        1.0
    """
    if a.shape != b.shape:
        raise ValueError(f"invariance_term: a and b must have equal shapes, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    return F.mse_loss(a, b)


def vicreg_loss(
    a: Tensor,
    b: Tensor,
    *,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
    gather: bool = False,
) -> tuple[Tensor, dict[str, Tensor]]:
    """VICReg loss (Bardes, Ponce, LeCun 2022, Eq. 6):
    ``sim_weight * s(a, b) + var_weight * (v(a) + v(b)) + cov_weight * (c(a) + c(b))``.

    Args:
        a: (..., N, D) embeddings of the first view (leading axes are groups, see module doc).
        b: (..., N, D) embeddings of the second view, same shape.
        sim_weight, var_weight, cov_weight: lambda, mu, nu of the paper (defaults 25, 25, 1).
        gamma, eps: see :func:`variance_term`.
        gather: under DDP, take every term over all processes' samples (module docstring).

    Returns:
        ``(loss, terms)``: loss () and a dict of detached scalars ``"invariance"``,
        ``"variance"`` (= v(a) + v(b)), ``"covariance"`` (= c(a) + c(b)) and ``"loss"``.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(64, 8, generator=g), torch.randn(64, 8, generator=g)
        >>> loss, terms = vicreg_loss(a, b)
        >>> sorted(terms)
        ['covariance', 'invariance', 'loss', 'variance']
    """
    if a.shape != b.shape:
        raise ValueError(f"vicreg_loss: a and b must have equal shapes, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    if gather:
        a, b = gather_batch(a, dim=-2), gather_batch(b, dim=-2)  # (..., N, D) over all processes
    inv = invariance_term(a, b)
    var = variance_term(a, gamma=gamma, eps=eps) + variance_term(b, gamma=gamma, eps=eps)
    cov = covariance_term(a) + covariance_term(b)
    loss = sim_weight * inv + var_weight * var + cov_weight * cov
    terms = {"invariance": inv.detach(), "variance": var.detach(), "covariance": cov.detach(),
             "loss": loss.detach()}
    return loss, terms


def temporal_vicreg_terms(z: Tensor, *, gamma: float = 1.0, eps: float = 1e-4,
                          gather: bool = False) -> tuple[Tensor, Tensor]:
    """Variance and covariance terms of a latent sequence, taken *per time step* over the batch.

    For each step ``t`` the B embeddings ``z[:, t]`` are one group of samples; the terms are
    averaged over the T steps. This keeps a model from hiding batch collapse at one step behind
    variation along time.

    Args:
        z: (B, T, D) latent sequence, B >= 2.
        gamma, eps: see :func:`variance_term`.
        gather: under DDP, the statistics at each step run over all processes' B (module docstring).

    Returns:
        ``(variance, covariance)``, two () scalars.

    Examples:
        >>> z = torch.randn(32, 5, 8)
        >>> var, cov = temporal_vicreg_terms(z)
        >>> var.shape, cov.shape
        (torch.Size([]), torch.Size([]))
    """
    if z.ndim != 3 or z.shape[0] < 2:
        raise ValueError(f"temporal_vicreg_terms: expected z of shape (B, T, D) with B >= 2, "
                         f"got {tuple(z.shape)}")
    if gather:
        z = gather_batch(z)  # (B_all, T, D)
    per_step = z.transpose(0, 1)  # (B, T, D) -> (T, B, D): T groups of B samples
    return variance_term(per_step, gamma=gamma, eps=eps), covariance_term(per_step)


def vicreg_regularizer(
    z: Tensor, *, var_weight: float = 25.0, cov_weight: float = 1.0, gamma: float = 1.0, eps: float = 1e-4,
    gather: bool = False,
) -> Tensor:
    """The anti-collapse half of VICReg on one set of embeddings: ``var_weight * v + cov_weight * c``
    (Bardes et al. 2022; used on world-model latents by Sobal et al. 2025).

    Args:
        z: (N, D) one batch of embeddings, or (B, T, D) a latent sequence whose statistics are
            taken per time step (see :func:`temporal_vicreg_terms`).
        var_weight, cov_weight: mu and nu of the paper.
        gamma, eps: see :func:`variance_term`.
        gather: under DDP, take the statistics over all processes' samples (module docstring).

    Returns:
        () scalar.

    Examples:
        >>> float(vicreg_regularizer(torch.zeros(16, 4)))        # collapsed: 25 * relu(1 - 0.01)
        24.75
    """
    if gather and z.ndim in (2, 3):
        z = gather_batch(z)  # (N_all, D) or (B_all, T, D)
    if z.ndim == 2:
        var, cov = variance_term(z, gamma=gamma, eps=eps), covariance_term(z)
    elif z.ndim == 3:
        var, cov = temporal_vicreg_terms(z, gamma=gamma, eps=eps)
    else:
        raise ValueError(f"vicreg_regularizer: expected (N, D) or (B, T, D), got {tuple(z.shape)}")
    return var_weight * var + cov_weight * cov


class VICRegLoss(nn.Module):
    """Module wrapper of :func:`vicreg_loss`; ``forward(a, b)`` returns ``(loss, terms)``.

    Examples:
        >>> criterion = VICRegLoss(sim_weight=25.0)
        >>> loss, terms = criterion(torch.randn(32, 16), torch.randn(32, 16))
    """

    def __init__(
        self,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        gamma: float = 1.0,
        eps: float = 1e-4,
        gather: bool = False,
    ) -> None:
        super().__init__()
        self.sim_weight, self.var_weight, self.cov_weight = sim_weight, var_weight, cov_weight
        self.gamma, self.eps, self.gather = gamma, eps, gather

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """a, b: (..., N, D) -> (loss (), terms)."""
        return vicreg_loss(
            a, b, sim_weight=self.sim_weight, var_weight=self.var_weight, cov_weight=self.cov_weight,
            gamma=self.gamma, eps=self.eps, gather=self.gather,
        )
