"""The gymnasium face of Two Rooms (``jepa_world/TwoRooms-v0``): one episode over the batched core.

Observation: float32 (2, 65, 65), channel 0 the agent, channel 1 the walls. Action: a 2-D
displacement in px, clipped to L2 norm <= 2.45. ``info`` carries the goal as an observation
(``goal_obs``) and as coordinates (``goal_pos``), the agent position and the distance to the goal
at every step. Reward is 1.0 while within the success radius (the library itself is reward-free).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, TwoRoomsConfig
from jepa_world.envs.two_rooms.render import to_rgb


class TwoRoomsEnv(gym.Env):
    """Goal reaching in Two Rooms (PLDM / EB-JEPA benchmark), one episode at a time."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, render_mode: str | None = None, fixed_wall: bool = False, max_steps: int = 200,
                 render_scale: int = 4):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.render_scale = render_scale
        self._core = TwoRoomsBatch(1, TwoRoomsConfig(fixed_wall=fixed_wall, max_steps=max_steps))
        self.observation_space = spaces.Box(0.0, 1.0, (2, geo.SIZE, geo.SIZE), np.float32)
        n = geo.MAX_ACTION_NORM
        self.action_space = spaces.Box(-n, n, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        core_seed = int(self.np_random.integers(0, 2**62))
        obs, info = self._core.reset(seed=core_seed)
        return self._np_obs(obs), self._np_info(info)

    def step(self, action):
        a = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(1, 2)
        if not torch.isfinite(a).all():
            raise ValueError(f"action must be finite, got {action}")
        obs, info = self._core.step(a)
        reward = float(info["success"][0])
        truncated = self._core.done
        return self._np_obs(obs), reward, False, truncated, self._np_info(info)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        img = to_rgb(self._core._obs()[0], self._core.ep.goal[0]).numpy()
        k = self.render_scale
        return np.repeat(np.repeat(img, k, 0), k, 1)

    @staticmethod
    def _np_obs(obs: torch.Tensor) -> np.ndarray:
        return obs[0].numpy().astype(np.float32, copy=False)

    @staticmethod
    def _np_info(info: dict) -> dict:
        return {
            "pos": info["pos"][0].numpy(),
            "goal_pos": info["goal_pos"][0].numpy(),
            "goal_obs": info["goal_obs"][0].numpy().copy(),
            "distance": float(info["distance"][0]),
            "success": bool(info["success"][0]),
            "layout": (int(info["wall_x"][0]), int(info["door_y"][0])),
            "t": info["t"],
        }
