"""N PointMaze episodes stepped together: the package's own envs behind the evaluator's ``GoalEnv``.

Each of the N envs is gymnasium-robotics' ``PointMazeEnv`` (its MuJoCo physics and its ``step``); this
adapter places the ball and the goal where an episode says, steps the N envs with the rows of an action
batch, renders every env with one top-down camera (``camera``), and reports the true state to the
evaluator only (``info``). gymnasium's ``SyncVectorEnv`` would be the same Python loop, and the step
itself costs a small fraction of the rendering (docs/benchmarks.md), so no vector API here.

**State and frames.** The state is (x, y, vx, vy): one frame shows the position, not the velocity. With
``frame_stack = k`` an observation is the last k frames concatenated on channels, (N, 3k, S, S), oldest
first; at reset the ball is at rest, so the k frames are k copies of the first. The goal observation is the
ball at rest at the goal, repeated k times (at rest, every frame of it is the same).

**Success.** The evaluator scores ``distance = ||(x, y) - goal||`` against ``success_radius`` = 0.45, the
package's own goal threshold (sparse reward and ``info["success"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from jepa_world.envs.pointmaze.camera import TopDownCamera
from jepa_world.envs.pointmaze.episodes import PointMazeEpisodes
from jepa_world.envs.pointmaze.episodes import sample_episodes as sample_maze_episodes
from jepa_world.envs.pointmaze.layout import check_free, maze_map, maze_spec
from jepa_world.envs.pointmaze.package import acquire_envs, release_envs

SUCCESS_RADIUS = 0.45
"""The package's goal threshold (maze units): ``compute_reward`` / ``info["success"]`` use distance <= 0.45."""


@dataclass
class PointMazeConfig:
    """Settings of the PointMaze goal-reaching task."""

    maze: str = "umaze"
    """Which maze: 'umaze' (PointMaze_UMaze-v3) or 'medium' (PointMaze_Medium-v3)."""
    image_size: int = 64
    """Observation side in pixels (the whole maze, top-down)."""
    frame_stack: int = 1
    """Frames per observation, concatenated on channels (k >= 1; k >= 2 shows the velocity)."""
    max_steps: int = 0
    """Episode length in env steps of 0.01 s; 0 = the package's time limit for the maze (300 UMaze, 600 Medium)."""
    success_radius: float = SUCCESS_RADIUS
    """Success when the distance to the goal is below this (maze units)."""
    min_cell_distance: int = 1
    """Start and goal cells at least this many cell moves apart (1: distinct cells, the package's rule)."""

    def __post_init__(self) -> None:
        self.validate()

    def resolved(self) -> PointMazeConfig:
        """A copy with ``max_steps`` = 0 replaced by the maze's time limit (the env runs with this one)."""
        return replace(self, max_steps=self.max_steps or maze_spec(self.maze).time_limit)

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        maze_spec(self.maze)
        if self.image_size < 8:
            raise ValueError(f"PointMazeConfig.image_size must be >= 8, got {self.image_size}")
        if self.frame_stack < 1:
            raise ValueError(f"PointMazeConfig.frame_stack must be >= 1, got {self.frame_stack}")
        if self.min_cell_distance < 1:
            raise ValueError(f"PointMazeConfig.min_cell_distance must be >= 1, got {self.min_cell_distance}")
        if self.max_steps < 0:
            raise ValueError(f"PointMazeConfig.max_steps must be >= 0 (0: the package's limit), got {self.max_steps}")


