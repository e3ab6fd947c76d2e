"""Model predictive path integral (MPPI) planner over action sequences in representation space.

MPPI (Williams et al., "Information Theoretic MPC for Model-Based Reinforcement Learning", 2017)
perturbs the current mean action sequence with Gaussian noise, scores every perturbed sequence
through the world model and moves the mean to the average of the candidates weighted by
``softmax(-cost / temperature)``: cheap sequences pull hard, expensive ones barely at all.

Two refinements follow the MPPI used in TD-MPC2 (Hansen et al., 2024). First, only the K cheapest
candidates enter the weighted average; the rest are discarded before weighting, which makes the
update a soft version of CEM's elite refit. Second, the sampling spread is re-estimated each
iteration as the weighted standard deviation of those elites (kept within [min_std, max_std]), so
the search narrows as the candidates agree.

Temperature and cost scale: the weights depend on cost *differences* divided by the temperature,
so a fixed temperature means different things for a latent space with costs near 1e-3 and one
with costs near 1e3. With ``normalize_costs=True`` (default) the elite costs of each environment
are mapped to [0, 1] by subtracting their minimum and dividing by their range before weighting;
the temperature then reads as "how many e-folds of weight separate the best from the worst elite"
(temperature 0.5 -> the worst elite gets e^-2 of the best one's weight), whatever the cost units.
With ``normalize_costs=False`` only the minimum is subtracted (numerical safety, weights unchanged)
and the temperature is in cost units, as in the original MPPI.

Examples:
    >>> import torch
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> planner = MPPIPlanner(PointMass(), goal_distance_cost(), MPPIConfig(horizon=4))
    >>> planner.plan(torch.zeros(2, 2), torch.ones(2, 2)).actions.shape
    torch.Size([2, 4, 2])
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
class MPPIConfig:
    """Settings of the MPPI planner."""

    horizon: int = 16
    """Number of actions T in a planned sequence."""
    action_dim: int = 2
    """Size A of one action vector."""
    num_samples: int = 256
    """Candidate action sequences S drawn per environment and iteration (one is the current mean)."""
    num_elites: int = 32
    """Cheapest candidates K that enter the weighted average; set equal to num_samples for plain MPPI."""
    iterations: int = 5
    """Sample-and-update rounds per plan() call."""
    temperature: float = 0.5
    """Softmax temperature of the weights exp(-cost / temperature); see normalize_costs for its units."""
    normalize_costs: bool = True
    """Map each environment's elite costs to [0, 1] before weighting, making the temperature unit-free."""
    init_std: float = 1.5
    """Initial per-coordinate standard deviation of the perturbations."""
    min_std: float = 0.05
    """Lower bound on the re-estimated standard deviation."""
    max_std: float = 2.0
    """Upper bound on the re-estimated standard deviation."""
    momentum: float = 0.1
    """Weight of the previous mean/std in each update: new = momentum * old + (1 - momentum) * estimate."""
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
                raise ValueError(f"MPPIConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_elites > self.num_samples:
            raise ValueError(f"MPPIConfig.num_elites={self.num_elites} > num_samples={self.num_samples}")
        if self.temperature <= 0:
            raise ValueError(f"MPPIConfig.temperature must be > 0, got {self.temperature}")
        if self.init_std <= 0 or not 0 <= self.min_std <= self.max_std:
            raise ValueError(f"MPPIConfig needs init_std > 0 and 0 <= min_std <= max_std, got "
                             f"{self.init_std}, {self.min_std}, {self.max_std}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"MPPIConfig.momentum must be in [0, 1), got {self.momentum}")
        if self.max_norm is not None and self.max_norm <= 0:
            raise ValueError(f"MPPIConfig.max_norm must be > 0 or None, got {self.max_norm}")


def mppi_weights(costs: Tensor, *, temperature: float, normalize: bool = True) -> Tensor:
    """Path-integral weights: costs (N, K) -> weights (N, K), each row summing to one.

    Costs are shifted by their per-row minimum (and, with ``normalize``, divided by their per-row
    range) before ``softmax(-cost / temperature)``.
    """
    low = costs.min(dim=1, keepdim=True).values  # (N, 1)
    shifted = costs - low  # (N, K), >= 0
    if normalize:
        spread = costs.max(dim=1, keepdim=True).values - low  # (N, 1)
        shifted = shifted / spread.clamp_min(1e-12)
    return torch.softmax(-shifted / temperature, dim=1)


class MPPIPlanner:
    """Plans action sequences (N, T, A) for N environments at once with (elite) MPPI."""

    def __init__(self, world_model: WorldModel, cost: CostFn, config: MPPIConfig | None = None) -> None:
        self.world_model = world_model
        self.cost = cost
        self.config = config or MPPIConfig()
        self.config.validate()
        self._generator: torch.Generator | None = None

    def _score(self, z0: Tensor, goal: Tensor, actions: Tensor) -> Tensor:
        """actions (N, S, T, A) -> cost (N, S)."""
        return sequence_cost(self.world_model, self.cost, z0=z0, goal=goal, actions=actions)

    def _update(self, elites: Tensor, elite_cost: Tensor) -> tuple[Tensor, Tensor]:
        """elites (N, K, T, A), elite_cost (N, K) -> weighted mean and std, each (N, T, A)."""
        cfg = self.config
        w = mppi_weights(elite_cost, temperature=cfg.temperature, normalize=cfg.normalize_costs)
        w = w[:, :, None, None]  # (N, K, 1, 1)
        mean = (w * elites).sum(dim=1)  # (N, T, A)
        std = (w * (elites - mean.unsqueeze(1)).pow(2)).sum(dim=1).sqrt()  # (N, T, A)
        return mean, std

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
            elite_cost, elite_idx = costs.topk(cfg.num_elites, dim=1, largest=False)  # (N, K)
            elites = samples[torch.arange(n, device=z0.device)[:, None], elite_idx]  # (N, K, T, A)
            new_mean, new_std = self._update(elites, elite_cost)
            mean = cfg.momentum * mean + (1 - cfg.momentum) * new_mean
            std = (cfg.momentum * std + (1 - cfg.momentum) * new_std).clamp(cfg.min_std, cfg.max_std)
        final = clip_action_norm(mean, cfg.max_norm).unsqueeze(1)  # (N, 1, T, A): the last weighted mean
        best_actions, best_cost = keep_best(best_actions, best_cost, candidates=final,
                                            costs=self._score(z0, goal, final))
        stats = {"iterations": float(cfg.iterations), "mean_cost": best_cost.mean().item(),
                 "final_std": std.mean().item()}
        return PlanResult(actions=best_actions, cost=best_cost, stats=stats)
