"""The JEPA energy: a distance in representation space, used for training and for planning.

For a world model the energy of a (context, action, target) triple is
``E = D(Pred(Enc(x), a), Enc(y))``. Training lowers it on observed transitions
(:func:`prediction_energy`, :func:`multistep_prediction_loss`); planning searches actions
that lower it towards a goal embedding (:func:`energy`, no reduction).

Distances (all computed per row over the last dimension ``D``):

- ``"mse"``: mean over ``D`` of the squared difference.
- ``"l1"``: mean over ``D`` of the absolute difference.
- ``"cosine"``: ``1 - cos(z, goal)``, in ``[0, 2]``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Distance = Literal["mse", "l1", "cosine"]
DISTANCES: tuple[str, ...] = ("mse", "l1", "cosine")


def energy(z: Tensor, goal: Tensor, *, distance: Distance = "mse") -> Tensor:
    """Per-row distance between embeddings and a goal, no reduction.

    Args:
        z: (..., D) embeddings (e.g. predicted latents ``(N, S, T, D)`` in a planner).
        goal: (..., D) broadcastable against ``z`` (e.g. ``(N, 1, 1, D)``).
        distance: ``"mse"``, ``"l1"`` or ``"cosine"`` (see module docstring).

    Returns:
        (...,) the broadcast shape of ``z`` and ``goal`` without the last dimension.

    Examples:
        >>> z = torch.zeros(4, 3)
        >>> energy(z, torch.ones(3)).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    if z.ndim == 0 or goal.ndim == 0 or z.shape[-1] != goal.shape[-1]:
        raise ValueError(f"energy: z and goal need the same last dim D, "
                         f"got {tuple(z.shape)} and {tuple(goal.shape)}")
    try:
        torch.broadcast_shapes(z.shape, goal.shape)
    except RuntimeError as err:
        raise ValueError(
            f"energy: goal {tuple(goal.shape)} does not broadcast against z {tuple(z.shape)}"
        ) from err
    if distance == "mse":
        return (z - goal).pow(2).mean(dim=-1)
    if distance == "l1":
        return (z - goal).abs().mean(dim=-1)
    if distance == "cosine":
        return 1.0 - F.cosine_similarity(z, goal, dim=-1, eps=1e-8)
    raise ValueError(f"energy: unknown distance {distance!r}, expected one of {DISTANCES}")


def _check_same_shape(name: str, pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"{name}: pred and target must have equal shapes, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")


def prediction_energy(pred: Tensor, target: Tensor, *, distance: Distance = "mse") -> Tensor:
    """Mean JEPA prediction energy (Assran et al. 2023, I-JEPA; LeCun 2022, "A Path Towards
    Autonomous Machine Intelligence").

    ``mean(energy(pred, target))`` over every row; with ``"mse"`` this equals
    ``F.mse_loss(pred, target)``. The target should already be detached (stop-gradient / EMA
    target) when the method needs it; this function does not detach.

    Args:
        pred: (..., D) predicted embeddings.
        target: (..., D) target embeddings, same shape as ``pred``.
        distance: ``"mse"``, ``"l1"`` or ``"cosine"``.

    Returns:
        () scalar.

    Examples:
        >>> pred, target = torch.zeros(2, 5, 8), torch.full((2, 5, 8), 2.0)
        >>> float(prediction_energy(pred, target))
        4.0
    """
    _check_same_shape("prediction_energy", pred, target)
    return energy(pred, target, distance=distance).mean()


def per_horizon_prediction_loss(z_pred: Tensor, z_target: Tensor, *, distance: Distance = "mse") -> Tensor:
    """Prediction energy for each step of a rollout, averaged over the batch.

    Args:
        z_pred: (B, T, D) latents predicted 1..T steps ahead.
        z_target: (B, T, D) encoded observations at the same steps.
        distance: ``"mse"``, ``"l1"`` or ``"cosine"``.

    Returns:
        (T,) ``out[k]`` = mean over ``B`` of ``energy(z_pred[:, k], z_target[:, k])``.

    Examples:
        >>> z = torch.zeros(2, 3, 4)
        >>> per_horizon_prediction_loss(z, z + torch.arange(3.0)[:, None]).tolist()
        [0.0, 1.0, 4.0]
    """
    _check_same_shape("per_horizon_prediction_loss", z_pred, z_target)
    if z_pred.ndim != 3:
        raise ValueError(f"per_horizon_prediction_loss: expected (B, T, D), got {tuple(z_pred.shape)}")
    return energy(z_pred, z_target, distance=distance).mean(dim=0)  # (B, T) -> (T,)


def multistep_prediction_loss(
    z_pred: Tensor,
    z_target: Tensor,
    *,
    distance: Distance = "mse",
    horizon_weights: Tensor | None = None,
) -> Tensor:
    """Multi-step latent prediction loss of an action-conditioned world model (e.g. Hansen et al.
    2024, TD-MPC2; Sobal et al. 2025, "Learning from Reward-Free Offline Data: A Case for
    Planning with Latent Dynamics Models").

    ``sum_k w_k L_k / sum_k w_k`` with ``L = per_horizon_prediction_loss(...)`` (T,). Without
    weights it is the plain mean over horizons, equal to ``prediction_energy(z_pred, z_target)``.
    Normalising by ``sum_k w_k`` keeps the scale independent of ``T`` (e.g. pass
    ``rho ** arange(T)`` for TD-MPC-style discounting).

    Args:
        z_pred: (B, T, D) latents predicted 1..T steps ahead.
        z_target: (B, T, D) target latents (usually detached).
        distance: ``"mse"``, ``"l1"`` or ``"cosine"``.
        horizon_weights: (T,) non-negative weights with a positive sum, or None.

    Returns:
        () scalar.

    Examples:
        >>> z = torch.zeros(2, 2, 4)
        >>> target = z + torch.tensor([1.0, 3.0])[:, None]          # L = [1, 9]
        >>> float(multistep_prediction_loss(z, target))
        5.0
        >>> float(multistep_prediction_loss(z, target, horizon_weights=torch.tensor([3.0, 1.0])))
        3.0
    """
    per_step = per_horizon_prediction_loss(z_pred, z_target, distance=distance)  # (T,)
    if horizon_weights is None:
        return per_step.mean()
    if horizon_weights.shape != per_step.shape:
        raise ValueError(f"multistep_prediction_loss: horizon_weights must be (T,)={tuple(per_step.shape)}, "
                         f"got {tuple(horizon_weights.shape)}")
    w = horizon_weights.to(per_step)
    if bool((w < 0).any()) or float(w.sum()) <= 0.0:
        raise ValueError(f"multistep_prediction_loss: horizon_weights must be >= 0 with a positive sum, "
                         f"got {w.tolist()}")
    return (w * per_step).sum() / w.sum()
