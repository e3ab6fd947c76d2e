"""Hierarchical planning: latent subgoals from a coarse-time-scale model, primitive actions from any planner.

:class:`HierarchicalPlanner` implements the :class:`~jepa_world.planning.protocols.Planner`
protocol over any :class:`~jepa_world.planning.protocols.WorldModel` (nothing here knows an
environment):

1. **High level.** Every ``high_every`` calls of :meth:`plan` it searches a sequence of latent
   subgoals from z0 toward the goal with a :class:`~jepa_world.planning.high_level.HighLevelModel`
   (macro-actions of k primitive steps): by the pruned tree search of
   :mod:`~jepa_world.planning.subgoal_search` (``search="tree"``) or by CEM / MPPI over macro-action
   sequences (``search="cem" | "mppi"``, warm-started from the previous plan). The waypoints are the
   path's latents followed by the goal; each search replaces the previous path (keeping the old
   one unless a new one was better, with or without a margin, measured worse on the maze).
2. **Subgoal tracking.** At every call the waypoint index advances past the waypoints the agent
   has reached (latent distance below ``reach`` x the macro-action scale); the low level aims
   ``lookahead`` waypoints beyond the first unreached one (the goal once the path is done).
3. **Low level.** Any registered planner (``low_planner``: CEM, MPPI, gradient) plans ``horizon``
   primitive actions toward that subgoal with the same cost, warm-started by the MPC loop.

The high-level model is either ``HeldActionModel(world_model, macro_steps)`` (``high_level="held"``:
exact for an exact world model, an approximation for a learned one) or a learned model passed as
``HierarchicalPlanner(..., high_level=model)`` (or found as ``world_model.high_level`` with
``high_level="model"``). State (the waypoints) lives between calls; it is reset by :meth:`reset`
and whenever the goal changes. :meth:`plan` returns a :class:`HierarchicalPlanResult`: the
low-level plan plus the waypoints and the current subgoal, for pictures.

Defaults (measured on the maze with the oracle and a learned model, docs/hierarchical.md) assume
the planner's world model steps 5 env steps (``MPCConfig(action_repeat=5, replan_every=5)``): a
macro-action is 1 of them (5 env steps), the tree is 18 macro-actions deep (90 env steps), the low
level (MPPI, 64 samples, 3 iterations) plans 6 x 5 = 30 steps toward the waypoint after next and
the path is searched anew every 6 calls (30 env steps).

Examples:
    >>> import torch
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> from jepa_world.planning.registry import make_planner
    >>> planner = make_planner("hierarchical", PointMass(), goal_distance_cost("l2", reduce="last"),
    ...                        HierarchicalConfig(horizon=4, macro_steps=4, depth=4, width=8))
    >>> result = planner.plan(torch.zeros(3, 2), torch.full((3, 2), 20.0))
    >>> result.actions.shape, result.target.shape, result.waypoints.shape[0]
    (torch.Size([3, 4, 2]), torch.Size([3, 2]), 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from jepa_world.planning.actions import check_plan_inputs, device_generator, shift_warm_start
from jepa_world.planning.high_level import HeldActionModel, HighLevelAsWorldModel, HighLevelModel
from jepa_world.planning.protocols import (
    BoundedActions,
    CostFn,
    HasHighLevel,
    PlanResult,
    SearchFactory,
    WorldModel,
    WrapsModel,
)
from jepa_world.planning.subgoal_search import SubgoalPath, SubgoalSearchConfig, macro_scale, search_subgoals


@dataclass
class HierarchicalConfig:
    """Settings of the two-level planner: the low-level planner first, then the subgoal search."""

    horizon: int = 6
    """Primitive actions T the low level plans per call (steps of the planner's world model)."""
    action_dim: int = 2
    """Size A of one primitive action."""
    max_norm: float | None = 2.45
    """Bound on the L2 norm of each primitive action (and of a held macro-action); None for unbounded."""
    low_planner: str = "mppi"
    """Low-level planner: 'cem', 'mppi' or 'gradient'."""
    num_samples: int = 64
    """Low-level candidate sequences per environment and iteration (restarts for 'gradient')."""
    num_elites: int = 8
    """Low-level elites (CEM / MPPI)."""
    iterations: int = 3
    """Low-level iterations per call."""
    high_level: Literal["held", "model"] = "held"
    """'held': a macro-action is a primitive action held macro_steps steps through the world model;
    'model': use ``world_model.high_level`` (a learned HighLevelModel) or the one passed to the constructor."""
    macro_steps: int = 1
    """With high_level='held': world-model steps per macro-action."""
    search: Literal["tree", "cem", "mppi"] = "tree"
    """High-level search: pruned tree over macro-actions, or CEM / MPPI over macro-action sequences."""
    depth: int = 18
    """Macro-actions along the longest high-level path (tree search rounds / CEM horizon)."""
    width: int = 24
    """Tree search: nodes expanded (and most nodes added) per round and environment."""
    branching: int = 8
    """Tree search: macro-actions tried from every expanded node."""
    novelty: float = 0.3
    """Tree search: kept nodes are novelty x (latent length of one macro-action) apart."""
    greedy: float = 0.25
    """Tree search: share of the expanded nodes chosen as the closest to the goal (the rest: least expanded)."""
    length_penalty: float = 0.05
    """Tree search: cost per macro-action of a path, in units of the macro-action length."""
    high_samples: int = 128
    """CEM / MPPI search: candidate macro-action sequences per environment and iteration."""
    high_iterations: int = 4
    """CEM / MPPI search: iterations per high-level plan."""
    high_every: int = 6
    """plan() calls between two high-level searches (1: search at every call)."""
    lookahead: int = 1
    """The low level aims this many waypoints beyond the first unreached one."""
    reach: float = 0.5
    """A waypoint counts as reached within reach x (latent length of one macro-action)."""
    seed: int = 0
    """Seed of the planner's random streams."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value."""
        for name in ("horizon", "action_dim", "num_samples", "num_elites", "iterations", "macro_steps", "depth",
                     "width", "branching", "high_samples", "high_iterations", "high_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"HierarchicalConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.low_planner not in ("cem", "mppi", "gradient"):
            raise ValueError(f"HierarchicalConfig.low_planner must be 'cem', 'mppi' or 'gradient', "
                             f"got {self.low_planner!r}")
        if self.search not in ("tree", "cem", "mppi"):
            raise ValueError(f"HierarchicalConfig.search must be 'tree', 'cem' or 'mppi', got {self.search!r}")
        if self.high_level not in ("held", "model"):
            raise ValueError(f"HierarchicalConfig.high_level must be 'held' or 'model', got {self.high_level!r}")
        if self.lookahead < 0 or self.reach < 0:
            raise ValueError(f"HierarchicalConfig needs lookahead >= 0 and reach >= 0, got {self.lookahead}, "
                             f"{self.reach}")
        self.tree_config()

    def tree_config(self) -> SubgoalSearchConfig:
        """The subgoal tree search's settings."""
        return SubgoalSearchConfig(rounds=self.depth, width=self.width, branching=self.branching, novelty=self.novelty,
                                   greedy=self.greedy, length_penalty=self.length_penalty)


@dataclass
class HierarchicalPlanResult(PlanResult):
    """A low-level plan with the high-level context it was made in."""

    waypoints: Tensor | None = None
    """(N, K, D) the current latent waypoints: the high-level path, then the goal (repeated as padding)."""
    target: Tensor | None = None
    """(N, D) the subgoal the low level aimed at."""
    target_index: Tensor | None = None
    """(N,) int64 its index in ``waypoints``."""


def _find_high_level(world_model: WorldModel) -> HighLevelModel:
    """``world_model.high_level``, looking through wrappers such as ChunkedWorldModel (``.base``)."""
    model = world_model
    while model is not None:
        if isinstance(model, HasHighLevel) and isinstance(model.high_level, HighLevelModel):
            return model.high_level
        model = model.base if isinstance(model, WrapsModel) else None
    raise ValueError(f"high_level='model' needs a HighLevelModel as world_model.high_level or as the high_level "
                     f"argument; {type(world_model).__name__} has none")


class HierarchicalPlanner:
    """Two-level MPC planner: latent subgoals from a high-level model, actions from a low-level planner."""

    def __init__(self, world_model: WorldModel, cost: CostFn, config: HierarchicalConfig | None = None, *,
                 make_search: SearchFactory, high_level: HighLevelModel | None = None) -> None:
        self.world_model = world_model
        self.cost = cost
        self.config = config = config or HierarchicalConfig()
        config.validate()
        if high_level is not None:
            self.high_level = high_level
        elif config.high_level == "model":
            self.high_level = _find_high_level(world_model)
        else:
            self.high_level = HeldActionModel(world_model, config.macro_steps, action_dim=config.action_dim,
                                              max_norm=config.max_norm if config.max_norm is not None else 1.0)
        self.low = make_search(config.low_planner, world_model, cost, **self._low_fields())
        self._high_sampler = None
        if config.search != "tree":
            self._high_sampler = make_search(
                config.search, HighLevelAsWorldModel(self.high_level), cost, horizon=config.depth,
                action_dim=self.high_level.macro_dim, num_samples=config.high_samples,
                num_elites=min(32, config.high_samples), iterations=config.high_iterations,
                max_norm=self.high_level.max_norm if isinstance(self.high_level, BoundedActions) else None,
                seed=config.seed + 1)
        self._generator: torch.Generator | None = None
        self.reset()

    def _low_fields(self) -> dict:
        """The low-level planner's settings (the factory drops those its config does not have, e.g. a gradient
        planner's samples)."""
        cfg = self.config
        return {"horizon": cfg.horizon, "action_dim": cfg.action_dim, "max_norm": cfg.max_norm,
                "num_samples": cfg.num_samples, "num_elites": cfg.num_elites, "iterations": cfg.iterations,
                "seed": cfg.seed}

    def reset(self) -> None:
        """Forget the waypoints (a new episode starts)."""
        self._goal: Tensor | None = None
        self._waypoints: Tensor | None = None  # (N, K, D) the path's latents, then the goal
        self._progress: Tensor | None = None  # (N,) index of the first unreached waypoint
        self._scale: Tensor | None = None  # (N,) latent length of one macro-action (fixed per episode)
        self._macros: Tensor | None = None  # (N, depth, M) the CEM/MPPI search's plan
        self._calls = 0
        self.high_searches = 0

    @torch.no_grad()
    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> HierarchicalPlanResult:
        """z0 (N, D), goal (N, D), warm_start (N, T, A) or None -> the low-level plan (N, T, A) toward the subgoal."""
        cfg = self.config
        check_plan_inputs(z0, goal, warm_start, horizon=cfg.horizon, action_dim=cfg.action_dim)
        if self._goal is None or self._goal.shape != goal.shape or not torch.equal(self._goal, goal):
            self.reset()
            self._goal = goal.clone()
        if self._calls % cfg.high_every == 0:
            self._plan_high(z0, goal)
        self._calls += 1
        index = self._advance(z0)  # (N,)
        rows = torch.arange(z0.shape[0], device=z0.device)
        target = self._waypoints[rows, index]  # (N, D)
        low = self.low.plan(z0, target, warm_start)
        stats = {**low.stats, "high_searches": float(self.high_searches),
                 "waypoints": float(self._waypoints.shape[1]), "target_index": index.float().mean().item()}
        return HierarchicalPlanResult(actions=low.actions, cost=low.cost, stats=stats, waypoints=self._waypoints,
                                      target=target, target_index=index)

    # --- high level --------------------------------------------------------------------------------

    def _plan_high(self, z0: Tensor, goal: Tensor) -> None:
        """Search a new path from z0 and make it the current one; rows already within reach of the goal (done
        episodes) skip the tree search and keep the goal as their only waypoint."""
        self._generator = device_generator(self._generator, z0.device, self.config.seed)
        self.high_searches += 1
        if self._high_sampler is not None:
            path = self._search_sampled(z0, goal)
            self._set_path(_waypoints(path, goal), path.scale)
            return
        active = torch.ones(z0.shape[0], dtype=torch.bool, device=z0.device)
        if self._scale is not None:
            active = torch.linalg.vector_norm(goal - z0, dim=-1) > self.config.reach * self._scale
        rows = torch.nonzero(active).flatten()
        waypoints = goal[:, None].clone()  # (N, 1, D): just the goal
        scale = self._scale
        if rows.numel():
            path = self._search_tree(z0[rows], goal[rows])
            found = _waypoints(path, goal[rows])  # (n_active, L + 1, D)
            waypoints = goal[:, None].expand(-1, found.shape[1], -1).clone()
            waypoints[rows] = found
            scale = path.scale.new_full((z0.shape[0],), float(path.scale[0])) if scale is None else scale
        self._set_path(waypoints, scale)

    def _set_path(self, waypoints: Tensor, scale: Tensor) -> None:
        self._waypoints = waypoints  # (N, K, D)
        self._progress = torch.zeros(waypoints.shape[0], dtype=torch.long, device=waypoints.device)
        if self._scale is None:
            self._scale = scale

    def _search_tree(self, z0: Tensor, goal: Tensor) -> SubgoalPath:
        return search_subgoals(self.high_level, z0, goal, cost=self.cost, config=self.config.tree_config(),
                               generator=self._generator)

    def _search_sampled(self, z0: Tensor, goal: Tensor) -> SubgoalPath:
        """CEM / MPPI over macro-action sequences; the path is cut at its point closest to the goal."""
        warm = None
        if self._macros is not None and self._macros.shape[0] == z0.shape[0]:
            warm = shift_warm_start(self._macros, shift=int(self._progress.min().clamp_max(self.config.depth)))
        result = self._high_sampler.plan(z0, goal, warm)
        self._macros = result.actions  # (N, H, M)
        latents = HighLevelAsWorldModel(self.high_level).rollout(z0, result.actions)  # (N, H, D)
        step_cost = self.cost(latents.unsqueeze(2), goal)  # (N, H): each latent as a one-step trajectory
        best = step_cost.argmin(dim=1)
        length = best + 1
        rows = torch.arange(z0.shape[0], device=z0.device)
        scale = macro_scale(latents[:, :1], z0)
        return SubgoalPath(latents=latents, macros=result.actions, length=length, cost=step_cost[rows, best],
                           nodes=torch.full_like(length, latents.shape[1]), scale=scale)

    # --- subgoal tracking --------------------------------------------------------------------------

    def _advance(self, z0: Tensor) -> Tensor:
        """Move each row's first unreached waypoint forward: z0 (N, D) -> target index (N,)."""
        wp = self._waypoints  # (N, K, D)
        k = wp.shape[1]
        dist = torch.linalg.vector_norm(wp - z0[:, None], dim=-1)  # (N, K)
        idx = torch.arange(k, device=z0.device)
        reached = dist < (self.config.reach * self._scale)[:, None]  # (N, K)
        last_reached = torch.where(reached, idx, torch.full_like(idx, -1)).amax(dim=1)  # (N,)
        progress = torch.maximum(self._progress, last_reached + 1).clamp_max(k - 1)
        self._progress = progress
        return (progress + self.config.lookahead).clamp_max(k - 1)


def _waypoints(path: SubgoalPath, goal: Tensor) -> Tensor:
    """Path latents then the goal: (N, L + 1, D); entries past a row's length hold the goal."""
    n, length, d = path.latents.shape
    out = torch.cat([path.latents, goal[:, None]], dim=1)  # (N, L + 1, D)
    past = torch.arange(length + 1, device=goal.device)[None] >= path.length[:, None]  # (N, L + 1)
    return torch.where(past[..., None], goal[:, None].expand(n, length + 1, d), out)
