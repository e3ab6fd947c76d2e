"""N maze goal-reaching episodes stepped at once in torch (the planners' long-horizon evaluation env).

An episode: one random layout (a spanning tree of the room graph plus optional extra doors); the
start and the goal are uniform in two rooms at least ``min_room_distance`` doors apart (the pair of
rooms is uniform over the pairs that are), both ``start_margin`` px from the wall lines; the goal
is given as an observation with the agent drawn at it. Success = final distance < 4.5 px, as in
Two Rooms; 80 steps: on 3x3 mazes with start and goal >= 3 doors apart the shortest path takes 23
steps on average and at most ~45 (envs/maze/paths.py), so the budget leaves room for detours but
not for finding the way by wandering (docs/hierarchical.md).

Examples:
    >>> env = MazeBatch(4)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["goal_obs"].shape, bool((info["room_distance"] >= 3).all())
    (torch.Size([4, 2, 65, 65]), torch.Size([4, 2, 65, 65]), True)
    >>> obs, info = env.step(torch.zeros(4, 2))
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from jepa_world.envs.maze import geometry as geo
from jepa_world.envs.maze.layout import maze_grid, room_distances, sample_layouts
from jepa_world.envs.maze.render import render
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, START_MARGIN, SUCCESS_RADIUS, clip_action_norm


@dataclass
class MazeConfig:
    """Settings of the maze goal-reaching task."""

    rooms: int = 3
    """Rooms per side (2..4): rooms x rooms rooms in the 65 x 65 arena."""
    extra_door_prob: float = 0.0
    """Probability of a door in each wall slot left solid by the random spanning tree (0: a perfect maze)."""
    min_room_distance: int = 3
    """Start and goal rooms are at least this many doors apart (at most 2 * (rooms - 1))."""
    max_steps: int = 80
    """Episode length in steps (about 1.8x the longest shortest path of 3x3 episodes; see the module docstring)."""
    success_radius: float = SUCCESS_RADIUS
    """Success when the final distance to the goal is below this (px)."""
    max_action_norm: float = MAX_ACTION_NORM
    """Actions are clipped to this L2 norm (px per step)."""
    start_margin: float = START_MARGIN
    """Starts and goals keep this distance (px) from the wall lines."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        maze_grid(self.rooms)  # checks the range
        if not 0 <= self.min_room_distance <= 2 * (self.rooms - 1):
            raise ValueError(f"MazeConfig.min_room_distance must be in [0, {2 * (self.rooms - 1)}] for "
                             f"{self.rooms}x{self.rooms} rooms (corner to corner), got {self.min_room_distance}")
        if not 0.0 <= self.extra_door_prob <= 1.0:
            raise ValueError(f"MazeConfig.extra_door_prob must be in [0, 1], got {self.extra_door_prob}")
        if self.max_steps < 1:
            raise ValueError(f"MazeConfig.max_steps must be >= 1, got {self.max_steps}")


@dataclass
class MazeEpisodes:
    """The fixed part of N maze episodes."""

    doors: Tensor
    """(N, E) int64 layout: door centre per wall slot, 0 where solid."""
    start: Tensor
    """(N, 2) float32 start position (x, y) in px."""
    goal: Tensor
    """(N, 2) float32 goal position."""
    room_distance: Tensor
    """(N,) int64 door-graph distance between the start and goal rooms."""

    def __len__(self) -> int:
        return self.start.shape[0]

    def slice(self, start: int, stop: int) -> MazeEpisodes:
        """Episodes start .. stop - 1."""
        return MazeEpisodes(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})


