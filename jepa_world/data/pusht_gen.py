"""PushT offline data without experts: the scripted exploration policy, rendered, shard by shard.

Each trajectory starts from the package's reset distribution (agent in [50, 450]^2, block in
[100, 400]^2, any angle) and follows :class:`~jepa_world.envs.pusht.explore.ExplorationPolicy`, which
drives the agent to points around the T and pushes through them. A trajectory stores its frames
(uint8, the goal region hidden as in evaluation), the env's relative actions (the policy's target minus
the agent position, over ``action_scale``: :class:`~jepa_world.envs.pusht.batch.PushTBatch` replays
them exactly) and the true states, which feed probes and evaluation episodes only.

Examples:
    >>> traj = generate(2, PushTDataConfig(length=5, image_size=32), seed=0)
    >>> traj.obs.shape, traj.actions.shape, traj.states.shape
    ((2, 5, 3, 32, 32), (2, 4, 2), (2, 5, 5))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from jepa_world.envs.pusht.batch import random_states
from jepa_world.envs.pusht.explore import ExplorationConfig, ExplorationPolicy
from jepa_world.envs.pusht.package import make_pusht_env
from jepa_world.envs.pusht.render import render_frame
from jepa_world.envs.pusht.state import read_state, reset_to_state


@dataclass
class PushTDataConfig:
    """Distribution and format of the PushT exploration trajectories."""

    length: int = 101
    """Frames per trajectory (T + 1 observations, T actions)."""
    image_size: int = 64
    """Frames are image_size x image_size RGB."""
    action_scale: float = 100.0
    """Stored actions are (target - agent position) / action_scale: the env's relative actions."""
    explore: ExplorationConfig = field(default_factory=ExplorationConfig)
    """The scripted exploration policy."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.length < 2:
            raise ValueError(f"length must be >= 2 frames, got {self.length}")
        if not 8 <= self.image_size <= 512:
            raise ValueError(f"image_size must be in [8, 512], got {self.image_size}")
        if not self.action_scale > 0:
            raise ValueError(f"action_scale must be > 0, got {self.action_scale}")
        self.explore.validate()


@dataclass
class PushTTrajectories:
    """N trajectories of T steps."""

    obs: np.ndarray
    """(N, T+1, 3, S, S) uint8 frames."""
    actions: np.ndarray
    """(N, T, 2) float32 relative actions."""
    states: np.ndarray
    """(N, T+1, 5) float32 (agent x, y, block x, y, angle): for probes and evaluation, never for the agent."""

    def __len__(self) -> int:
        return self.obs.shape[0]


def generate(n: int, config: PushTDataConfig, *, seed: int, env=None,
             on_trajectory: Callable[[], None] | None = None) -> PushTTrajectories:
    """n exploration trajectories, reproducible from ``seed``; ``on_trajectory()`` is called after each."""
    config.validate()
    if n < 1:
        raise ValueError(f"number of trajectories must be >= 1, got {n}")
    env = env or make_pusht_env()
    rng = np.random.default_rng(seed)
    starts = random_states(n, generator=torch.Generator().manual_seed(seed))
    length, size = config.length, config.image_size
    obs = np.zeros((n, length, 3, size, size), np.uint8)
    actions, states = np.zeros((n, length - 1, 2), np.float32), np.zeros((n, length, 5), np.float32)
    for i in range(n):
        policy = ExplorationPolicy(1, config.explore, rng=rng)
        state = reset_to_state(env, starts[i])
        for t in range(length):
            states[i, t], obs[i, t] = state, render_frame(env, size)
            if t == length - 1:
                break
            action = ((policy.act(state[None])[0] - state[:2]) / config.action_scale).astype(np.float32)
            env.step(state[:2] + config.action_scale * action.astype(np.float64))
            actions[i, t], state = action, read_state(env)
        if on_trajectory is not None:
            on_trajectory()
    return PushTTrajectories(obs, actions, states)
