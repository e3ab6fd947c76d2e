"""Planning evaluation with online world-model adjustment between blocks of episodes.

:func:`evaluate_online` runs the evaluation's episode set (the same one :func:`~jepa_world.eval.planning.
evaluate_planning` runs) block by block, a *block* being one batch of ``num_envs`` episodes. During a block the
agent plans with the current model and :class:`ExperienceRecorder` keeps what the agent saw and did: the
observations the env returned and the actions the agent chose (never positions or distances). After the block
the episodes are cut into windows of the model's training length, each tagged with the agent's own surprise over
its steps (planning/mpc.py), and added to a :class:`~jepa_world.adapt.replay.ReplayBuffer`; then, every
``every`` blocks or when the block's mean surprise is above ``block_surprise``, the model takes a few steps of its
own objective on replayed windows mixed with its offline data (adapt/adjust.py). The next block plans with the
adjusted model. Success is scored by the evaluator, as in every evaluation.

Examples:
    >>> cfg = OnlineAdjustConfig(every=2)
    >>> [cfg.adjusts_after(b, block_mean=0.0) for b in range(4)]
    [False, True, False, True]
    >>> window_starts(steps=200, length=21)[:3], len(window_starts(steps=200, length=21))
    ([0, 20, 40], 10)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.adapt.adjust import AdjustConfig, Batches, adjust_world_model
from jepa_world.adapt.replay import ReplayBuffer
from jepa_world.config import to_dict
from jepa_world.eval.episodes import MPCResult, run_mpc
from jepa_world.eval.planning import (
    PlanningEvalConfig,
    PlanningReport,
    agent_loop_config,
    build_planner,
    make_eval_env,
    sample_eval_episodes,
    slice_episodes,
    summarize,
)


@dataclass
class OnlineAdjustConfig(AdjustConfig):
    """When the world model is adjusted during an evaluation, on what, and how much (AdjustConfig's fields)."""

    every: int = 1
    """Adjust after every ``every``-th block of episodes (0: only when a block's surprise asks for it)."""
    block_surprise: float = 0.0
    """Also adjust after a block whose mean surprise (latent energy) is above this (0: off)."""
    capacity: int = 4096
    """Windows the replay buffer keeps (the oldest are dropped)."""
    window: int = 0
    """Frames per replayed window; 0: the model's training window (the run's data.length)."""
    seed: int = 0
    """Seed of the replay and offline sampling."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        super().validate()
        if self.every < 0 or self.block_surprise < 0 or self.capacity < 1 or self.window < 0 or self.window == 1:
            raise ValueError(f"OnlineAdjustConfig needs every >= 0, block_surprise >= 0, capacity >= 1 and window 0 "
                             f"or >= 2, got {self.every}, {self.block_surprise}, {self.capacity}, {self.window}")

    @property
    def frozen(self) -> bool:
        """Whether this configuration never adjusts (the frozen-model reference)."""
        return self.every == 0 and self.block_surprise == 0

    def adjusts_after(self, block: int, *, block_mean: float) -> bool:
        """Whether to adjust after block ``block`` (0-based) whose mean surprise was ``block_mean``."""
        scheduled = self.every > 0 and (block + 1) % self.every == 0
        return scheduled or (self.block_surprise > 0 and block_mean > self.block_surprise)


class ExperienceRecorder:
    """The agent's own experience of one block: observations (N, S + 1, C, H, W) uint8 and actions (N, S, A)."""

    def __init__(self) -> None:
        self.obs: list[Tensor] = []
        self.actions: list[Tensor] = []

    def reset(self, obs: Tensor) -> None:
        self.obs, self.actions = [_to_uint8(obs)], []

    def step(self, actions: Tensor, obs: Tensor) -> None:
        self.actions.append(actions.detach().float().cpu())
        self.obs.append(_to_uint8(obs))

    def episodes(self) -> tuple[Tensor, Tensor]:
        """(obs (N, S + 1, C, H, W) uint8, actions (N, S, A))."""
        return torch.stack(self.obs, dim=1), torch.stack(self.actions, dim=1)


def _to_uint8(obs: Tensor) -> Tensor:
    return (obs.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu()


def window_starts(*, steps: int, length: int) -> list[int]:
    """First steps of the non-overlapping windows of ``length`` frames in an episode of ``steps`` steps."""
    return list(range(0, steps - (length - 1) + 1, length - 1))


def step_surprise(surprise: Tensor, *, replan_every: int, steps: int) -> Tensor:
    """Per-step surprise (N, S) from the agent's per-replan surprise (N, R'): replan r + 1 measured the chunk of
    steps [r * replan_every, (r + 1) * replan_every); steps after the last measured chunk take its value."""
    chunk = torch.arange(steps) // replan_every
    return surprise[:, chunk.clamp(max=surprise.shape[1] - 1)]


def experience_windows(obs: Tensor, actions: Tensor, surprise: Tensor | None, *, length: int, replan_every: int
                       ) -> tuple[Tensor, Tensor, Tensor]:
    """Cut episodes obs (N, S + 1, C, H, W) uint8, actions (N, S, A) into windows of ``length`` frames:
    (obs (M, L, C, H, W) float in [0, 1], actions (M, L - 1, A), surprise (M,) mean over each window's steps)."""
    n, steps = actions.shape[:2]
    starts = window_starts(steps=steps, length=length)
    if not starts:
        raise ValueError(f"episodes of {steps} steps hold no window of {length} frames")
    per_step = (torch.zeros(n, steps) if surprise is None
                else step_surprise(surprise.float(), replan_every=replan_every, steps=steps))  # (N, S)
    win_obs = torch.stack([obs[:, s:s + length] for s in starts], dim=1).flatten(0, 1)  # (N * W, L, C, H, W)
    win_act = torch.stack([actions[:, s:s + length - 1] for s in starts], dim=1).flatten(0, 1)
    win_sur = torch.stack([per_step[:, s:s + length - 1].mean(1) for s in starts], dim=1).flatten()
    return win_obs.float() / 255.0, win_act, win_sur


@dataclass
class OnlineReport:
    """An online evaluation: one entry per block, in order, and the summary of every episode."""

    success: list[float]
    """Per block: success rate, protocol 'final' (the learning curve)."""
    success_first_hit: list[float]
    """Per block: success rate, protocol 'first-hit'."""
    block_surprise: list[float]
    """Per block: the agent's mean surprise."""
    adjusted: list[bool]
    """Per block: whether the model was adjusted after it."""
    update_s: list[float]
    """Per block: wall seconds of the adjustment after it (0 when none)."""
    losses: list[list[float]]
    """Per block: the adjustment's loss at each step (empty when none)."""
    summary: PlanningReport
    """All episodes together (``evaluate_planning``'s report)."""
    config: dict[str, Any] = field(default_factory=dict)
    """The OnlineAdjustConfig."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: the per-block curves, the summary's numbers and the configs."""
        out = {k: v for k, v in vars(self).items() if k != "summary"}
        return {**out, "summary": self.summary.as_dict()}


def evaluate_online(world_model: nn.Module, config: PlanningEvalConfig, online: OnlineAdjustConfig, *,
                    offline: Batches | None, window: int, progress: bool = False) -> OnlineReport:
    """Run the configured episodes block by block, adjusting ``world_model`` in place between blocks (see the module
    docstring); ``offline`` gives batches of the model's offline data, ``window`` the replayed windows' frames."""
    config.validate()
    online.validate()
    episodes = sample_eval_episodes(config)
    buffer = ReplayBuffer(online.capacity)
    generator = torch.Generator().manual_seed(online.seed)
    planner = build_planner(world_model, config)  # holds the model itself: adjusted weights are planned with
    device = str(next(world_model.parameters()).device)
    world_model.eval()
    mpc = agent_loop_config(world_model, config)
    results: list[MPCResult] = []
    curve: dict[str, list] = {k: [] for k in ("success", "first", "surprise", "adjusted", "update_s", "losses")}
    for block, start in enumerate(range(0, config.episodes, config.num_envs)):
        batch = slice_episodes(episodes, start, start + config.num_envs)
        recorder = ExperienceRecorder()
        env = make_eval_env(config, len(batch.start), device=device)
        result = run_mpc(env, world_model, planner, episodes=batch, config=mpc, observer=recorder, progress=progress)
        results.append(result)
        obs, actions, surprise = experience_windows(*recorder.episodes(), result.surprise, length=window,
                                                    replan_every=mpc.replan_every)
        buffer.add(obs, actions, surprise=surprise)
        block_mean = float(result.surprise.mean()) if result.surprise is not None else 0.0
        losses, seconds = [], 0.0
        if online.adjusts_after(block, block_mean=block_mean):
            begin = time.perf_counter()
            losses = adjust_world_model(world_model, buffer, offline, online, generator=generator,
                                        start_step=block * online.steps)
            seconds = time.perf_counter() - begin
            if losses:
                mpc = agent_loop_config(world_model, config)  # the goal-stop threshold in the adjusted latent
        for key, value in (("success", result.success.float().mean().item()),
                           ("first", result.success_first_hit.float().mean().item()), ("surprise", block_mean),
                           ("adjusted", bool(losses)), ("update_s", seconds), ("losses", losses)):
            curve[key].append(value)
    return OnlineReport(success=curve["success"], success_first_hit=curve["first"], block_surprise=curve["surprise"],
                        adjusted=curve["adjusted"], update_s=curve["update_s"], losses=curve["losses"],
                        summary=summarize(results, config), config=to_dict(online))
