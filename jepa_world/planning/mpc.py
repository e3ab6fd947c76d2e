"""Model-predictive control in latent space: the agent that plans, executes a few steps, observes and replans.

:class:`MPCAgent` is the control loop, and it sees **observations only**: ``reset(goal_obs)`` with the
goal observation (N, C, H, W), then ``act(obs)`` with the current observation (N, C, H, W) returns the
actions (N, A) to execute. Nothing the environment knows and the agent does not (its true position,
its distance to the goal) can reach it: ``act`` accepts one image tensor and nothing else, and a
state-shaped tensor is refused. Success is scored outside, by the evaluator that drives the env
(:mod:`jepa_world.eval.episodes`), under a named protocol (:mod:`jepa_world.eval.protocols`).

Every ``replan_every`` steps the observation is encoded once (never per candidate) and
``planner.plan(z, goal, warm_start)`` returns a plan (N, T, A); the agent executes its first actions and
starts the next search from the same plan shifted by the actions it consumed
(:func:`~jepa_world.planning.actions.shift_warm_start`). A stateful planner (:class:`ResettablePlanner`,
the hierarchical one keeps subgoals) is reset with the agent.

With ``action_repeat = r > 1`` every planned action is a *macro-action* held for r environment steps:
build the planner over ``ChunkedWorldModel(world_model, r)`` (``eval.planning.build_planner`` does) and
pass the plain ``world_model`` here (it is used to encode and to decode recorded plans).

At every replan after the first the agent also measures its *surprise*: the latent energy (mean squared
distance) between what the model predicted for the actions executed since the last plan and the latent it now
observes (:attr:`MPCAgent.surprises`); a model that is wrong about this world shows it here first. A model
without dynamics (:class:`~jepa_world.planning.protocols.NoDynamics`: a policy's encoder, planning/policy.py)
predicts nothing, so no surprise is measured and no stall checked with it.

Two optional behaviours, both decided from the agent's own latents:

- *stall escapes* (``stall_ratio > 0``): an environment whose latent moved far less than the model
  predicted for the executed actions (pinned on a corner the model thought passable) takes a few random
  actions;
- *goal stop* (``goal_energy > 0``): the agent encodes every observation (not only at replans) and an
  environment whose latent energy to the goal (the mean squared latent distance) is below ``goal_energy``
  executes zero actions; calibrate the threshold on training data with
  :func:`jepa_world.planning.goal_stop.calibrate_goal_energy`.

Examples:
    >>> import torch
    >>> from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, sample_episodes
    >>> from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
    >>> from jepa_world.planning.chunked import ChunkedWorldModel
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> from jepa_world.planning.registry import make_planner
    >>> oracle = TwoRoomsOracle()
    >>> planner = make_planner("mppi", ChunkedWorldModel(oracle, 5), goal_distance_cost(reduce="last"),
    ...                        horizon=10, num_samples=32, iterations=2)
    >>> agent = MPCAgent(oracle, planner, MPCConfig(replan_every=25, action_repeat=5))
    >>> env = TwoRoomsBatch(2)
    >>> obs, info = env.reset(episodes=sample_episodes(2, generator=torch.Generator().manual_seed(0)))
    >>> agent.reset(info["goal_obs"])
    >>> agent.act(obs).shape
    torch.Size([2, 2])
    >>> agent.act(info["pos"])          # the true state is not an observation
    Traceback (most recent call last):
    ...
    TypeError: MPCAgent.act takes observations (N, C, H, W); got a tensor of shape (2, 2)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.planning.actions import WarmFill, chunk_actions, shift_warm_start
from jepa_world.planning.chunked import ChunkedWorldModel, expand_actions
from jepa_world.planning.goal_stop import latent_energy
from jepa_world.planning.protocols import (
    ActionRepeater,
    FrameskipModel,
    ModelPlanner,
    NoDynamics,
    Planner,
    PlanResult,
    ResettablePlanner,
    SubgoalPlanResult,
    WorldModel,
)

Probe = Callable[[Tensor], Tensor]
"""Maps latents (..., D) to agent positions (..., 2) in px, for pictures (for the oracle: ``z[..., :2]``)."""


@dataclass
class MPCConfig:
    """Settings of the receding-horizon loop."""

    replan_every: int = 4
    """Environment steps executed between two plan() calls."""
    action_repeat: int = 1
    """Environment steps per planned action. With r > 1 the planner must be built over
    ChunkedWorldModel(world_model, r) (the agent checks it when the planner exposes its world_model)."""
    warm_fill: WarmFill = "last"
    """How the warm start is padded after dropping consumed actions: 'last' repeats the final action, 'zero'."""
    goal_energy: float = 0.0
    """Goal stop (0 = off): execute zero actions while the agent's own latent energy to the goal (mean squared
    latent distance, checked at every step) is below this; decided from latents only (planning.goal_stop)."""
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
        if not self.goal_energy >= 0.0:
            raise ValueError(f"MPCConfig.goal_energy must be >= 0, got {self.goal_energy}")
        if self.warm_fill not in ("last", "zero"):
            raise ValueError(f"MPCConfig.warm_fill must be 'last' or 'zero', got {self.warm_fill!r}")

    @property
    def consumed(self) -> int:
        """Planned actions consumed between replans (a partly executed macro-action stays in the warm start)."""
        return self.replan_every // self.action_repeat


@dataclass
class PlanRecord:
    """What the agent records of its plans for pictures (``record=True``), decoded by its probe.

    R = plan() calls; L = planned env steps + 1.
    """

    plan_steps: list[int]
    """The agent's step at which each plan was made, (R,)."""
    paths: list[Tensor]
    """Each plan's predicted positions at every env step, start included: R x (N, L, 2)."""
    waypoints: list[Tensor]
    """Hierarchical planners: each plan's latent waypoints decoded, R x (N, K_r, 2)."""
    targets: list[Tensor]
    """Hierarchical planners: the decoded subgoal each plan aimed at, R x (N, 2)."""


