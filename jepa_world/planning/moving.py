"""Planning costs over the moving part of a latent: exact, without copying a static part S x T times.

Some world models carry a part of the latent unchanged through every rollout (the keypoint world
model's occupancy map: 1,024 of its 1,026 dims). A sampling planner scores N x S candidate
sequences of T steps; copying that static part into each of the N x S x T predicted latents, and
taking goal distances over it, is most of the planning time. A world model that declares

- ``moving_dims: int`` -- the leading latent dims a rollout may change (the rest never do), and
- ``rollout_moving(z0 (N, D), actions (N*C, T, A), repeat=1, *, moving=None)`` -> (N*C, T, moving_dims):
  those dims after each action, each action held ``repeat`` steps, for C candidates per environment
  (row b belongs to environment b // C) that share its static part; ``moving`` (N*C, moving_dims)
  gives each candidate its own start (the subgoal tree expands many nodes of one environment),

lets :func:`moving_rollout` predict only them, reading the static part once per environment (also
through the ``ChunkedWorldModel`` and ``HeldActionModel`` wrappers, whose actions are held
``repeat`` base steps). Every goal distance of :mod:`~jepa_world.planning.costs` is a sum over
dims, so the static dims add one constant per environment
(:meth:`~jepa_world.planning.costs.GoalDistanceCost.static_residual`) and the cost is the
same as over the full latent, up to float rounding.

Examples:
    >>> import torch
    >>> class Carried:                                  # dim 0 moves, dims 1: never change
    ...     moving_dims = 1
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return torch.cat([z[:, :1] + a, z[:, 1:]], dim=1)
    ...     def rollout(self, z0, actions): return torch.stack([self.step(z0, actions[:, :t + 1].sum(1))
    ...                                                         for t in range(actions.shape[1])], dim=1)
    ...     def rollout_moving(self, z0, actions, repeat=1, moving=None):
    ...         start = z0[:, :1].repeat_interleave(actions.shape[0] // z0.shape[0], 0) if moving is None else moving
    ...         return start[:, None] + repeat * actions.cumsum(1)
    >>> fast = moving_rollout(Carried())
    >>> fast(torch.zeros(1, 3), torch.ones(1, 2, 1)).flatten().tolist()
    [1.0, 2.0]
    >>> moving_rollout(object()) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from jepa_world.planning.protocols import ActionRepeater, MovingLatentModel

MovingRollout = Callable[..., Tensor]
"""``rollout(z0 (N, D), actions (N*C, T, A), moving=None) -> (N*C, T, Dm)``: the moving dims after each action."""


def moving_rollout(world_model: object) -> MovingRollout | None:
    """The moving-dims rollout of ``world_model`` (looking through action-repeating wrappers), or None.

    The returned function has ``moving_dims`` (Dm) as an attribute.
    """
    repeat, model = 1, world_model
    while isinstance(model, ActionRepeater):
        repeat *= model.repeat
        model = model.base
    if not isinstance(model, MovingLatentModel):
        return None
    fast, dims = model.rollout_moving, model.moving_dims
    if not callable(fast) or not isinstance(dims, int):
        return None

    def rollout(z0: Tensor, actions: Tensor, moving: Tensor | None = None) -> Tensor:
        return fast(z0, actions, repeat, moving=moving)

    rollout.moving_dims = dims  # type: ignore[attr-defined]
    return rollout