class PointMazeBatch:
    """N PointMaze episodes in lock-step (the interface of ``MazeBatch``; positions in maze units)."""

    def __init__(self, num_envs: int, config: PointMazeConfig | None = None, device: str = "cpu") -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.config = (config or PointMazeConfig()).resolved()
        self.config.validate()
        self.device = torch.device(device)
        self.grid = maze_map(self.config.maze)
        self.gym_id = maze_spec(self.config.maze).gym_id
        self.envs = acquire_envs(self.gym_id, num_envs)
        self.camera = TopDownCamera(self.envs[0].model, (len(self.grid), len(self.grid[0])), self.config.image_size)
        self.generator = torch.Generator().manual_seed(0)
        self.t = 0

    def reset(self, seed: int | None = None, episodes: PointMazeEpisodes | None = None) -> tuple[Tensor, dict]:
        """Start N episodes (sampled from ``seed``, or given): ball at rest at ``start`` -> obs (N, 3k, S, S), info."""
        if seed is not None:
            self.generator.manual_seed(seed)
        if episodes is None:
            episodes = sample_maze_episodes(self.num_envs, self.config.maze, generator=self.generator,
                                            min_cell_distance=self.config.min_cell_distance)
        for name in ("start", "goal"):
            got = getattr(episodes, name)
            if tuple(got.shape) != (self.num_envs, 2):
                raise ValueError(f"episodes.{name} must be ({self.num_envs}, 2), got {tuple(got.shape)}")
            check_free(got, self.grid, f"episodes.{name}")
        self.ep = PointMazeEpisodes(start=episodes.start.double(), goal=episodes.goal.double())
        for env, start, goal in zip(self.envs, self.ep.start.numpy(), self.ep.goal.numpy(), strict=True):
            place(env, start, goal)
        goal_frames = np.stack([self.camera.render_at(g) for g in self.ep.goal.numpy()])
        self.goal_obs = _to_obs(goal_frames).repeat(1, self.config.frame_stack, 1, 1).to(self.device)
        self.frames = [self._render()] * self.config.frame_stack
        self.t = 0
        return self._obs(), self._info()

    def step(self, actions: Tensor) -> tuple[Tensor, dict]:
        """Step every env with its row of actions (N, 2) in [-1, 1] (the package clips) -> obs, info."""
        if tuple(actions.shape) != (self.num_envs, 2):
            raise ValueError(f"actions must be ({self.num_envs}, 2), got {tuple(actions.shape)}")
        if not torch.isfinite(actions).all():
            raise ValueError("actions must be finite, got NaN or inf")
        if self.t >= self.config.max_steps:
            raise RuntimeError(f"episode is over ({self.config.max_steps} steps): call reset()")
        for env, a in zip(self.envs, actions.detach().to("cpu", torch.float64).numpy(), strict=True):
            env.step(a)
        self.frames = [*self.frames[1:], self._render()]
        self.t += 1
        return self._obs(), self._info()

    @property
    def done(self) -> bool:
        return self.t >= self.config.max_steps

    def state(self) -> Tensor:
        """(N, 4) float64 (x, y, vx, vy) of every ball."""
        return torch.from_numpy(np.stack([np.concatenate([e.data.qpos, e.data.qvel]) for e in self.envs]))

    def distance(self) -> Tensor:
        """Distance to the goal (N,) in maze units."""
        return (self.state()[:, :2] - self.ep.goal).norm(dim=-1)

    def close(self) -> None:
        """Free the renderer and hand the package envs back for reuse (``package.acquire_envs``)."""
        self.camera.close()
        release_envs(self.gym_id, self.envs)
        self.envs = []

    def _render(self) -> Tensor:
        """(N, 3, S, S) float in [0, 1]: the current frame of every env."""
        return _to_obs(np.stack([self.camera.render(e.data) for e in self.envs]))

    def _obs(self) -> Tensor:
        return torch.cat(self.frames, dim=1).to(self.device)

    def _info(self) -> dict:
        state = self.state()
        dist = (state[:, :2] - self.ep.goal).norm(dim=-1)
        return {"pos": state[:, :2].float(), "vel": state[:, 2:].float(), "goal_pos": self.ep.goal.float(),
                "goal_obs": self.goal_obs, "distance": dist.float(), "success": dist < self.config.success_radius,
                "t": self.t}


def place(env, start: np.ndarray, goal: np.ndarray) -> None:
    """Reset a package env with the ball at rest at ``start`` (2,) and its goal at ``goal`` (2,)."""
    env.reset()
    env.goal = goal.copy()
    env.update_target_site_pos()
    env.point_env.set_state(start.copy(), np.zeros(2))


def _to_obs(frames: np.ndarray) -> Tensor:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float32 in [0, 1]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255.0)