def sample_room_pairs(doors: Tensor, min_distance: int, *, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Start and goal rooms (N,) each, uniform over the ordered pairs at least ``min_distance`` doors apart."""
    dist = room_distances(doors)  # (N, R, R)
    r = dist.shape[1]
    ok = (dist >= min_distance).flatten(1).float()  # (N, R * R)
    if (ok.sum(1) == 0).any():
        raise ValueError(f"a layout has no pair of rooms {min_distance} doors apart")
    pair = torch.multinomial(ok, 1, generator=generator).squeeze(1)  # (N,)
    return pair // r, pair % r


def sample_episodes(n: int, config: MazeConfig | None = None, *, generator: torch.Generator) -> MazeEpisodes:
    """N episodes: random layouts, start and goal rooms at least ``config.min_room_distance`` doors apart."""
    config = config or MazeConfig()
    grid = maze_grid(config.rooms)
    doors = sample_layouts(n, grid, generator=generator, extra_door_prob=config.extra_door_prob)
    start_room, goal_room = sample_room_pairs(doors, config.min_room_distance, generator=generator)
    start = geo.sample_in_room(start_room, grid, generator=generator, margin=config.start_margin)
    goal = geo.sample_in_room(goal_room, grid, generator=generator, margin=config.start_margin)
    distance = room_distances(doors)[torch.arange(n), start_room, goal_room]
    return MazeEpisodes(doors, start.float(), goal.float(), distance)


class MazeBatch:
    """N maze goal-reaching episodes in lock-step (the same interface as ``TwoRoomsBatch``)."""

    def __init__(self, num_envs: int, config: MazeConfig | None = None, device: str = "cpu"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.config = config or MazeConfig()
        self.config.validate()
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(0)
        self.t = 0

    def reset(self, seed: int | None = None, episodes: MazeEpisodes | None = None) -> tuple[Tensor, dict]:
        """Start N new episodes (sampled from ``seed``, or given) -> obs (N, 2, 65, 65), info."""
        if seed is not None:
            self.generator.manual_seed(seed)
        if episodes is None:
            episodes = sample_episodes(self.num_envs, self.config, generator=self.generator)
        if episodes.start.shape != (self.num_envs, 2):
            raise ValueError(f"episodes.start must be ({self.num_envs}, 2), got {tuple(episodes.start.shape)}")
        grid = maze_grid(self.config.rooms)
        if episodes.doors.shape[1] != grid.num_edges:
            raise ValueError(f"episodes.doors must have {grid.num_edges} slots for {self.config.rooms}x"
                             f"{self.config.rooms} rooms, got shape {tuple(episodes.doors.shape)}")
        self.ep = episodes
        self.pos = episodes.start.clone()
        self.goal_obs = render(episodes.goal, episodes.doors).to(self.device)
        self.t = 0
        return self._obs(), self._info()

    def step(self, actions: Tensor) -> tuple[Tensor, dict]:
        """Move every agent: actions (N, 2) -> obs (N, 2, 65, 65), info."""
        if actions.shape != (self.num_envs, 2):
            raise ValueError(f"actions must be ({self.num_envs}, 2), got {tuple(actions.shape)}")
        if self.t >= self.config.max_steps:
            raise RuntimeError(f"episode is over ({self.config.max_steps} steps): call reset()")
        a = clip_action_norm(actions.detach().to("cpu", torch.float32), self.config.max_action_norm)
        self.pos = geo.move(self.pos, a, self.ep.doors)
        self.t += 1
        return self._obs(), self._info()

    @property
    def done(self) -> bool:
        return self.t >= self.config.max_steps

    def distance(self) -> Tensor:
        """Distance to the goal (N,) in px."""
        return (self.pos - self.ep.goal).norm(dim=-1)

    def _obs(self) -> Tensor:
        return render(self.pos, self.ep.doors).to(self.device)

    def _info(self) -> dict:
        dist = self.distance()
        return {
            "pos": self.pos.clone(),
            "goal_pos": self.ep.goal.clone(),
            "goal_obs": self.goal_obs,
            "distance": dist,
            "success": dist < self.config.success_radius,
            "doors": self.ep.doors.clone(),
            "room_distance": self.ep.room_distance.clone(),
            "t": self.t,
        }
