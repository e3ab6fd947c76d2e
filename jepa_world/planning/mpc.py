"""Model-predictive control in latent space: plan, execute a few steps, observe, replan (warm-started).

:func:`run_mpc` drives N goal-reaching episodes in lock-step in a batched env (:class:`GoalEnv`:
``TwoRoomsBatch`` or ``MazeBatch``). The goal observation is encoded once per
episode batch; every ``replan_every`` environment steps the current observation is encoded once
(never per candidate) and ``planner.plan(z, goal, warm_start)`` returns a plan (N, T, A); the loop
executes its first actions and starts the next search from the same plan shifted by the actions
it consumed (:func:`~jepa_world.planning.actions.shift_warm_start`). A planner with a ``reset()``
method (the hierarchical one keeps subgoals between calls) is reset before the episodes start.

With ``action_repeat = r > 1`` every planned action is a *macro-action* held for r environment
steps: build the planner over ``ChunkedWorldModel(world_model, r)`` (``evaluate_planning`` does)
and pass the plain ``world_model`` here (it is used to encode and to decode recorded plans).

Examples:
    >>> import torch
    >>> from jepa_world.envs.two_rooms_batch import TwoRoomsBatch, sample_episodes
    >>> from jepa_world.methods.oracle import TwoRoomsOracle
    >>> from jepa_world.planning.chunked import ChunkedWorldModel
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> from jepa_world.planning.registry import make_planner
    >>> oracle = TwoRoomsOracle()
    >>> planner = make_planner("mppi", ChunkedWorldModel(oracle, 5), goal_distance_cost(reduce="last"),
    ...                        horizon=10, num_samples=32, iterations=2)
    >>> episodes = sample_episodes(2, generator=torch.Generator().manual_seed(0))
    >>> result = run_mpc(TwoRoomsBatch(2), oracle, planner, episodes=episodes,
    ...                  config=MPCConfig(replan_every=25, action_repeat=5))
    >>> result.distances.shape, len(result.replan_ms)
    (torch.Size([2, 201]), 8)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm import tqdm

from jepa_world.planning.actions import WarmFill, shift_warm_start
from jepa_world.planning.chunked import ChunkedWorldModel, expand_actions
from jepa_world.planning.protocols import Planner, PlanResult, WorldModel

Probe = Callable[[Tensor], Tensor]
"""Maps latents (..., D) to agent positions (..., 2) in px (for the oracle: ``z[..., :2]``)."""


class GoalEnv(Protocol):
    """N goal-reaching episodes in lock-step (``TwoRoomsBatch``, ``MazeBatch``).

    ``reset(episodes=...)`` and ``step(actions (N, A))`` return ``(obs (N, C, H, W), info)`` with
    ``info["goal_obs"]`` (N, C, H, W), ``info["distance"]`` (N,), ``info["pos"]`` (N, 2) and
    ``info["t"]``; ``config`` has ``max_steps`` and ``success_radius``.
    """

    num_envs: int
    config: Any

    def reset(self, seed: int | None = None, episodes: Any = None) -> tuple[Tensor, dict]: ...

    def step(self, actions: Tensor) -> tuple[Tensor, dict]: ...


@dataclass
class MPCConfig:
    """Settings of the receding-horizon loop."""

    replan_every: int = 4
    """Environment steps executed between two plan() calls."""
    action_repeat: int = 1
    """Environment steps per planned action. With r > 1 the planner must be built over
    ChunkedWorldModel(world_model, r) (run_mpc checks it when the planner exposes its world_model)."""
    warm_fill: WarmFill = "last"
    """How the warm start is padded after dropping consumed actions: 'last' repeats the final action, 'zero'."""
    stop_at_goal: bool = False
    """Give an environment zero actions once it has been within the success radius (default: keep planning)."""
    stall_ratio: float = 0.0
    """Escape stalls the model did not predict (0 = off): at a replan, an environment whose latent moved less
    than stall_ratio x the displacement the model predicted for the executed actions (e.g. pinned on a wall
    corner the model thought it could pass: replanning from the same state would repeat the same plan)
    executes escape_steps random actions (of the planned actions' norm) before following the new plan."""
    escape_steps: int = 3
    """Random actions an environment takes after an unpredicted stall."""
    escape_seed: int = 0
    """Seed of the escape actions."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value."""
        for name in ("replan_every", "action_repeat", "escape_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"MPCConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.stall_ratio < 1.0:
            raise ValueError(f"MPCConfig.stall_ratio must be in [0, 1), got {self.stall_ratio}")
        if self.warm_fill not in ("last", "zero"):
            raise ValueError(f"MPCConfig.warm_fill must be 'last' or 'zero', got {self.warm_fill!r}")

    @property
    def consumed(self) -> int:
        """Planned actions consumed between replans (a partly executed macro-action stays in the warm start)."""
        return self.replan_every // self.action_repeat


@dataclass
class MPCResult:
    """N episodes of MPC. S = episode length (200); R = number of plan() calls; L = S_plan + 1 path points."""

    final_distance: Tensor
    """(N,) distance to the goal after the last step (px)."""
    success: Tensor
    """(N,) bool: final distance below the success radius."""
    steps_to_success: Tensor
    """(N,) int64: first step index i (into ``distances``) with distance < radius; -1 if never."""
    distances: Tensor
    """(N, S + 1) distance to the goal before the first step and after every step."""
    positions: Tensor
    """(N, S + 1, 2) executed agent positions (px)."""
    episodes: Any
    """The layouts, starts and goals that were run (the env's episodes type)."""
    replan_ms: list[float]
    """Wall milliseconds of each plan() call for the whole batch, encoding included."""
    wall_s: float
    """Wall seconds of the whole episode batch (reset to last step), recording of plans excluded."""
    num_envs: int
    """N."""
    plan_steps: list[int] = field(default_factory=list)
    """With ``record``: the environment step at which each plan was made, (R,)."""
    planned_paths: Tensor | None = None
    """With ``record``: (R, N, L, 2) each plan's predicted positions at every env step, start included."""
    waypoints: Tensor | None = None
    """With ``record`` and a hierarchical planner: (R, N, K, 2) each plan's latent waypoints decoded by the
    probe (the high-level path, then the goal; shorter lists padded with their last waypoint)."""
    targets: Tensor | None = None
    """With ``record`` and a hierarchical planner: (R, N, 2) the decoded subgoal each plan aimed at."""
    escapes: Tensor | None = None
    """(N,) int64: unpredicted stalls escaped per episode (``MPCConfig.stall_ratio`` > 0), else None."""


def run_mpc(
    env: GoalEnv,
    world_model: WorldModel,
    planner: Planner,
    *,
    episodes: Any,
    config: MPCConfig,
    record: bool = False,
    probe: Probe | None = None,
    progress: bool = False,
) -> MPCResult:
    """Run ``env.num_envs`` episodes to their end with MPC; see the module docstring.

    ``record`` also stores every plan decoded by ``probe`` (latents (..., D) -> positions (..., 2)).
    """
    config.validate()
    _check_chunking(planner, config)
    if record and probe is None:
        raise ValueError("run_mpc(record=True) needs a probe mapping latents (..., D) to positions (..., 2)")
    start = time.perf_counter()
    if callable(getattr(planner, "reset", None)):
        planner.reset()
    obs, info = env.reset(episodes=episodes)
    goal = _encode(world_model, info["goal_obs"])  # (N, D), once per batch
    log = _Log(info, num_envs=env.num_envs, radius=env.config.success_radius)
    plan: Tensor | None = None
    escape = _Escape(config, env.num_envs)
    bar = tqdm(total=env.config.max_steps, disable=not progress, desc="mpc", unit="step", leave=False)
    for t in range(env.config.max_steps):
        k = t % config.replan_every  # steps executed since the last plan
        if k == 0:
            warm = None if plan is None else shift_warm_start(plan, shift=config.consumed, fill=config.warm_fill)
            z, result = log.timed_plan(world_model, planner, obs, goal, warm)
            escape.check(world_model, z)
            plan = result.actions.detach()
            _check_horizon(plan, config)
            if record:
                log.record_plan(t, partial(_planned_path, world_model, z, plan, config.action_repeat, probe))
                log.record_subgoals(result, probe)
        action = escape.action(plan[:, k // config.action_repeat].detach().cpu(), k)  # (N, A)
        if config.stop_at_goal:
            action = torch.where(log.reached[:, None], torch.zeros_like(action), action)
        obs, info = env.step(action)
        escape.executed(action)
        log.add(info)
        bar.update(1)
    bar.close()
    result = log.result(episodes, wall_s=time.perf_counter() - start)
    result.escapes = escape.counts if escape.on else None
    return result


MIN_EXPECTED = 0.1
"""Stalls count only where the predicted displacement is at least this share of the episode's largest one."""


class _Escape:
    """Stall escapes (``MPCConfig.stall_ratio``): remembers the latent of the last plan and the actions executed
    since, and replaces the first actions after an unpredicted stall by random ones."""

    def __init__(self, config: MPCConfig, num_envs: int) -> None:
        self.config = config
        self.on = config.stall_ratio > 0
        self.generator = torch.Generator().manual_seed(config.escape_seed)
        self.z: Tensor | None = None
        self.actions: list[Tensor] = []
        self.stalled = torch.zeros(num_envs, dtype=torch.bool)
        self.counts = torch.zeros(num_envs, dtype=torch.long)
        self.largest = torch.zeros(num_envs)

    def check(self, world_model: WorldModel, z: Tensor) -> None:
        """At a replan: which environments the new latent z (N, D) shows stalled against the model's prediction."""
        if not self.on:
            return
        self.stalled = torch.zeros_like(self.stalled)
        if self.z is not None and self.actions:
            with torch.no_grad():
                executed = torch.stack(self.actions, dim=1).to(self.z)  # (N, k, A)
                predicted = world_model.rollout(self.z, executed)[:, -1]  # (N, D)
            expected = torch.linalg.vector_norm(predicted - self.z, dim=-1).cpu()  # (N,)
            moved = torch.linalg.vector_norm(z - self.z, dim=-1).cpu()
            self.largest = torch.maximum(self.largest, expected)
            # a prediction of (almost) no motion cannot be refuted by none: under MIN_EXPECTED x the largest
            # displacement predicted so far in the episode, it is a model that knew the agent was pinned
            self.stalled = (moved < self.config.stall_ratio * expected) & (expected > MIN_EXPECTED * self.largest)
            self.counts += self.stalled.long()
        self.z, self.actions = z, []

    def action(self, planned: Tensor, k: int) -> Tensor:
        """The action to execute at step k after the plan: planned (N, A), or random for stalled environments."""
        if not self.on or k >= self.config.escape_steps or not bool(self.stalled.any()):
            return planned
        direction = torch.randn(planned.shape, generator=self.generator)
        direction = direction / torch.linalg.vector_norm(direction, dim=-1, keepdim=True).clamp_min(1e-12)
        random = direction * torch.linalg.vector_norm(planned, dim=-1, keepdim=True)
        return torch.where(self.stalled[:, None], random, planned)

    def executed(self, action: Tensor) -> None:
        if self.on:
            self.actions.append(action)


def _encode(world_model: WorldModel, obs: Tensor) -> Tensor:
    """obs (N, C, H, W) -> z (N, D), without autograd history."""
    with torch.no_grad():
        return world_model.encode(obs).detach()


def _sync(x: Tensor) -> None:
    if x.is_cuda:
        torch.cuda.synchronize(x.device)


def _check_chunking(planner: Planner, config: MPCConfig) -> None:
    """A planner over a ChunkedWorldModel must plan macro-actions of ``config.action_repeat`` steps."""
    model = getattr(planner, "world_model", None)
    if model is None:
        return
    repeat = getattr(model, "repeat", 1)  # ChunkedWorldModel, HeldActionModel
    if repeat != config.action_repeat:
        raise ValueError(
            f"MPCConfig.action_repeat={config.action_repeat} but the planner's world model takes "
            f"{repeat}-step actions ({type(model).__name__}); build the planner over "
            f"ChunkedWorldModel(world_model, {config.action_repeat})"
        )


def _check_horizon(plan: Tensor, config: MPCConfig) -> None:
    needed = (config.replan_every - 1) // config.action_repeat + 1
    if plan.dim() != 3 or plan.shape[1] < needed:
        raise ValueError(
            f"replan_every={config.replan_every} with action_repeat={config.action_repeat} executes "
            f"{needed} planned actions per plan, but the planner returned shape {tuple(plan.shape)} (N, T, A)"
        )


def _planned_path(world_model: WorldModel, z: Tensor, plan: Tensor, repeat: int, probe: Probe) -> Tensor:
    """Decode a plan at env-step resolution: z (N, D), plan (N, T, A) -> (N, T * repeat + 1, 2) on CPU."""
    base = world_model.base if isinstance(world_model, ChunkedWorldModel) else world_model
    with torch.no_grad():
        latents = base.rollout(z, expand_actions(plan, repeat=repeat))  # (N, T * repeat, D)
        path = probe(torch.cat([z[:, None], latents], dim=1))  # (N, T * repeat + 1, 2)
    return path.detach().float().cpu()


class _Log:
    """What run_mpc accumulates: per-step distances/positions, first success, plan timings and paths."""

    def __init__(self, info: dict, *, num_envs: int, radius: float) -> None:
        self.radius = radius
        self.distances = [info["distance"]]
        self.positions = [info["pos"]]
        self.first_success = torch.full((num_envs,), -1, dtype=torch.long)
        self.reached = torch.zeros(num_envs, dtype=torch.bool)
        self.replan_ms: list[float] = []
        self.plan_steps: list[int] = []
        self.paths: list[Tensor] = []
        self.waypoints: list[Tensor] = []
        self.targets: list[Tensor] = []
        self.record_s = 0.0
        self._update_success(info["distance"], step=0)

    def timed_plan(self, world_model: WorldModel, planner: Planner, obs: Tensor, goal: Tensor,
                   warm: Tensor | None) -> tuple[Tensor, PlanResult]:
        """Encode obs once and plan; the wall time of both is logged. -> z (N, D), the planner's result."""
        start = time.perf_counter()
        z = _encode(world_model, obs)
        result = planner.plan(z, goal, warm)
        _sync(result.actions)
        self.replan_ms.append((time.perf_counter() - start) * 1e3)
        return z, result

    def record_subgoals(self, result: PlanResult, probe: Probe) -> None:
        """Store the decoded waypoints and target of a hierarchical plan (time left out of wall_s)."""
        waypoints, target = getattr(result, "waypoints", None), getattr(result, "target", None)
        if waypoints is None or target is None:
            return
        start = time.perf_counter()
        with torch.no_grad():
            self.waypoints.append(probe(waypoints).detach().float().cpu())  # (N, K, 2)
            self.targets.append(probe(target).detach().float().cpu())  # (N, 2)
        self.record_s += time.perf_counter() - start

    def record_plan(self, step: int, decode: Callable[[], Tensor]) -> None:
        """Store the plan made at ``step`` as decoded by ``decode()``; its time is left out of wall_s."""
        start = time.perf_counter()
        self.plan_steps.append(step)
        self.paths.append(decode())
        self.record_s += time.perf_counter() - start

    def add(self, info: dict) -> None:
        self.distances.append(info["distance"])
        self.positions.append(info["pos"])
        self._update_success(info["distance"], step=info["t"])

    def _update_success(self, distance: Tensor, *, step: int) -> None:
        now = distance < self.radius  # (N,)
        self.first_success[now & ~self.reached] = step
        self.reached |= now

    def result(self, episodes: Any, *, wall_s: float) -> MPCResult:
        distances = torch.stack(self.distances, dim=1).float()  # (N, S + 1)
        return MPCResult(
            final_distance=distances[:, -1], success=distances[:, -1] < self.radius,
            steps_to_success=self.first_success, distances=distances,
            positions=torch.stack(self.positions, dim=1).float(), episodes=episodes,
            replan_ms=self.replan_ms, wall_s=wall_s - self.record_s, num_envs=distances.shape[0],
            plan_steps=self.plan_steps, planned_paths=torch.stack(self.paths) if self.paths else None,
            waypoints=_stack_padded(self.waypoints) if self.waypoints else None,
            targets=torch.stack(self.targets) if self.targets else None,
        )


def _stack_padded(lists: list[Tensor]) -> Tensor:
    """Stack (N, K_r, 2) tensors into (R, N, max K, 2), padding each with its last entry."""
    k = max(x.shape[1] for x in lists)
    return torch.stack([torch.cat([x, x[:, -1:].expand(-1, k - x.shape[1], -1)], dim=1) for x in lists])
