"""The settings every offline goal-conditioned policy here shares, and those of the two that learn a value.

GCBC, GCIQL and HIQL all train networks (``net``) on relabelled goals drawn from each trajectory of a batch and
act within the environment's action bound; GCIQL and HIQL also regress a goal-conditioned value by expectile TD
on their own goal distribution, against an EMA target, and extract their policies by AWR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jepa_world.baselines.actions import DEFAULT_MAX_NORM
from jepa_world.baselines.goal_net import GoalNetConfig
from jepa_world.baselines.relabel import GoalSampling, actor_goals, value_goals


@dataclass
class GoalPolicyConfig:
    """What every offline goal-conditioned policy shares."""

    net: GoalNetConfig = field(default_factory=GoalNetConfig)
    """Encoder and MLP of each network (one encoder per network)."""
    actor_goals: GoalSampling = field(default_factory=actor_goals)
    """Where the policy's goals come from (OGBench: a later state of the trajectory, uniform)."""
    per_trajectory: int = 2
    """(state, goal) pairs drawn from each trajectory of a batch."""
    action_dim: int = 2
    """A of the actions."""
    max_action_norm: float = DEFAULT_MAX_NORM
    """The env's action bound (px): actions are divided by it, outputs clipped to it."""
    seed: int = 0
    """Seed of the relabelling (the draw at step k is a function of (seed, k))."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        self.net.validate()
        self.actor_goals.validate("actor_goals")
        if self.per_trajectory < 1 or self.action_dim < 1 or not self.max_action_norm > 0:
            raise ValueError(f"{type(self).__name__} needs per_trajectory >= 1, action_dim >= 1, max_action_norm > 0,"
                             f" got {self.per_trajectory}, {self.action_dim}, {self.max_action_norm}")


@dataclass
class ValuePolicyConfig(GoalPolicyConfig):
    """A policy extracted from a goal-conditioned value learned by expectile TD (GCIQL, HIQL)."""

    value_goals: GoalSampling = field(default_factory=value_goals)
    """Goals of the value losses (OGBench: cur 0.2, traj 0.5 geometric, random 0.3)."""
    discount: float = 0.99
    """gamma (OGBench: 0.99)."""
    expectile: float = 0.7
    """tau of the value's expectile regression (OGBench HIQL: 0.7; GCIQL: 0.9)."""
    max_weight: float = 100.0
    """AWR weight clip (IQL, OGBench: 100)."""
    target_tau: float = 0.005
    """EMA rate of the target network per optimizer step (OGBench: 0.005)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        super().validate()
        self.value_goals.validate("value_goals")
        if not (0 <= self.discount < 1 and 0 < self.expectile < 1 and 0 < self.target_tau <= 1):
            raise ValueError(f"{type(self).__name__} needs discount in [0, 1), expectile in (0, 1), target_tau in "
                             f"(0, 1], got {self.discount}, {self.expectile}, {self.target_tau}")
