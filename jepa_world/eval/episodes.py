"""The evaluator's side of an episode: it drives the env, the agent acts, and only the evaluator reads the state.

:func:`run_mpc` runs N goal-reaching episodes in lock-step in a batched env (:class:`GoalEnv`:
``TwoRoomsBatch`` or ``MazeBatch``). The agent (:class:`~jepa_world.planning.mpc.MPCAgent`) receives the
goal observation and then one observation per step, and returns actions; the env's ``info`` (true
position, distance to the goal) stays here, where it is logged and scored under both success protocols
of :mod:`jepa_world.eval.protocols`. Only the goal *observation* crosses over, as it would for a real agent.

Examples:
    >>> import torch
    >>> from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, sample_episodes
    >>> from jepa_world.eval.planning import PlanningEvalConfig, build_planner
    >>> from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
    >>> cfg = PlanningEvalConfig(planner_overrides={"horizon": 10, "num_samples": 32, "iterations": 2},
    ...                          mpc=MPCConfig(replan_every=25, action_repeat=5))
    >>> oracle = TwoRoomsOracle()
    >>> result = run_mpc(TwoRoomsBatch(2), oracle, build_planner(oracle, cfg), config=cfg.mpc,
    ...                  episodes=sample_episodes(2, generator=torch.Generator().manual_seed(0)))
    >>> result.distances.shape, len(result.replan_ms), result.success.shape, result.success_first_hit.shape
    (torch.Size([2, 201]), 8, torch.Size([2]), torch.Size([2]))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm import tqdm

from jepa_world.eval.protocols import final_success, first_hit_step, first_hit_success
from jepa_world.planning.mpc import MPCAgent, MPCConfig, Probe
from jepa_world.planning.protocols import Planner, WorldModel


class StepObserver(Protocol):
    """Sees what the agent sees and does, as the loop runs: the observations the env returned (N, C, H, W) and the
    actions the agent chose (N, A); e.g. to record the agent's own experience for online adjustment."""

    def reset(self, obs: Tensor) -> None: ...

    def step(self, actions: Tensor, obs: Tensor) -> None: ...


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
class MPCResult:
    """N episodes of MPC, scored by the evaluator. S = episode length; R = plan() calls; L = plan steps + 1."""

    final_distance: Tensor
    """(N,) distance to the goal after the last step (px)."""
    success: Tensor
    """(N,) bool, protocol 'final': final distance below the success radius."""
    success_first_hit: Tensor
    """(N,) bool, protocol 'first-hit': the distance was below the success radius at some step."""
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
    surprise: Tensor | None = None
    """(N, R - 1): at each replan after the first, the latent energy between the model's prediction for the
    executed actions and the observed latent (the agent's own measure; see planning/mpc.py)."""


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
    observer: StepObserver | None = None,
) -> MPCResult:
    """Run ``env.num_envs`` episodes to the end of the step budget with an :class:`MPCAgent`; score them here.

    ``record`` also stores every plan decoded by ``probe`` (latents (..., D) -> positions (..., 2)); an
    ``observer`` is shown every observation and every action (never the env's info).
    """
    agent = MPCAgent(world_model, planner, config, record=record, probe=probe)
    start = time.perf_counter()
    obs, info = env.reset(episodes=episodes)
    agent.reset(info["goal_obs"])
    if observer is not None:
        observer.reset(obs)
    distances, positions = [info["distance"]], [info["pos"]]
    for _ in tqdm(range(env.config.max_steps), disable=not progress, desc="mpc", unit="step", leave=False):
        actions = agent.act(obs)
        obs, info = env.step(actions)
        if observer is not None:
            observer.step(actions, obs)
        distances.append(info["distance"])
        positions.append(info["pos"])
    wall_s = time.perf_counter() - start - agent.record_s
    return _result(agent, torch.stack(distances, dim=1).float(), torch.stack(positions, dim=1).float(),
                   episodes, radius=env.config.success_radius, wall_s=wall_s)


def _result(agent: MPCAgent, distances: Tensor, positions: Tensor, episodes: Any, *, radius: float,
            wall_s: float) -> MPCResult:
    """Score distances (N, S + 1) under both protocols and collect the agent's timings and records."""
    rec = agent.record
    return MPCResult(
        final_distance=distances[:, -1], success=final_success(distances, radius=radius),
        success_first_hit=first_hit_success(distances, radius=radius),
        steps_to_success=first_hit_step(distances, radius=radius), distances=distances, positions=positions,
        episodes=episodes, replan_ms=agent.replan_ms, wall_s=wall_s, num_envs=distances.shape[0],
        plan_steps=rec.plan_steps, planned_paths=torch.stack(rec.paths) if rec.paths else None,
        waypoints=_stack_padded(rec.waypoints) if rec.waypoints else None,
        targets=torch.stack(rec.targets) if rec.targets else None, escapes=agent.escapes,
        surprise=agent.surprises,
    )


def _stack_padded(lists: list[Tensor]) -> Tensor:
    """Stack (N, K_r, 2) tensors into (R, N, max K, 2), padding each with its last entry."""
    k = max(x.shape[1] for x in lists)
    return torch.stack([torch.cat([x, x[:, -1:].expand(-1, k - x.shape[1], -1)], dim=1) for x in lists])
