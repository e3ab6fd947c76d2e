"""The maze offline training distribution: short random walks, vectorised over trajectories.

Per trajectory: one random layout (:func:`jepa_world.envs.maze.layout.sample_layouts`); the same
heading random walk as Two Rooms (heading change per step ~ von Mises(0, kappa), step length ~
Normal(1.0, 0.4) truncated to [0.2, 1.8]); with probability ``door_prob`` the trajectory starts
1.5-6 px in front of a random open door (within +-45 degrees of its axis) and is steered through
it (its heading aims at a point 6 px beyond the door, plus the same von Mises noise) until it has
left its start room; the others start uniformly in a random room. Motion uses the environment's
collision rule (:func:`jepa_world.envs.maze.geometry.move`).

Trajectories are short (17 frames, at most 28.8 px of travel): they cross at most a door or two
and never contain a path between rooms 3 doors apart, the maze episodes' minimum.

Examples:
    >>> import torch
    >>> traj = generate(8, MazeDataConfig(), generator=torch.Generator().manual_seed(0))
    >>> traj.positions.shape, traj.actions.shape, traj.doors.shape
    (torch.Size([8, 17, 2]), torch.Size([8, 16, 2]), torch.Size([8, 12]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.data.sampling import truncated_normal, von_mises
from jepa_world.envs.maze import geometry as geo
from jepa_world.envs.maze.layout import MazeGrid, maze_grid, sample_layouts
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, START_MARGIN, WALL_HALF


@dataclass
class MazeDataConfig:
    """Distribution of the maze offline trajectories."""

    length: int = 17
    """Frames per trajectory (T + 1 observations, T actions)."""
    rooms: int = 3
    """Rooms per side of the maze (2..4)."""
    extra_door_prob: float = 0.0
    """Probability of a door in each wall slot outside the random spanning tree."""
    kappa: float = 5.0
    """Concentration of the von Mises heading change per step."""
    step_mean: float = 1.0
    """Mean step length (px) before truncation."""
    step_std: float = 0.4
    """Standard deviation of the step length (px) before truncation."""
    step_min: float = 0.2
    """Shortest step (px)."""
    step_max: float = 1.8
    """Longest step (px)."""
    door_prob: float = 0.35
    """Probability that a trajectory is steered through a door."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.length < 2:
            raise ValueError(f"length must be >= 2 frames, got {self.length}")
        maze_grid(self.rooms)
        for name in ("door_prob", "extra_door_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 < self.step_min < self.step_max <= MAX_ACTION_NORM:
            raise ValueError(f"need 0 < step_min < step_max <= {MAX_ACTION_NORM}, "
                             f"got {self.step_min}, {self.step_max}")


@dataclass
class MazeTrajectories:
    """N trajectories of T steps (observations are rendered from these on demand)."""

    positions: Tensor
    """(N, T+1, 2) float32 agent centres (x, y) in px."""
    actions: Tensor
    """(N, T, 2) float32 commanded displacements."""
    doors: Tensor
    """(N, E) int64 layout (door centre per wall slot, 0 where solid)."""
    steered: Tensor
    """(N,) bool: whether the trajectory was steered through a door."""

    def __len__(self) -> int:
        return self.positions.shape[0]


def _door_starts(doors: Tensor, grid: MazeGrid, horizon: int,
                 generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Starts in front of a random open door, the waypoints beyond it and the start rooms.

    doors (N, E) -> start (N, 2), target (N, 2) float64, room (N,) int64.
    """
    n = doors.shape[0]
    slot = torch.multinomial((doors > 0).float(), 1, generator=generator).squeeze(1)  # (N,)
    side = (torch.rand(n, generator=generator) < 0.5).long()  # 0: start in the left/top room
    room = grid.edge_rooms[slot].gather(1, side[:, None]).squeeze(1)
    sign = (2 * side - 1).to(torch.float64)  # direction from the wall *into* the start room
    wall, centre = grid.edge_wall[slot].to(torch.float64), doors.gather(1, slot[:, None]).squeeze(1).double()
    u = torch.rand(n, 3, generator=generator, dtype=torch.float64)
    phi = (u[:, 0] * 2 - 1) * math.radians(45)
    r = 1.5 + u[:, 1] * max(min(6.0, 0.4 * horizon) - 1.5, 0.0)
    gap = WALL_HALF + 1
    across, along = wall + sign * (gap + r * torch.cos(phi)), centre + r * torch.sin(phi)
    far_across, far_along = wall - sign * (gap + 6.0), centre + (u[:, 2] * 2 - 1)
    vertical = grid.edge_vertical[slot][:, None]
    start = torch.where(vertical, torch.stack([across, along], -1), torch.stack([along, across], -1))
    target = torch.where(vertical, torch.stack([far_across, far_along], -1), torch.stack([far_along, far_across], -1))
    start = torch.minimum(torch.maximum(start, grid.room_lo[room]), grid.room_hi[room])
    return start, target, room


def generate(n: int, config: MazeDataConfig, *, generator: torch.Generator) -> MazeTrajectories:
    """Sample n trajectories of ``config.length`` frames."""
    config.validate()
    if n < 1:
        raise ValueError(f"number of trajectories must be >= 1, got {n}")
    horizon = config.length - 1
    grid = maze_grid(config.rooms)
    doors = sample_layouts(n, grid, generator=generator, extra_door_prob=config.extra_door_prob)
    steered = torch.rand(n, generator=generator) < config.door_prob
    free_room = torch.randint(0, grid.num_rooms, (n,), generator=generator)
    free_start = geo.sample_in_room(free_room, grid, generator=generator, margin=START_MARGIN)
    door_start, target, door_room = _door_starts(doors, grid, horizon, generator)
    pos = torch.where(steered[:, None], door_start, free_start)  # (N, 2) float64
    start_room = torch.where(steered, door_room, free_room)
    heading = torch.rand(n, generator=generator, dtype=torch.float64) * 2 * math.pi
    turns = von_mises(n * horizon, config.kappa, generator=generator).view(n, horizon)
    lengths = truncated_normal((n, horizon), mean=config.step_mean, std=config.step_std,
                               low=config.step_min, high=config.step_max, generator=generator)
    positions = torch.empty(n, horizon + 1, 2, dtype=torch.float64)
    actions = torch.empty(n, horizon, 2, dtype=torch.float64)
    positions[:, 0] = pos
    steering = steered.clone()
    for t in range(horizon):
        to_target = target - pos
        aim = torch.atan2(to_target[:, 1], to_target[:, 0])
        heading = torch.where(steering, aim, heading) + turns[:, t]
        a = lengths[:, t, None] * torch.stack([torch.cos(heading), torch.sin(heading)], -1)
        pos = geo.move(pos, a, doors)
        steering = steering & (geo.room_of(pos, grid) == start_room)
        positions[:, t + 1] = pos
        actions[:, t] = a
    return MazeTrajectories(positions.float(), actions.float(), doors, steered)
