"""The seams between world models and planners (see docs/architecture.md).

Planners know a world model only through :class:`WorldModel`; the MPC loop knows a planner only
through :class:`Planner`. A *cost* is a function ``(z_traj (N, S, T, D), goal (N, D)) -> (N, S)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

CostFn = Callable[[Tensor, Tensor], Tensor]
"""``cost(z_traj, goal)``: z_traj (N, S, T, D) predicted latents, goal (N, D) -> (N, S)."""


@runtime_checkable
class WorldModel(Protocol):
    """An action-conditioned latent dynamics model."""

    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D)."""
        ...

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, A) -> z_next (B, D)."""
        ...

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, A) -> z (B, T, D): the T predicted next latents (z0 excluded)."""
        ...


@dataclass
class PlanResult:
    """What a planner returns for N environments.

    actions: (N, T, A) the best action sequence per environment.
    cost: (N,) its cost.
    stats: scalar diagnostics (iterations, final elite std, ...).
    """

    actions: Tensor
    cost: Tensor
    stats: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    """Minimises a cost over action sequences through a world model."""

    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        """z0 (N, D), goal (N, D), warm_start (N, T, A) or None -> PlanResult."""
        ...


@runtime_checkable
class ResettablePlanner(Protocol):
    """A planner with state between calls (the hierarchical planner's subgoals): reset when episodes start."""

    def reset(self) -> None: ...


@runtime_checkable
class SubgoalPlanResult(Protocol):
    """A plan result that also carries latent subgoals (the hierarchical planner's), for pictures."""

    waypoints: Tensor | None
    """(N, K, D) the latent waypoints, then the goal."""
    target: Tensor | None
    """(N, D) the subgoal the low level aimed at."""



# Optional capabilities: each its own small protocol, checked with ``isinstance``, never probed with ``getattr``.


@runtime_checkable
class HoldingModel(Protocol):
    """A world model that holds one action for k steps cheaply (the keypoint model, the oracles)."""

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), a (B, A) held for ``steps`` steps -> (B, D)."""
        ...


@runtime_checkable
class FrameskipModel(Protocol):
    """A world model whose one step covers ``frameskip`` env steps: its action is their chunk (B, frameskip * A).

    Executed env actions (N, k, A) are predicted through it as k / frameskip chunks
    (:func:`~jepa_world.planning.actions.chunk_actions`)."""

    frameskip: int
    """Env steps per model step."""


@runtime_checkable
class DecodingModel(Protocol):
    """A world model whose latents decode back to frames (the pixel world model): planning in pixel space uses it.

    See :class:`~jepa_world.planning.pixel_space.PixelSpaceModel`."""

    frame_shape: tuple[int, int, int]
    """(C, H, W) of an observation."""

    def decode(self, z: Tensor) -> Tensor:
        """z (B, D) -> frames (B, C, H, W) in observation units."""
        ...


@runtime_checkable
class MovingLatentModel(Protocol):
    """A world model whose latent has a static part: only the leading ``moving_dims`` dims ever change.

    See :mod:`jepa_world.planning.moving` for the contract of ``rollout_moving``.
    """

    moving_dims: int
    """The leading latent dims a rollout may change."""

    def rollout_moving(self, z0: Tensor, actions: Tensor, repeat: int = 1, *, moving: Tensor | None = None) -> Tensor:
        """z0 (N, D), actions (N*C, T, A) held ``repeat`` steps, moving (N*C, Dm) or None -> (N*C, T, Dm)."""
        ...


@runtime_checkable
class NoDynamics(Protocol):
    """A stand-in world model that only encodes (a policy's encoder, planning/policy.py): it has no ``step`` or
    ``rollout``, so the MPC loop measures no surprise and checks no stall through it."""

    no_dynamics: bool
    """True: nothing can be predicted with this model."""


@runtime_checkable
class WrapsModel(Protocol):
    """A model built over another one (``base``): wrappers are looked through to find a capability."""

    base: object
    """The wrapped model."""


@runtime_checkable
class ActionRepeater(Protocol):
    """A wrapper whose one action holds ``repeat`` actions of ``base`` (ChunkedWorldModel, HeldActionModel)."""

    repeat: int
    """Base steps per action of this model."""
    base: object
    """The wrapped world model."""


@runtime_checkable
class HasHighLevel(Protocol):
    """A world model that carries its own coarse-time-scale model (``high_level``) for hierarchical planning."""

    high_level: object
    """Its high-level model (a :class:`~jepa_world.planning.high_level.HighLevelModel` to be used)."""


@runtime_checkable
class BoundedActions(Protocol):
    """A model whose actions lie in the L2 ball of radius ``max_norm`` (HeldActionModel)."""

    max_norm: float
    """The action bound."""


@runtime_checkable
class ModelPlanner(Protocol):
    """A planner that exposes the world model it plans through (CEM, MPPI, gradient, hierarchical)."""

    world_model: object
    """The (possibly action-repeating) world model the planner searches over."""


class SearchFactory(Protocol):
    """Builds a search planner by name (the registry's ``search_planner``), injected into planners made of
    planners (the hierarchical one) so that they need no import of the registry."""

    def __call__(self, name: str, world_model: WorldModel, cost: CostFn, **fields: Any) -> Planner:
        """Planner ``name`` over ``world_model`` and ``cost`` with the ``fields`` its config has (others dropped)."""
        ...
