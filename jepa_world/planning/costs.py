"""Planning costs: the energy between predicted latents and a goal latent, reduced over the horizon.

A cost maps ``(z_traj (N, S, T, D), goal (N, D)) -> (N, S)``: N environments, S candidate action
sequences each, T predicted steps, D latent dimensions. It is the same energy the world model is
trained to lower, with the target embedding replaced by the goal's.

Examples:
    >>> import torch
    >>> cost = goal_distance_cost(distance="l2", reduce="last")
    >>> z = torch.tensor([[3.0, 4.0], [0.0, 0.0]]).reshape(1, 1, 2, 2)   # (N=1, S=1, T=2, D=2)
    >>> cost(z, torch.zeros(1, 2))
    tensor([[0.]])
    >>> make_cost("l2")(z, torch.zeros(1, 2))                           # sum over the horizon
    tensor([[5.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from jepa_world.planning.moving import MovingRollout, moving_rollout
from jepa_world.planning.protocols import CostFn, WorldModel

Distance = Literal["mse", "l2", "l1"]
Reduce = Literal["sum", "last", "discounted"]


def _check_traj(z_traj: Tensor, goal: Tensor) -> None:
    if z_traj.dim() != 4 or goal.dim() != 2:
        raise ValueError(
            f"cost expects z_traj (N, S, T, D) and goal (N, D), "
            f"got {tuple(z_traj.shape)} and {tuple(goal.shape)}"
        )
    n, _, _, d = z_traj.shape
    if goal.shape != (n, d):
        raise ValueError(f"goal must be (N, D) = {(n, d)} to match z_traj {tuple(z_traj.shape)}, "
                         f"got {tuple(goal.shape)}")


def step_distance(z_traj: Tensor, goal: Tensor, distance: Distance = "mse", *, residual: Tensor | None = None,
                  total_dims: int | None = None) -> Tensor:
    """Per-step distance to the goal: z_traj (N, S, T, D), goal (N, D) -> (N, S, T).

    ``mse``: mean over D of squared differences; ``l2``: Euclidean norm; ``l1``: mean over D of
    absolute differences. With ``residual`` (N,) the latents are the moving part of longer ones
    (planning/moving.py): ``residual`` is the static part's sum of squared (``mse``, ``l2``) or absolute
    (``l1``) differences and ``total_dims`` the full latent size the means divide by.
    """
    _check_traj(z_traj, goal)
    if distance not in ("mse", "l2", "l1"):
        raise ValueError(f"distance must be one of ['mse', 'l2', 'l1'], got {distance!r}")
    diff = z_traj - goal[:, None, None, :]  # (N, S, T, D)
    if distance == "l2" and residual is None:
        return torch.linalg.vector_norm(diff, dim=-1)  # its gradient is 0, not NaN, at the goal
    total = (diff.abs() if distance == "l1" else diff.pow(2)).sum(dim=-1)  # (N, S, T)
    if residual is not None:
        total = total + residual[:, None, None]
    if distance == "l2":
        return total.clamp_min(1e-30).sqrt()
    return total / (total_dims or z_traj.shape[-1])


class GoalDistanceCost:
    """A cost ``(z_traj (N, S, T, D), goal (N, D)) -> (N, S)``: distance to the goal along the horizon.

    reduce: ``sum`` adds the distance at every predicted step (rewards getting there early),
    ``last`` keeps only the final step, ``discounted`` weights step t (0-based) by ``discount**t``.
    ``path_weight`` adds ``path_weight * mean_t d_t``: with ``last`` it keeps the search free to
    detour (around a wall) while preferring plans that get close early and stay there.
    ``motion_weight`` adds ``motion_weight * sum_t D(z_t, z_{t-1})``, the latent path length in the same
    distance (``z_0`` = the start when the caller passes ``z0``): a plan that leaves the goal and comes back
    costs more than one that stays, which *holds* an agent at its goal under the 'final' protocol, while far
    from the goal the terminal distance dominates (a straight T-step plan of length L adds L^2 / T under
    ``mse``, L under ``l2``). See docs/evaluation.md for the measured trade-off.
    """

    def __init__(self, distance: Distance = "mse", reduce: Reduce = "sum", discount: float = 0.95,
                 path_weight: float = 0.0, motion_weight: float = 0.0) -> None:
        if path_weight < 0:
            raise ValueError(f"path_weight must be >= 0, got {path_weight}")
        if not motion_weight >= 0:
            raise ValueError(f"motion_weight must be >= 0, got {motion_weight}")
        if reduce not in ("sum", "last", "discounted"):
            raise ValueError(f"reduce must be one of ['sum', 'last', 'discounted'], got {reduce!r}")
        if distance not in ("mse", "l2", "l1"):
            raise ValueError(f"distance must be one of ['mse', 'l2', 'l1'], got {distance!r}")
        if reduce == "discounted" and not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        self.distance, self.reduce, self.discount, self.path_weight = distance, reduce, discount, path_weight
        self.motion_weight = motion_weight

    def __call__(self, z_traj: Tensor, goal: Tensor, *, z0: Tensor | None = None) -> Tensor:
        """z_traj (N, S, T, D), goal (N, D), optional start z0 (N, D) -> (N, S)."""
        cost = self._reduce(step_distance(z_traj, goal, self.distance))
        return cost + self._motion(z_traj, z0, total_dims=z_traj.shape[-1])

    def moving(self, z_moving: Tensor, goal: Tensor, *, static: Tensor, z0: Tensor | None = None) -> Tensor:
        """The cost of latents whose dims after the first Dm equal ``static``: z_moving (N, S, T, Dm), goal (N, D),
        static (N, D - Dm), optional start z0 (N, D) -> (N, S), the same as over the full latents."""
        dm = z_moving.shape[-1]
        residual = self.static_residual(static, goal[:, dm:])
        cost = self._reduce(step_distance(z_moving, goal[:, :dm], self.distance, residual=residual,
                                          total_dims=goal.shape[1]))
        return cost + self._motion(z_moving, None if z0 is None else z0[:, :dm], total_dims=goal.shape[1])

    def _motion(self, z_traj: Tensor, z0: Tensor | None, *, total_dims: int) -> Tensor | float:
        """motion_weight x the latent path length of z_traj (N, S, T, Dm) from z0 (N, Dm) -> (N, S) (0 when off).

        The static dims never move, so over the moving dims it is exact with means taken over ``total_dims``."""
        if not self.motion_weight:
            return 0.0
        if z0 is not None:
            z_traj = torch.cat([z0[:, None, None, :].expand(-1, z_traj.shape[1], 1, -1), z_traj], dim=2)
        steps = z_traj[:, :, 1:] - z_traj[:, :, :-1]  # (N, S, T', Dm)
        if self.distance == "l2":
            length = torch.linalg.vector_norm(steps, dim=-1)
        else:
            length = (steps.abs() if self.distance == "l1" else steps.pow(2)).sum(dim=-1) / total_dims
        return self.motion_weight * length.sum(dim=-1)

    def static_residual(self, static: Tensor, goal_static: Tensor) -> Tensor:
        """(N, Ds), (N, Ds) -> (N,): the static dims' share of the distance's sum over dims."""
        diff = static - goal_static
        return (diff.abs() if self.distance == "l1" else diff.pow(2)).sum(dim=-1)

    def _reduce(self, d: Tensor) -> Tensor:
        """Per-step distances (N, S, T) -> (N, S)."""
        extra = self.path_weight * d.mean(dim=-1) if self.path_weight else 0.0
        if self.reduce == "last":
            return d[..., -1] + extra
        if self.reduce == "discounted":
            weights = self.discount ** torch.arange(d.shape[-1], device=d.device, dtype=d.dtype)  # (T,)
            return (d * weights).sum(dim=-1) + extra
        return d.sum(dim=-1) + extra

    def __repr__(self) -> str:
        return (f"GoalDistanceCost({self.distance!r}, reduce={self.reduce!r}, discount={self.discount}, "
                f"path_weight={self.path_weight}, motion_weight={self.motion_weight})")


def goal_distance_cost(
    distance: Distance = "mse", reduce: Reduce = "sum", discount: float = 0.95, path_weight: float = 0.0,
    motion_weight: float = 0.0,
) -> GoalDistanceCost:
    """The :class:`GoalDistanceCost` with these settings (see there)."""
    return GoalDistanceCost(distance, reduce, discount, path_weight, motion_weight)


COSTS: dict[str, Callable[..., CostFn]] = {
    "mse": lambda **kw: goal_distance_cost(distance="mse", **kw),
    "l2": lambda **kw: goal_distance_cost(distance="l2", **kw),
    "l1": lambda **kw: goal_distance_cost(distance="l1", **kw),
}
"""Cost names a user can type; each maps keyword options (reduce, discount) to a CostFn."""


def make_cost(name: str, **kwargs) -> CostFn:
    """Build the registered cost ``name`` (see :data:`COSTS`) with options such as ``reduce="last"``."""
    if name not in COSTS:
        raise ValueError(f"unknown cost {name!r}; valid: {sorted(COSTS)}")
    return COSTS[name](**kwargs)


def moving_path(world_model: WorldModel, cost: CostFn, latent_dim: int) -> MovingRollout | None:
    """The moving-dims rollout to score ``cost`` with (planning/moving.py), or None for the full-latent path: it
    needs a :class:`GoalDistanceCost` (a sum over dims) and a model with fewer moving than ``latent_dim`` dims."""
    fast = moving_rollout(world_model) if isinstance(cost, GoalDistanceCost) else None
    return fast if fast is not None and fast.moving_dims < latent_dim else None


def sequence_cost(
    world_model: WorldModel, cost: CostFn, *, z0: Tensor, goal: Tensor, actions: Tensor
) -> Tensor:
    """Roll S candidate action sequences per environment through the model and score them.

    z0, goal: (N, D); actions: (N, S, T, A) -> cost (N, S). One batched rollout of N*S sequences; of the
    moving dims only when the model declares a static part and the cost is a :class:`GoalDistanceCost`
    (the same cost, planning/moving.py).
    """
    n, s, t, a = actions.shape
    d = z0.shape[1]
    fast = moving_path(world_model, cost, d)
    if fast is not None:  # exact: the static dims add a constant (planning/moving.py)
        z_moving = fast(z0, actions.reshape(n * s, t, a)).reshape(n, s, t, -1)  # (N, S, T, Dm), z0's map shared
        return cost.moving(z_moving, goal, static=z0[:, fast.moving_dims:], z0=z0)
    z_start = z0.unsqueeze(1).expand(n, s, d).reshape(n * s, d)  # (N*S, D)
    z_traj = world_model.rollout(z_start, actions.reshape(n * s, t, a))  # (N*S, T, D')
    if z_traj.shape[:2] != (n * s, t):
        raise ValueError(
            f"world_model.rollout returned {tuple(z_traj.shape)} for actions {(n * s, t, a)}; "
            f"expected (N*S, T, D)"
        )
    z_traj = z_traj.reshape(n, s, t, -1)
    if isinstance(cost, GoalDistanceCost):  # the motion term starts from z0
        return cost(z_traj, goal, z0=z0)
    return cost(z_traj, goal)  # (N, S, T, D) -> (N, S)
