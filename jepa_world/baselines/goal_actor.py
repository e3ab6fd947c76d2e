"""The acting verbs every offline goal-conditioned policy here shares: its ``actor`` network encodes observations
and goals once, and maps (features, goal features) to a bounded env action (planning/policy.py's GoalPolicy)."""

from __future__ import annotations

from torch import Tensor, nn

from jepa_world.baselines.actions import from_unit
from jepa_world.baselines.goal_net import GoalNet


class GoalActor(nn.Module):
    """A policy with ``actor`` (a GoalNet whose output is the action in unit scale) and ``config.max_action_norm``."""

    actor: GoalNet
    config: object

    def encode(self, obs: Tensor) -> Tensor:
        """obs (N, C, H, W) -> the policy's features (N, D)."""
        return self.actor.encode(obs)

    def act_latent(self, z: Tensor, goal: Tensor) -> Tensor:
        """Features z (N, D), goal features (N, D) -> env actions (N, A) within the bound."""
        return from_unit(self.actor(z, goal)[:, 0], max_norm=self.config.max_action_norm)  # type: ignore[attr-defined]

    def act(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """obs (N, C, H, W), goal_obs (N, C, H, W) -> env actions (N, A)."""
        return self.act_latent(self.encode(obs), self.encode(goal_obs))
