"""A goal cost with a learned cost-to-go beyond the horizon: ``base(z_traj, goal) + weight * V(z_T, goal)``.

A planner sees only T predicted steps; where the latent goal energy is flat (the goal is farther than the
energy resolves, or behind a wall) every candidate looks alike. A critic V(z, g) (nn/latent_critic.py, fitted
by adapt/critic_fit.py) estimates the discounted number of model steps still needed from the plan's last
latent, so the search prefers plans that end where the goal is *reachable soon*, not merely *looks close*.

Examples:
    >>> import torch
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> critic = lambda z, g: (z - g).abs().sum(dim=-1)          # any (B, D), (B, D) -> (B,)
    >>> cost = CriticCost(goal_distance_cost("l2", reduce="last"), critic, weight=2.0)
    >>> z = torch.tensor([[[[3.0, 4.0]], [[0.0, 1.0]]]])           # (N=1, S=2, T=1, D=2)
    >>> cost(z, torch.zeros(1, 2))                                 # l2 + 2 * l1 of the last step
    tensor([[19.,  3.]])
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from jepa_world.planning.protocols import CostFn

Critic = Callable[[Tensor, Tensor], Tensor]
"""A cost-to-go: z (B, D), goal (B, D) -> (B,)."""


class CriticCost:
    """``base(z_traj, goal) + weight * critic(z_traj[:, :, -1], goal)``: (N, S, T, D), (N, D) -> (N, S)."""

    def __init__(self, base: CostFn, critic: Critic, *, weight: float = 1.0) -> None:
        if not weight >= 0:
            raise ValueError(f"critic weight must be >= 0, got {weight}")
        self.base, self.critic, self.weight = base, critic, weight

    def __call__(self, z_traj: Tensor, goal: Tensor) -> Tensor:
        """z_traj (N, S, T, D), goal (N, D) -> (N, S)."""
        n, s, _, d = z_traj.shape
        last = z_traj[:, :, -1].reshape(n * s, d)
        goals = goal[:, None, :].expand(n, s, d).reshape(n * s, d)
        return self.base(z_traj, goal) + self.weight * self.critic(last, goals).reshape(n, s)
