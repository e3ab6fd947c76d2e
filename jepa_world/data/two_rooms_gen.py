"""The Two Rooms offline training distribution (PLDM / EB-JEPA style), vectorised over trajectories.

Per trajectory: one random layout; actions from a heading random walk (heading change per step
~ von Mises(0, kappa=5), step length ~ Normal(1.0, 0.4) truncated to [0.2, 1.8]); with
probability 0.35 the trajectory starts in front of the door and is steered through it (its
heading points at a waypoint beyond the door, plus the same von Mises noise, until it has
crossed). Motion uses the environment's own collision rule (``envs.two_rooms.physics.apply_action``,
with ``physics`` as in the env: EB-JEPA's by default, its collision noise drawn from the same generator).

The only Python loop is over time steps; every step advances all N trajectories at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.config import added_field
from jepa_world.data.sampling import truncated_normal, von_mises
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.physics import apply_action, check_physics
from jepa_world.envs.two_rooms.render import check_walls


@dataclass
class TwoRoomsDataConfig:
    """Distribution of the Two Rooms offline trajectories."""

    length: int = 17
    """Frames per trajectory (T + 1 observations, T actions)."""
    fixed_wall: bool = False
    """Use the fixed layout instead of a random layout per trajectory."""
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
    """Probability that a trajectory is steered through the door."""
    physics: str = "ebjepa"
    """Collision rule, as the env's ``TwoRoomsConfig.physics``: 'ebjepa' or 'strict'."""
    walls: str = "ebjepa"
    """Wall pixels drawn, as the env's ``TwoRoomsConfig.walls``: 'ebjepa' or 'arena'."""
    doors: str = added_field("all", absent="all")
    """Door rows of the random layouts (envs.two_rooms.geometry.DOOR_SPLITS): 'all', or 'low' / 'high' (disjoint
    halves) to hold the other half's layouts out of training."""

    def validate(self) -> None:
        geo.check_doors(self.doors)
        check_physics(self.physics)
        check_walls(self.walls)
        if self.length < 2:
            raise ValueError(f"length must be >= 2 frames, got {self.length}")
        if not 0.0 <= self.door_prob <= 1.0:
            raise ValueError(f"door_prob must be in [0, 1], got {self.door_prob}")
        if not 0 < self.step_min < self.step_max <= geo.MAX_ACTION_NORM:
            raise ValueError(f"need 0 < step_min < step_max <= {geo.MAX_ACTION_NORM}, "
                             f"got {self.step_min}, {self.step_max}")


@dataclass
class Trajectories:
    """N trajectories of T steps (observations are rendered from these on demand).

    positions: (N, T+1, 2) float32 agent centres (x, y) in px.
    actions: (N, T, 2) float32 commanded displacements.
    wall_x, door_y: (N,) int64 layout.
    steered: (N,) bool, whether the trajectory was steered through the door.
    walls: how the wall pixels are rendered ('ebjepa' or 'arena', the generating config's).
    """

    positions: Tensor
    actions: Tensor
    wall_x: Tensor
    door_y: Tensor
    steered: Tensor
    walls: str = "ebjepa"

    def __len__(self) -> int:
        return self.positions.shape[0]


def _steered_starts(wall_x: Tensor, door_y: Tensor, side: Tensor, horizon: int,
                    generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Starts in front of the door and waypoints beyond it: (N, 2) each, float64.

    side: (N,) 0 = start left of the wall, 1 = right.
    """
    n = wall_x.shape[0]
    sign = (2 * side - 1).to(torch.float64)  # -1 left, +1 right: direction *into* the start room
    wx, dy = wall_x.to(torch.float64), door_y.to(torch.float64)
    gap = geo.WALL_HALF + 1
    u = torch.rand(n, 3, generator=generator, dtype=torch.float64)
    phi = (u[:, 0] * 2 - 1) * math.radians(45)
    r_max = min(6.0, 0.4 * horizon)
    r = 1.5 + u[:, 1] * max(r_max - 1.5, 0.0)
    x = wx + sign * (gap + r * torch.cos(phi))
    y = (dy + r * torch.sin(phi)).clamp(geo.FREE_LO + 1, geo.FREE_HI - 1)
    room_lo = torch.where(side == 0, torch.full_like(wx, geo.FREE_LO + 1), wx + gap)
    room_hi = torch.where(side == 0, wx - gap, torch.full_like(wx, geo.FREE_HI - 1))
    start = torch.stack([torch.minimum(torch.maximum(x, room_lo), room_hi), y], -1)
    target = torch.stack([wx - sign * (gap + 6.0), dy + (u[:, 2] * 2 - 1)], -1)
    return start, target


def generate(n: int, config: TwoRoomsDataConfig, *, generator: torch.Generator,
             noise_generator: torch.Generator | None = None) -> Trajectories:
    """Sample n trajectories of ``config.length`` frames.

    The collision noise of the 'ebjepa' rule is drawn from ``noise_generator`` (default: ``generator``), one
    (n, 2) draw per step exactly as ``TwoRoomsBatch`` draws it from its own generator, so an env seeded like
    ``noise_generator`` and given the same starts and actions replays the data (tests/test_two_rooms_ebjepa.py).
    """
    config.validate()
    if n < 1:
        raise ValueError(f"number of trajectories must be >= 1, got {n}")
    horizon = config.length - 1
    wall_x, door_y = geo.sample_layouts(n, generator=generator, fixed=config.fixed_wall, doors=config.doors)
    side = (torch.rand(n, generator=generator) < 0.5).long()
    steered = torch.rand(n, generator=generator) < config.door_prob
    free_start = geo.sample_in_room(n, side, wall_x, generator=generator)
    door_start, target = _steered_starts(wall_x, door_y, side, horizon, generator)
    pos = torch.where(steered.unsqueeze(-1), door_start, free_start)  # (N, 2) float64
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
        pos = apply_action(pos, a, wall_x, door_y, physics=config.physics,
                           generator=generator if noise_generator is None else noise_generator)
        steering = steering & (geo.room_of(pos, wall_x) == side)
        positions[:, t + 1] = pos
        actions[:, t] = a
    return Trajectories(positions.float(), actions.float(), wall_x, door_y, steered, walls=config.walls)


def crossed_wall(positions: Tensor, wall_x: Tensor) -> Tensor:
    """Whether each trajectory ends in the other room than it started: positions (N, T, 2) -> (N,)."""
    rooms = geo.room_of(positions, wall_x.unsqueeze(-1))
    return rooms[:, 0] != rooms[:, -1]
