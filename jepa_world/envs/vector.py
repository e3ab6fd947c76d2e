"""gymnasium vector envs over the batched torch cores: ``gym.make_vec("jepa_world/TwoRooms-v0", num_envs=N)``.

The cores (``TwoRoomsBatch``, ``MazeBatch``) already step N episodes in lock-step, so a vector env is a thin
numpy face over one core instead of N single envs. Sub-environment i behaves exactly as the single env
(``gym.make(ID)``) reset with seed ``seed + i`` and then without a seed: each keeps its own ``np_random`` and
samples its episode from it as the single env does, so observations match step for step under the same actions.

All episodes have the same length and never terminate early, so every sub-environment is truncated at the same
step; the next ``step`` resets them all (gymnasium's next-step autoreset) and returns the first observations with
zero reward. ``info`` holds the core's per-episode values as arrays, each with gymnasium's ``_key`` mask.

Examples:
    >>> env = TwoRoomsVectorEnv(num_envs=3, max_steps=5)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype, info["distance"].shape
    ((3, 2, 65, 65), dtype('float32'), (3,))
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> reward.shape, bool(truncated.any())
    ((3,), False)
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from jepa_world.envs.maze.batch import MazeBatch, MazeConfig
from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, TwoRoomsConfig
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, SIZE
from jepa_world.envs.two_rooms.render import to_rgb


class BatchedGoalVectorEnv(VectorEnv):
    """N goal-reaching episodes of one batched core (``core_cls(num_envs, config)``) behind gymnasium's VectorEnv."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20, "autoreset_mode": AutoresetMode.NEXT_STEP}
    core_cls: Any = None
    """The batched core (TwoRoomsBatch or MazeBatch); set by the subclasses."""
    config_cls: Any = None
    """Its config dataclass; the env's keyword arguments other than the ones below are its fields."""

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, max_episode_steps: int | None = None,
                 render_scale: int = 4, **config: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        cfg = self.config_cls(**config)
        if max_episode_steps is not None:  # registered time limit: the single env's TimeLimit wrapper
            cfg.max_steps = min(cfg.max_steps, max_episode_steps)
        self.num_envs = num_envs
        self.render_mode, self.render_scale = render_mode, render_scale
        self._config = cfg
        self._core = self.core_cls(num_envs, cfg)
        self.single_observation_space = spaces.Box(0.0, 1.0, (2, SIZE, SIZE), np.float32)
        self.single_action_space = spaces.Box(-MAX_ACTION_NORM, MAX_ACTION_NORM, (2,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rngs = [seeding.np_random()[0] for _ in range(num_envs)]
        self._needs_reset = False

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset every sub-environment; ``seed`` (an int: seed + i for env i, or one per env) -> (obs, info)."""
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
        if seeds is not None:
            if len(seeds) != self.num_envs:
                raise ValueError(f"reset needs {self.num_envs} seeds, got {len(seeds)}")
            self._rngs = [seeding.np_random(s)[0] if s is not None else rng for s, rng in
                          zip(seeds, self._rngs, strict=True)]
        self.action_space.seed(seeds[0] if seeds else None)
        obs, info = self._reset_core()
        return obs, info

    def step(self, actions):
        """actions (N, 2) -> (obs (N, 2, 65, 65), reward (N,), terminated (N,), truncated (N,), info)."""
        n = self.num_envs
        if self._needs_reset:
            obs, info = self._reset_core()
            return obs, np.zeros(n, np.float32), np.zeros(n, bool), np.zeros(n, bool), info
        a = torch.as_tensor(np.asarray(actions, dtype=np.float32))
        if a.shape != (n, 2):
            raise ValueError(f"actions must be ({n}, 2), got {tuple(a.shape)}")
        if not torch.isfinite(a).all():
            raise ValueError(f"actions must be finite, got {actions}")
        obs, info = self._core.step(a)
        self._needs_reset = self._core.done
        reward = info["success"].numpy().astype(np.float32)
        truncated = np.full(n, self._core.done)
        return self._np_obs(obs), reward, np.zeros(n, bool), truncated, self._np_info(info)

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One RGB frame per sub-environment (with its goal), when render_mode='rgb_array'."""
        if self.render_mode != "rgb_array":
            return None
        k = self.render_scale
        obs = self._core._obs()
        frames = [to_rgb(obs[i], self._core.ep.goal[i]).numpy() for i in range(self.num_envs)]
        return tuple(np.repeat(np.repeat(f, k, 0), k, 1) for f in frames)

    def _reset_core(self) -> tuple[np.ndarray, dict]:
        """New episodes, env i's drawn as the single env draws it: a core seed from its np_random, one episode."""
        one = self.core_cls(1, self._config)
        parts = []
        for rng in self._rngs:
            one.reset(seed=int(rng.integers(0, 2**62)))
            parts.append(one.ep)
        episodes = type(parts[0])(**{f.name: torch.cat([getattr(p, f.name) for p in parts])
                                     for f in fields(parts[0])})
        obs, info = self._core.reset(episodes=episodes)
        self._needs_reset = False
        return self._np_obs(obs), self._np_info(info)

    @staticmethod
    def _np_obs(obs: torch.Tensor) -> np.ndarray:
        return obs.cpu().numpy().astype(np.float32, copy=False)

    def _np_info(self, info: dict) -> dict:
        """The core's info as numpy arrays (N, ...), each with its all-true ``_key`` mask."""
        out: dict[str, Any] = {}
        for key, value in info.items():
            array = value.cpu().numpy() if isinstance(value, torch.Tensor) else np.full(self.num_envs, value)
            out[key], out[f"_{key}"] = array, np.ones(self.num_envs, bool)
        return out


class TwoRoomsVectorEnv(BatchedGoalVectorEnv):
    """``jepa_world/TwoRooms-v0`` as a vector env over ``TwoRoomsBatch`` (keyword arguments: TwoRoomsConfig's)."""

    core_cls = TwoRoomsBatch
    config_cls = TwoRoomsConfig


class MazeVectorEnv(BatchedGoalVectorEnv):
    """``jepa_world/Maze-v0`` as a vector env over ``MazeBatch`` (keyword arguments: MazeConfig's)."""

    core_cls = MazeBatch
    config_cls = MazeConfig
