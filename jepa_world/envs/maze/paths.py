"""Shortest paths in a maze: how many steps an episode needs at least (for step budgets and path efficiency).

The agent's centre moves in free space (:func:`~jepa_world.envs.maze.geometry.is_free`) by at most
``MAX_ACTION_NORM`` px a step, and an episode succeeds within ``SUCCESS_RADIUS`` of the goal.
:func:`shortest_path_length` measures the geodesic on the 1-px lattice of free pixel centres with
8-neighbour moves (length 1 or sqrt 2), from the start's nearest lattice point to the nearest one
within the success radius of the goal: a shortest-path algorithm vectorised over episodes
(min-plus relaxation until nothing changes). The 8-neighbour metric is at most 8 % longer than the
Euclidean one (exact along axes and diagonals), so :func:`shortest_steps` slightly overestimates
the true minimum in open rooms and is exact in corridors along an axis.

Examples:
    >>> import torch
    >>> from jepa_world.envs.maze.layout import maze_grid, sample_layouts
    >>> doors = sample_layouts(1, maze_grid(3), generator=torch.Generator().manual_seed(0))
    >>> length = shortest_path_length(doors, torch.tensor([[10.0, 10.0]]), torch.tensor([[20.0, 10.0]]))
    >>> round(float(length[0]), 1)                           # same room, 10 px apart, 4.5 px radius
    6.0
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from jepa_world.envs.maze.geometry import all_rectangles
from jepa_world.envs.two_rooms_geometry import MAX_ACTION_NORM, SIZE, SUCCESS_RADIUS

_MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


def free_lattice(doors: Tensor) -> Tensor:
    """Free pixel centres of N layouts: doors (N, E) -> (N, SIZE, SIZE) bool, indexed [row y, column x]."""
    lo, hi = all_rectangles(doors)  # (N, K, 2) each, (x, y)
    xs = torch.arange(SIZE, dtype=torch.float64)
    x = xs.view(1, 1, SIZE, 1)
    y = xs.view(1, SIZE, 1, 1)
    lo, hi = lo[:, None, None], hi[:, None, None]  # (N, 1, 1, K, 2)
    tol = 1e-6
    inside = (x >= lo[..., 0] - tol) & (x <= hi[..., 0] + tol) & (y >= lo[..., 1] - tol) & (y <= hi[..., 1] + tol)
    return inside.any(-1)  # (N, SIZE, SIZE)


def shortest_path_length(doors: Tensor, start: Tensor, goal: Tensor, *, radius: float = SUCCESS_RADIUS) -> Tensor:
    """Geodesic length (px) from each start to within ``radius`` of its goal: doors (N, E), start, goal (N, 2)
    (x, y) -> (N,) float64; inf where no free lattice point within the radius is reachable."""
    free = free_lattice(doors)  # (N, H, W)
    n = free.shape[0]
    dist = torch.full(free.shape, math.inf, dtype=torch.float64)
    sx, sy = start[:, 0].round().long().clamp(0, SIZE - 1), start[:, 1].round().long().clamp(0, SIZE - 1)
    dist[torch.arange(n), sy, sx] = 0.0
    while True:
        new = dist
        for dx, dy in _MOVES:
            new = torch.minimum(new, _shifted(dist, dx, dy) + math.hypot(dx, dy))
        new = torch.where(free, new, torch.full_like(new, math.inf))
        if torch.equal(new, dist):
            break
        dist = new
    coords = torch.arange(SIZE, dtype=torch.float64)
    near = (coords.view(1, 1, SIZE) - goal[:, 0, None, None].double()).pow(2) + \
        (coords.view(1, SIZE, 1) - goal[:, 1, None, None].double()).pow(2) < radius**2  # (N, H, W)
    return dist.masked_fill(~near, math.inf).flatten(1).amin(dim=1)


def shortest_steps(doors: Tensor, start: Tensor, goal: Tensor) -> Tensor:
    """Steps of ``MAX_ACTION_NORM`` px along the shortest path: (N,) int64 (see shortest_path_length)."""
    return torch.ceil(shortest_path_length(doors, start, goal) / MAX_ACTION_NORM - 1e-9).long()


def _shifted(dist: Tensor, dx: int, dy: int) -> Tensor:
    """dist (N, H, W) -> out[y, x] = dist[y - dy, x - dx] (inf off the grid): the value arriving by move (dx, dy)."""
    out = torch.full_like(dist, math.inf)
    h, w = dist.shape[1:]
    out[:, max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \
        dist[:, max(-dy, 0): h - max(dy, 0), max(-dx, 0): w - max(dx, 0)]
    return out
