"""Reward-free PointMaze exploration data: temporally correlated random forces from random free-cell starts.

No expert: each trajectory starts at rest at a random position in a random free cell (the episodes'
start rule, ``envs.pointmaze.episodes``) and applies an AR(1) force (a discretised Ornstein-Uhlenbeck process)
``a_{t+1} = rho * a_t + sqrt(1 - rho^2) * sigma * eps``, clipped to the action box [-1, 1]. A correlation
time of 1 / (1 - rho) steps lets the ball build up speed and cross cells instead of jittering in place
(white noise at 0.01 s per step averages out). Frames are single (3, S, S) uint8 images; frame stacking is
done by the reader (``pointmaze_shards.PointMazeWindows``), so one dataset serves every ``frame_stack``.

Examples:
    >>> a = correlated_actions(2, 5, PointMazeDataConfig(), generator=torch.Generator().manual_seed(0))
    >>> a.shape, bool(a.abs().max() <= 1)
    (torch.Size([2, 5, 2]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class PointMazeDataConfig:
    """Settings of the PointMaze exploration trajectories."""

    maze: str = "umaze"
    """Which maze: 'umaze' or 'medium' (``envs.pointmaze.layout.MAZES``)."""
    length: int = 101
    """Frames per trajectory (1 + T actions)."""
    image_size: int = 64
    """Frame side in pixels."""
    action_corr: float = 0.95
    """rho of the AR(1) forces, in [0, 1): correlation time 1 / (1 - rho) steps (0.95: 20 steps = 0.2 s)."""
    action_std: float = 1.0
    """sigma: stationary standard deviation of each force component before clipping to [-1, 1]."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.length < 2:
            raise ValueError(f"PointMazeDataConfig.length must be >= 2 frames, got {self.length}")
        if not 0.0 <= self.action_corr < 1.0:
            raise ValueError(f"PointMazeDataConfig.action_corr must be in [0, 1), got {self.action_corr}")
        if self.action_std <= 0:
            raise ValueError(f"PointMazeDataConfig.action_std must be > 0, got {self.action_std}")


def correlated_actions(n: int, steps: int, config: PointMazeDataConfig, *, generator: torch.Generator) -> Tensor:
    """(n, steps, 2) float32 AR(1) forces in [-1, 1], started from the stationary distribution."""
    rho, sigma = config.action_corr, config.action_std
    eps = torch.randn(n, steps, 2, generator=generator)
    a = torch.empty(n, steps, 2)
    a[:, 0] = sigma * eps[:, 0]
    for t in range(1, steps):
        a[:, t] = rho * a[:, t - 1] + (1 - rho**2) ** 0.5 * sigma * eps[:, t]
    return a.clamp(-1.0, 1.0)


@dataclass
class PointMazeTrajectories:
    """N trajectories of 1 + T frames."""

    obs: Tensor
    """(N, 1 + T, 3, S, S) uint8 top-down frames (goal marker hidden)."""
    actions: Tensor
    """(N, T, 2) float32 forces applied (already in [-1, 1])."""
    states: Tensor
    """(N, 1 + T, 4) float32 true (x, y, vx, vy): for probes and evaluation only, never a model input."""


def generate(n: int, config: PointMazeDataConfig, *, generator: torch.Generator) -> PointMazeTrajectories:
    """N trajectories stepped together through the package envs (``PointMazeBatch``), rendered every step."""
    from jepa_world.envs.pointmaze import PointMazeBatch, PointMazeConfig, sample_episodes

    steps = config.length - 1
    env = PointMazeBatch(n, PointMazeConfig(maze=config.maze, image_size=config.image_size, max_steps=steps))
    try:
        actions = correlated_actions(n, steps, config, generator=generator)
        obs, _ = env.reset(episodes=sample_episodes(n, config.maze, generator=generator))
        frames, states = [_uint8(obs)], [env.state().float()]
        for t in range(steps):
            obs, _ = env.step(actions[:, t])
            frames.append(_uint8(obs))
            states.append(env.state().float())
    finally:
        env.close()
    return PointMazeTrajectories(torch.stack(frames, 1), actions, torch.stack(states, 1))


def _uint8(obs: Tensor) -> Tensor:
    """Float frames in [0, 1] that came from uint8 -> the same uint8 values."""
    return obs.mul(255.0).round_().to(torch.uint8)


def stack_frames(frames: Tensor, k: int) -> Tensor:
    """Trajectories' frames (B, L, C, S, S) -> (B, L, k * C, S, S): frame t becomes frames t - k + 1 .. t on
    channels, oldest first, the first frame repeated before the start (trajectories start at rest)."""
    if k == 1:
        return frames
    padded = torch.cat([frames[:, :1].expand(-1, k - 1, *frames.shape[2:]), frames], dim=1)  # (B, L + k - 1, ...)
    return torch.cat([padded[:, i:i + frames.shape[1]] for i in range(k)], dim=2)