class MPCAgent:
    """The receding-horizon control loop over observations; see the module docstring.

    ``record`` keeps every plan decoded by ``probe`` (latents (..., D) -> positions (..., 2)) in
    :attr:`record`; its time is kept apart in :attr:`record_s`.
    """

    def __init__(self, world_model: WorldModel, planner: Planner, config: MPCConfig, *, record: bool = False,
                 probe: Probe | None = None) -> None:
        config.validate()
        _check_chunking(planner, config)
        if record and probe is None:
            raise ValueError("MPCAgent(record=True) needs a probe mapping latents (..., D) to positions (..., 2)")
        self.world_model, self.planner, self.config = world_model, planner, config
        self.recording, self.probe = record, probe

    def reset(self, goal_obs: Tensor) -> None:
        """Start N new episodes towards the goal observations (N, C, H, W)."""
        _check_obs(goal_obs, "reset")
        if isinstance(self.planner, ResettablePlanner):
            self.planner.reset()
        self.goal = _encode(self.world_model, goal_obs)  # (N, D), once per episode batch
        self.num_envs = goal_obs.shape[0]
        self.t = 0
        self.plan: Tensor | None = None
        self.escape = _Escape(self.config, self.num_envs)
        self.transitions = _Transitions()
        self.surprise: list[Tensor] = []
        self.stopped = torch.zeros(self.num_envs, dtype=torch.bool)
        self.replan_ms: list[float] = []
        self.record = PlanRecord([], [], [], [])
        self.record_s = 0.0

    def act(self, obs: Tensor) -> Tensor:
        """The actions (N, A) for the current observations obs (N, C, H, W)."""
        _check_obs(obs, "act")
        if obs.shape[0] != self.num_envs:
            raise ValueError(f"MPCAgent.act got {obs.shape[0]} observations for {self.num_envs} episodes")
        k = self.t % self.config.replan_every  # steps executed since the last plan
        z = self._replan(obs) if k == 0 else None
        plan = self.plan
        assert plan is not None
        action = self.escape.action(plan[:, k // self.config.action_repeat].detach().cpu(), k)  # (N, A)
        if self.config.goal_energy > 0:
            z = _encode(self.world_model, obs) if z is None else z
            self.stopped = (latent_energy(z, self.goal) < self.config.goal_energy).cpu()
            action = torch.where(self.stopped[:, None], torch.zeros_like(action), action)
        self.transitions.executed(action)
        self.t += 1
        return action

    @property
    def escapes(self) -> Tensor | None:
        """(N,) unpredicted stalls escaped per episode (``stall_ratio`` > 0), else None."""
        return self.escape.counts if self.escape.on else None

    def _replan(self, obs: Tensor) -> Tensor:
        """Encode obs (N, C, H, W), plan from it (warm-started) -> its latent z (N, D)."""
        plan = self.plan
        warm = None if plan is None else shift_warm_start(plan, shift=self.config.consumed, fill=self.config.warm_fill)
        start = time.perf_counter()
        z = _encode(self.world_model, obs)
        result = self.planner.plan(z, self.goal, warm)
        _sync(result.actions)
        self.replan_ms.append((time.perf_counter() - start) * 1e3)
        self._observe(z)
        self.plan = result.actions.detach()
        _check_horizon(self.plan, self.config)
        if self.recording:
            self._record(z, result)
        return z

    def _observe(self, z: Tensor) -> None:
        """At a replan, compare the new latent z (N, D) with the model's prediction for the actions executed since
        the last plan: the surprise (their latent energy) is kept, and stalls are checked."""
        pair = self.transitions.predicted(self.world_model)
        if pair is None:
            self.escape.clear()
        else:
            previous, predicted = pair
            self.surprise.append(latent_energy(predicted, z).cpu())
            self.escape.check(previous, predicted, z)
        self.transitions.restart(z)

    @property
    def surprises(self) -> Tensor | None:
        """(N, R') the latent energy between the predicted and the observed latent at each replan after the first
        (every executed chunk), or None before there is one."""
        return torch.stack(self.surprise, dim=1) if self.surprise else None

    def _record(self, z: Tensor, result: PlanResult) -> None:
        """Decode and store the plan just made (and a hierarchical plan's subgoals); time kept out of timings."""
        assert self.probe is not None and self.plan is not None
        start = time.perf_counter()
        self.record.plan_steps.append(self.t)
        self.record.paths.append(_planned_path(self.world_model, z, self.plan, self.config.action_repeat, self.probe))
        if isinstance(result, SubgoalPlanResult) and result.waypoints is not None and result.target is not None:
            with torch.no_grad():
                self.record.waypoints.append(self.probe(result.waypoints).detach().float().cpu())  # (N, K, 2)
                self.record.targets.append(self.probe(result.target).detach().float().cpu())  # (N, 2)
        self.record_s += time.perf_counter() - start


MIN_EXPECTED = 0.1
"""Stalls count only where the predicted displacement is at least this share of the episode's largest one."""


class _Transitions:
    """The latent of the last plan and the actions executed since: what the model predicts they led to."""

    def __init__(self) -> None:
        self.z: Tensor | None = None
        self.actions: list[Tensor] = []

    def executed(self, action: Tensor) -> None:
        """Record the actions (N, A) just executed."""
        self.actions.append(action)

    def predicted(self, world_model: WorldModel) -> tuple[Tensor, Tensor] | None:
        """(latent at the last plan (N, D), the model's prediction after the executed actions (N, D)), or None when
        there is no earlier plan or the actions fill no whole model step (a frameskip model's chunk)."""
        if isinstance(world_model, NoDynamics):  # a policy's encoder: nothing is predicted
            return None
        executed = self._in_model_steps(world_model)
        if self.z is None or executed is None:
            return None
        with torch.no_grad():
            return self.z, world_model.rollout(self.z, executed.to(self.z))[:, -1]

    def restart(self, z: Tensor) -> None:
        """A new plan from latent z (N, D): forget the executed actions."""
        self.z, self.actions = z, []

    def _in_model_steps(self, world_model: WorldModel) -> Tensor | None:
        """The executed actions in the model's own steps: (N, k, A), chunks (N, k / f, f * A) for a frameskip-f
        model, or None when there are none or they fill no whole model step."""
        if not self.actions:
            return None
        executed = torch.stack(self.actions, dim=1)  # (N, k, A)
        if isinstance(world_model, FrameskipModel) and world_model.frameskip > 1:
            return chunk_actions(executed, world_model.frameskip)
        return executed


class _Escape:
    """Stall escapes (``MPCConfig.stall_ratio``): after an unpredicted stall the first actions are random ones."""

    def __init__(self, config: MPCConfig, num_envs: int) -> None:
        self.config = config
        self.on = config.stall_ratio > 0
        self.generator = torch.Generator().manual_seed(config.escape_seed)
        self.stalled = torch.zeros(num_envs, dtype=torch.bool)
        self.counts = torch.zeros(num_envs, dtype=torch.long)
        self.largest = torch.zeros(num_envs)

    def check(self, previous: Tensor, predicted: Tensor, z: Tensor) -> None:
        """At a replan: which environments moved far less from ``previous`` (N, D) to the new latent z (N, D) than
        the model ``predicted`` (N, D) for the executed actions."""
        if not self.on:
            return
        expected = torch.linalg.vector_norm(predicted - previous, dim=-1).cpu()  # (N,)
        moved = torch.linalg.vector_norm(z - previous, dim=-1).cpu()
        self.largest = torch.maximum(self.largest, expected)
        # a prediction of (almost) no motion cannot be refuted by none: under MIN_EXPECTED x the largest
        # displacement predicted so far in the episode, it is a model that knew the agent was pinned
        self.stalled = (moved < self.config.stall_ratio * expected) & (expected > MIN_EXPECTED * self.largest)
        self.counts += self.stalled.long()

    def clear(self) -> None:
        """No check at this replan (nothing to compare): no environment is stalled."""
        self.stalled = torch.zeros_like(self.stalled)

    def action(self, planned: Tensor, k: int) -> Tensor:
        """The action to execute at step k after the plan: planned (N, A), or random for stalled environments."""
        if not self.on or k >= self.config.escape_steps or not bool(self.stalled.any()):
            return planned
        direction = torch.randn(planned.shape, generator=self.generator)
        direction = direction / torch.linalg.vector_norm(direction, dim=-1, keepdim=True).clamp_min(1e-12)
        random = direction * torch.linalg.vector_norm(planned, dim=-1, keepdim=True)
        return torch.where(self.stalled[:, None], random, planned)


def _check_obs(obs: object, where: str) -> None:
    """The agent takes image batches (N, C, H, W) only: anything else (a state vector, a dict) is refused."""
    if not isinstance(obs, Tensor):
        raise TypeError(f"MPCAgent.{where} takes observations (N, C, H, W); got {type(obs).__name__}")
    if obs.dim() != 4:
        raise TypeError(f"MPCAgent.{where} takes observations (N, C, H, W); got a tensor of shape {tuple(obs.shape)}")


def _encode(world_model: WorldModel, obs: Tensor) -> Tensor:
    """obs (N, C, H, W) -> z (N, D), without autograd history."""
    with torch.no_grad():
        return world_model.encode(obs).detach()


def _sync(x: Tensor) -> None:
    if x.is_cuda:
        torch.cuda.synchronize(x.device)


def _check_chunking(planner: Planner, config: MPCConfig) -> None:
    """A planner over a ChunkedWorldModel must plan macro-actions of ``config.action_repeat`` steps."""
    model = planner.world_model if isinstance(planner, ModelPlanner) else None
    if model is None:
        return
    repeat = model.repeat if isinstance(model, ActionRepeater) else 1  # ChunkedWorldModel, HeldActionModel
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
    """Decode a plan at env-step resolution: z (N, D), plan (N, T, A) -> (N, T * repeat + 1, 2) on CPU.

    A frameskip-f model predicts every f-th step (its action is a chunk of f env actions): its decoded path is
    linearly interpolated between those steps (a picture, not a prediction)."""
    base = world_model.base if isinstance(world_model, ChunkedWorldModel) else world_model
    actions = expand_actions(plan, repeat=repeat)  # (N, T * repeat, A)
    skip = base.frameskip if isinstance(base, FrameskipModel) else 1
    with torch.no_grad():
        chunks = chunk_actions(actions, skip) if skip > 1 else actions
        if chunks is None:
            raise ValueError(f"a plan of {actions.shape[1]} env steps is not a whole number of the model's "
                             f"{skip}-step chunks")
        latents = base.rollout(z, chunks)  # (N, T * repeat / skip, D)
        path = probe(torch.cat([z[:, None], latents], dim=1)).detach().float().cpu()  # (N, K + 1, 2)
    if skip > 1:
        path = torch.nn.functional.interpolate(path.transpose(1, 2), size=actions.shape[1] + 1, mode="linear",
                                               align_corners=True).transpose(1, 2)
    return path
