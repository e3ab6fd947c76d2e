"""Gradient-based planner: Adam on the action sequence, through the differentiable world model.

The cost ``cost(rollout(z0, a), goal)`` is differentiable in the actions ``a``, so the plan can be
found by plain first-order optimisation (as in "shooting" methods of trajectory optimisation).
Each environment runs S independent restarts in one batch; after every Adam step the actions are
projected back onto the L2 ball of radius ``max_norm`` (projected gradient descent), and the
cheapest sequence any restart ever reached is returned. Gradients are taken with
``torch.autograd.grad`` with respect to the actions only: the world model's parameters receive no
``.grad``, so planning can interleave with training safely.

Restart 0 starts from the warm start (or from zero actions), the others from Gaussian noise of
scale ``init_std`` around it: a non-convex latent landscape gets several chances, a convex one
loses nothing.

Examples:
    >>> import torch
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> planner = GradientPlanner(PointMass(), goal_distance_cost(), GradientConfig(horizon=4))
    >>> planner.plan(torch.zeros(2, 2), torch.ones(2, 2)).actions.shape
    torch.Size([2, 4, 2])
"""

from __future__ import annotations

import math
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
class GradientConfig:
    """Settings of the gradient-descent planner."""

    horizon: int = 16
    """Number of actions T in a planned sequence."""
    action_dim: int = 2
    """Size A of one action vector."""
    num_samples: int = 4
    """Parallel restarts S per environment (restart 0 starts at the warm start or at zero)."""
    iterations: int = 40
    """Adam steps per plan() call."""
    lr: float = 0.5
    """Adam learning rate (roughly the largest change of one action vector per step)."""
    lr_decay: float = 0.1
    """Final learning rate as a fraction of lr, reached by cosine decay over the iterations."""
    init_std: float = 0.5
    """Standard deviation of the Gaussian initialisation of restarts 1..S-1 around restart 0."""
    max_norm: float | None = 2.45
    """Bound on the L2 norm of each action (Two Rooms uses 2.45); None for unbounded actions."""
    seed: int = 0
    """Seed of the planner's random stream: the same seed and inputs give the same plans."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value."""
        for name in ("horizon", "action_dim", "num_samples", "iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"GradientConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or not 0 < self.lr_decay <= 1:
            raise ValueError(
                f"GradientConfig needs lr > 0, lr_decay in (0, 1]; got {self.lr}, {self.lr_decay}"
            )
        if self.init_std < 0:
            raise ValueError(f"GradientConfig.init_std must be >= 0, got {self.init_std}")
        if self.max_norm is not None and self.max_norm <= 0:
            raise ValueError(f"GradientConfig.max_norm must be > 0 or None, got {self.max_norm}")


@dataclass
class AdamState:
    """Adam (Kingma & Ba, 2015) moments for action sequences (..., A), with one scale per action vector.

    Plain Adam divides every coordinate by its own gradient scale, so under a constant gradient it
    steps along a diagonal (lr * sign(g)); combined with the projection onto the norm ball it then
    stalls at the wrong point of the sphere (e.g. at 45 degrees instead of straight at a far goal).
    Here the second moment is the mean over the A coordinates of each action, so the step is
    parallel to the (averaged) gradient within each action vector: the projected iteration is then
    stationary exactly where the gradient is normal to the sphere, the constrained optimum.
    """

    m: Tensor
    """Exponential average of gradients, shaped like the variables (..., A)."""
    v: Tensor
    """Exponential average of the per-action mean squared gradient, shaped (..., 1)."""
    t: int = 0
    """Number of steps taken (for the bias correction)."""

    @classmethod
    def zeros_like(cls, x: Tensor) -> AdamState:
        """Fresh moments for variables shaped like ``x``."""
        return cls(m=torch.zeros_like(x), v=torch.zeros_like(x[..., :1]))

    def step(
        self, grad: Tensor, *, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> Tensor:
        """Update the moments with ``grad`` and return the step to subtract from the variables."""
        b1, b2 = betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad.pow(2).mean(dim=-1, keepdim=True)  # (..., 1)
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        return lr * m_hat / (v_hat.sqrt() + eps)


class GradientPlanner:
    """Plans action sequences (N, T, A) for N environments at once by projected Adam with restarts."""

    def __init__(self, world_model: WorldModel, cost: CostFn, config: GradientConfig | None = None) -> None:
        self.world_model = world_model
        self.cost = cost
        self.config = config or GradientConfig()
        self.config.validate()
        self._generator: torch.Generator | None = None

    def _score(self, z0: Tensor, goal: Tensor, actions: Tensor) -> Tensor:
        """actions (N, S, T, A) -> cost (N, S)."""
        return sequence_cost(self.world_model, self.cost, z0=z0, goal=goal, actions=actions)

    def _init(self, z0: Tensor, warm_start: Tensor | None) -> Tensor:
        """Restart 0 at the warm start (or zero), the others Gaussian around it: (N, S, T, A)."""
        cfg = self.config
        n = z0.shape[0]
        center = z0.new_zeros(n, cfg.horizon, cfg.action_dim) if warm_start is None else warm_start.to(z0)
        std = torch.full_like(center, cfg.init_std)
        return sample_around(center, std, num_samples=cfg.num_samples, generator=self._generator,
                             max_norm=cfg.max_norm)

    def _lr(self, it: int) -> float:
        """Cosine decay from lr to lr * lr_decay over the iterations."""
        cfg = self.config
        frac = it / max(cfg.iterations - 1, 1)
        return cfg.lr * (cfg.lr_decay + (1 - cfg.lr_decay) * 0.5 * (1 + math.cos(math.pi * frac)))

    @torch.no_grad()
    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        """z0 (N, D), goal (N, D), warm_start (N, T, A) or None -> actions (N, T, A), cost (N,), stats."""
        cfg = self.config
        check_plan_inputs(z0, goal, warm_start, horizon=cfg.horizon, action_dim=cfg.action_dim)
        self._generator = device_generator(self._generator, z0.device, cfg.seed)
        z0, goal = z0.detach(), goal.detach()
        actions = self._init(z0, warm_start)  # (N, S, T, A)
        adam = AdamState.zeros_like(actions)
        best_actions, best_cost = actions[:, 0].clone(), z0.new_full((z0.shape[0],), float("inf"))
        for it in range(cfg.iterations):
            costs, grad = self._cost_and_grad(z0, goal, actions)  # (N, S), (N, S, T, A)
            best_actions, best_cost = keep_best(best_actions, best_cost, candidates=actions, costs=costs)
            step = adam.step(grad, lr=self._lr(it))
            actions = clip_action_norm(actions - step, cfg.max_norm)
        final_costs = self._score(z0, goal, actions)  # (N, S)
        best_actions, best_cost = keep_best(best_actions, best_cost, candidates=actions, costs=final_costs)
        spread = (final_costs.max(dim=1).values - final_costs.min(dim=1).values).mean().item()
        stats = {"iterations": float(cfg.iterations), "mean_cost": best_cost.mean().item(),
                 "restart_cost_spread": spread}
        return PlanResult(actions=best_actions, cost=best_cost, stats=stats)

    def _cost_and_grad(self, z0: Tensor, goal: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """actions (N, S, T, A) -> cost (N, S) and d(cost)/d(actions) (N, S, T, A), both detached.

        Runs under enable_grad even if the caller is in no_grad; only the actions get a gradient.
        """
        with torch.enable_grad():
            leaf = actions.detach().requires_grad_(True)
            costs = self._score(z0, goal, leaf)  # (N, S)
            (grad,) = torch.autograd.grad(costs.sum(), leaf)
        return costs.detach(), grad
