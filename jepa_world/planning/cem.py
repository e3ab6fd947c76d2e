"""Cross-entropy method (CEM) planner over action sequences in representation space.

Rubinstein's cross-entropy method applied to MPC: per environment keep a diagonal Gaussian over
the whole action sequence (N, T, A); each iteration draws S candidates, rolls them through the
world model in one batch, keeps the K cheapest ("elites") and refits the Gaussian to them. The
returned plan is the cheapest sequence ever evaluated, so extra iterations never make it worse.

Examples:
    >>> import torch
    >>> class PointMass:                        # z is a 2-D position, an action moves it
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> planner = CEMPlanner(PointMass(), goal_distance_cost(), CEMConfig(horizon=4))
    >>> result = planner.plan(torch.zeros(3, 2), torch.ones(3, 2))
    >>> result.actions.shape, result.cost.shape
    (torch.Size([3, 4, 2]), torch.Size([3]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.planning.actions import (
    check_plan_inputs,
    clip_action_norm,
    device_generator,
    keep_best,
    sample_around,
)
from jepa_world.planning.costs import sequence_cost
from jepa_world.planning.protocols import CostFn, PlanResult, WorldModel


@dataclass
class CEMConfig:
    """Settings of the cross-entropy method planner."""

    horizon: int = 16
    """Number of actions T in a planned sequence."""
    action_dim: int = 2
    """Size A of one action vector."""
    num_samples: int = 256
    """Candidate action sequences S drawn per environment and iteration (one is the current mean)."""
    num_elites: int = 24
    """Cheapest candidates K kept to refit the Gaussian."""
    iterations: int = 5
    """Sample-and-refit rounds per plan() call."""
    init_std: float = 1.5
    """Initial per-coordinate standard deviation of the sampling Gaussian."""
    min_std: float = 0.05
    """Floor on the standard deviation, so the search never freezes completely."""
    momentum: float = 0.1
    """Weight of the previous mean/std in each refit: new = momentum * old + (1 - momentum) * elite fit."""
    max_norm: float | None = 2.45
    """Bound on the L2 norm of each action (Two Rooms uses 2.45); None for unbounded actions."""
    seed: int = 0
    """Seed of the planner's random stream: the same seed and inputs give the same plans."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value."""
        for name in ("horizon", "action_dim", "num_samples", "num_elites", "iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"CEMConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_elites > self.num_samples:
            raise ValueError(f"CEMConfig.num_elites={self.num_elites} exceeds num_samples={self.num_samples}")
        if self.init_std <= 0 or self.min_std < 0:
            raise ValueError(
                f"CEMConfig needs init_std > 0, min_std >= 0; got {self.init_std}, {self.min_std}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"CEMConfig.momentum must be in [0, 1), got {self.momentum}")
        if self.max_norm is not None and self.max_norm <= 0:
            raise ValueError(f"CEMConfig.max_norm must be > 0 or None, got {self.max_norm}")


class CEMPlanner:
    """Plans action sequences (N, T, A) for N environments at once with the cross-entropy method."""

    def __init__(self, world_model: WorldModel, cost: CostFn, config: CEMConfig | None = None) -> None:
        self.world_model = world_model
        self.cost = cost
        self.config = config or CEMConfig()
        self.config.validate()
        self._generator: torch.Generator | None = None

    def _score(self, z0: Tensor, goal: Tensor, actions: Tensor) -> Tensor:
        """actions (N, S, T, A) -> cost (N, S)."""
        return sequence_cost(self.world_model, self.cost, z0=z0, goal=goal, actions=actions)

    @torch.no_grad()
    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        """z0 (N, D), goal (N, D), warm_start (N, T, A) or None -> actions (N, T, A), cost (N,), stats."""
        cfg = self.config
        check_plan_inputs(z0, goal, warm_start, horizon=cfg.horizon, action_dim=cfg.action_dim)
        self._generator = device_generator(self._generator, z0.device, cfg.seed)
        n = z0.shape[0]
        mean = z0.new_zeros(n, cfg.horizon, cfg.action_dim) if warm_start is None else warm_start.to(z0)
        std = torch.full_like(mean, cfg.init_std)  # (N, T, A)
        best_actions, best_cost = mean.clone(), z0.new_full((n,), float("inf"))
        for _ in range(cfg.iterations):
            samples = sample_around(mean, std, num_samples=cfg.num_samples, generator=self._generator,
                                    max_norm=cfg.max_norm)  # (N, S, T, A)
            costs = self._score(z0, goal, samples)  # (N, S)
            best_actions, best_cost = keep_best(best_actions, best_cost, candidates=samples, costs=costs)
            elite_idx = costs.topk(cfg.num_elites, dim=1, largest=False).indices  # (N, K)
            elites = samples[torch.arange(n, device=z0.device)[:, None], elite_idx]  # (N, K, T, A)
            mean = cfg.momentum * mean + (1 - cfg.momentum) * elites.mean(dim=1)
            std = cfg.momentum * std + (1 - cfg.momentum) * elites.std(dim=1, correction=0)
            std = std.clamp_min(cfg.min_std)
        final = clip_action_norm(mean, cfg.max_norm).unsqueeze(1)  # (N, 1, T, A): the last refit mean
        best_actions, best_cost = keep_best(best_actions, best_cost, candidates=final,
                                            costs=self._score(z0, goal, final))
        stats = {"iterations": float(cfg.iterations), "mean_cost": best_cost.mean().item(),
                 "final_std": std.mean().item()}
        return PlanResult(actions=best_actions, cost=best_cost, stats=stats)
