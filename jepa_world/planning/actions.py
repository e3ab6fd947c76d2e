"""Action sequences for planners: the norm bound, receding-horizon warm starts, sampling, input checks.

Every planner in this package searches over action sequences ``(N, T, A)`` (one per environment)
or batches of them ``(N, S, T, A)`` (S candidates per environment). The helpers here are the
pieces they share: keeping actions inside an L2 ball, shifting the previous plan forward after
the MPC loop executed some of it, drawing Gaussian candidates around a mean, remembering the
cheapest sequence seen so far, and checking the shapes a caller hands to ``plan()``.

Examples:
    >>> import torch
    >>> clip_action_norm(torch.tensor([[3.0, 4.0], [0.3, 0.4]]), max_norm=1.0)
    tensor([[0.6000, 0.8000],
            [0.3000, 0.4000]])
    >>> prev = torch.arange(4.0).reshape(1, 4, 1)           # (N=1, T=4, A=1)
    >>> shift_warm_start(prev, shift=1, fill="last").flatten().tolist()
    [1.0, 2.0, 3.0, 3.0]
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

WarmFill = Literal["zero", "last"]


def clip_action_norm(actions: Tensor, max_norm: float | None) -> Tensor:
    """Rescale every action whose L2 norm exceeds ``max_norm`` onto the sphere of radius ``max_norm``.

    actions: (..., A); rows with norm <= max_norm are returned unchanged (multiplied by exactly 1).
    ``max_norm=None`` means unbounded (identity). The map is differentiable almost everywhere, so
    it can sit inside a loss; the gradient planner instead uses it as a projection after each step.
    """
    if max_norm is None:
        return actions
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0 or None, got {max_norm}")
    norm = torch.linalg.vector_norm(actions, dim=-1, keepdim=True)  # (..., 1)
    scale = (max_norm / norm.clamp_min(1e-12)).clamp(max=1.0)  # (..., 1), 1 inside the ball
    return actions * scale


def shift_warm_start(prev: Tensor, *, shift: int, fill: WarmFill = "zero") -> Tensor:
    """Drop the first ``shift`` (executed) actions of a plan and pad at the end: the MPC warm start.

    prev: (N, T, A) -> (N, T, A). ``fill="zero"`` pads with zero actions, ``fill="last"`` repeats
    the plan's final action. ``shift`` must lie in [0, T]; ``shift=T`` leaves only padding.
    """
    if prev.dim() != 3:
        raise ValueError(f"prev must be (N, T, A), got shape {tuple(prev.shape)}")
    horizon = prev.shape[1]
    if not 0 <= shift <= horizon:
        raise ValueError(f"shift must be in [0, T={horizon}], got {shift}")
    if fill == "zero":
        pad = prev.new_zeros(prev.shape[0], shift, prev.shape[2])  # (N, shift, A)
    elif fill == "last":
        pad = prev[:, -1:].expand(-1, shift, -1)  # (N, shift, A)
    else:
        raise ValueError(f"fill must be 'zero' or 'last', got {fill!r}")
    return torch.cat([prev[:, shift:], pad], dim=1)


def sample_around(
    mean: Tensor,
    std: Tensor,
    *,
    num_samples: int,
    generator: torch.Generator,
    max_norm: float | None,
    include_mean: bool = True,
) -> Tensor:
    """Draw ``num_samples`` Gaussian action sequences per environment, clipped to the norm bound.

    mean, std: (N, T, A) -> samples (N, S, T, A). With ``include_mean`` candidate 0 is the
    (clipped) mean itself, so an iteration can never lose the sequence it started from.
    """
    n, t, a = mean.shape
    noise = torch.randn(n, num_samples, t, a, generator=generator, device=mean.device, dtype=mean.dtype)
    samples = mean.unsqueeze(1) + std.unsqueeze(1) * noise  # (N, S, T, A)
    if include_mean:
        samples[:, 0] = mean
    return clip_action_norm(samples, max_norm)


def keep_best(
    best_actions: Tensor, best_cost: Tensor, *, candidates: Tensor, costs: Tensor
) -> tuple[Tensor, Tensor]:
    """Best-so-far bookkeeping shared by the planners.

    best_actions (N, T, A), best_cost (N,), candidates (N, S, T, A), costs (N, S) -> the cheaper of
    the incumbent and the cheapest candidate, per environment.
    """
    cost_min, idx = costs.min(dim=1)  # (N,), (N,)
    winner = candidates[torch.arange(candidates.shape[0], device=idx.device), idx]  # (N, T, A)
    better = cost_min < best_cost  # (N,)
    return torch.where(better[:, None, None], winner, best_actions), torch.where(better, cost_min, best_cost)


def check_plan_inputs(
    z0: Tensor, goal: Tensor, warm_start: Tensor | None, *, horizon: int, action_dim: int
) -> None:
    """Raise ValueError naming the shapes unless z0 (N, D), goal (N, D), warm_start (N, T, A) or None."""
    if z0.dim() != 2:
        raise ValueError(f"z0 must be (N, D), got shape {tuple(z0.shape)}")
    if goal.shape != z0.shape:
        raise ValueError(f"goal must match z0 (N, D) = {tuple(z0.shape)}, got shape {tuple(goal.shape)}")
    if warm_start is None:
        return
    expected = (z0.shape[0], horizon, action_dim)
    if tuple(warm_start.shape) != expected:
        raise ValueError(
            f"warm_start must be (N, T, A) = {expected} (N from z0, T=horizon, A=action_dim), "
            f"got shape {tuple(warm_start.shape)}"
        )


def device_generator(current: torch.Generator | None, device: torch.device, seed: int) -> torch.Generator:
    """The random stream on ``device``: ``current`` if it lives there, else a new one seeded by ``seed``."""
    if current is not None and current.device == device:
        return current
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def chunk_actions(actions: Tensor, frameskip: int) -> Tensor | None:
    """Env actions (N, k, A) -> the model's chunks (N, k / frameskip, frameskip * A); None when k is not a multiple.

    Examples:
        >>> import torch
        >>> chunk_actions(torch.arange(8.0).view(1, 4, 2), 2).tolist()
        [[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]]
        >>> chunk_actions(torch.zeros(1, 3, 2), 2) is None
        True
    """
    n, k, a = actions.shape
    return None if k % frameskip else actions.reshape(n, k // frameskip, frameskip * a)
