"""A goal-conditioned policy driven by the MPC loop: the planner that ignores the world model.

Offline-RL baselines (:mod:`jepa_world.baselines`) are evaluated through the same loop, episodes and success
rules as the world models (``eval.planning.evaluate_planning``), so their numbers come from one code path.
:class:`PolicyWorldModel` is the thin stand-in the loop encodes with: its ``encode`` is the policy's own
observation encoder, and it has no dynamics (:class:`~jepa_world.planning.protocols.NoDynamics`), so the loop
measures no surprise and checks no stall with it. :class:`PolicyPlanner` returns, as a one-step plan, the action
the policy takes from the encoded observation towards the encoded goal; the loop runs it with
``replan_every=1`` and ``action_repeat=1`` (``eval.planning.default_eval_config("policy")``).

Examples:
    >>> import torch
    >>> class Toward:                       # a policy: one step of norm <= 1 towards the goal
    ...     def encode(self, obs): return obs.flatten(1)
    ...     def act_latent(self, z, goal): return (goal - z).clamp(-1, 1)
    >>> model = PolicyWorldModel(Toward())
    >>> planner = PolicyPlanner(model)
    >>> z, goal = model.encode(torch.zeros(2, 2, 1, 1)), model.encode(torch.ones(2, 2, 1, 1) * 3)
    >>> planner.plan(z, goal).actions
    tensor([[[1., 1.]],
    <BLANKLINE>
            [[1., 1.]]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from jepa_world.planning.protocols import CostFn, PlanResult


@runtime_checkable
class GoalPolicy(Protocol):
    """A goal-conditioned policy split at its encoder (the baselines' GCBC, GCIQL, HIQL)."""

    def encode(self, obs: Tensor) -> Tensor:
        """obs (N, C, H, W) -> features z (N, D)."""
        ...

    def act_latent(self, z: Tensor, goal: Tensor) -> Tensor:
        """z (N, D), goal features (N, D) -> actions (N, A)."""
        ...


class PolicyWorldModel(nn.Module):
    """What the MPC loop encodes with when a policy acts: ``encode`` = the policy's encoder; no dynamics."""

    no_dynamics = True
    """Marks :class:`~jepa_world.planning.protocols.NoDynamics`: there is no step or rollout to predict with."""

    def __init__(self, policy: GoalPolicy) -> None:
        super().__init__()
        if not isinstance(policy, GoalPolicy):
            raise TypeError(f"PolicyWorldModel needs a policy with encode and act_latent, got {type(policy).__name__}")
        self.policy = policy

    def encode(self, obs: Tensor) -> Tensor:
        """obs (N, C, H, W) -> the policy's features (N, D)."""
        return self.policy.encode(obs)


@dataclass
class PolicyConfig:
    """The policy 'planner' has no search: one action per call."""

    horizon: int = 1
    """Actions per plan (the policy's one action); the loop replans every step."""

    def __post_init__(self) -> None:
        if self.horizon != 1:
            raise ValueError(f"PolicyConfig.horizon must be 1 (a policy returns one action), got {self.horizon}")


class PolicyPlanner:
    """plan(z0 (N, D), goal (N, D)) -> PlanResult(actions (N, 1, A), cost zeros (N,)): the policy's action."""

    def __init__(self, world_model: Any, cost: CostFn | None = None, config: PolicyConfig | None = None) -> None:
        if not isinstance(world_model, PolicyWorldModel):
            raise ValueError(f"planner 'policy' acts with a trained policy (a GCBC / GCIQL / HIQL run), got a "
                             f"{type(world_model).__name__}; plan with a world model through cem, mppi, gradient "
                             f"or hierarchical, and run a policy with action_repeat=1")
        self.policy = world_model.policy
        self.config = config or PolicyConfig()

    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        """The policy's action as a one-step plan (the warm start is ignored)."""
        with torch.no_grad():
            actions = self.policy.act_latent(z0, goal)  # (N, A)
        return PlanResult(actions=actions[:, None], cost=torch.zeros(actions.shape[0], device=actions.device),
                          stats={})
