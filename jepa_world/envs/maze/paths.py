"""Shortest paths in a maze: how many steps an episode needs at least (for step budgets and path efficiency).

The agent's centre moves in free space (:func:`~jepa_world.envs.maze.geometry.is_free`) by at most
``MAX_ACTION_NORM`` px a step, and an episode succeeds within ``SUCCESS_RADIUS`` of the goal.
:func:`shortest_path_length` measures the geodesic on the 1-px lattice of free pixel centres
(:mod:`jepa_world.envs.lattice_paths`, 8-neighbour moves), from the start's nearest lattice point to the
nearest one within the success radius of the goal. The 8-neighbour metric is at most 8 % longer than the
Euclidean one, so :func:`shortest_steps` slightly overestimates the true minimum in open rooms and is exact
in corridors along an axis.

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

from jepa_world.envs import lattice_paths
from jepa_world.envs.maze.geometry import all_rectangles
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, SIZE, SUCCESS_RADIUS


def free_lattice(doors: Tensor) -> Tensor:
    """Free pixel centres of N layouts: doors (N, E) -> (N, SIZE, SIZE) bool, indexed [row y, column x]."""
    return lattice_paths.free_lattice(*all_rectangles(doors), size=SIZE)


def shortest_path_length(doors: Tensor, start: Tensor, goal: Tensor, *, radius: float = SUCCESS_RADIUS) -> Tensor:
    """Geodesic length (px) from each start to within ``radius`` of its goal: doors (N, E), start, goal (N, 2)
    (x, y) -> (N,) float64; inf where no free lattice point within the radius is reachable."""
    dist = lattice_paths.geodesic_map(free_lattice(doors), start)  # (N, H, W)
    coords = torch.arange(SIZE, dtype=torch.float64)
    near = (coords.view(1, 1, SIZE) - goal[:, 0, None, None].double()).pow(2) + \
        (coords.view(1, SIZE, 1) - goal[:, 1, None, None].double()).pow(2) < radius**2  # (N, H, W)
    return dist.masked_fill(~near, math.inf).flatten(1).amin(dim=1)


def shortest_steps(doors: Tensor, start: Tensor, goal: Tensor) -> Tensor:
    """Steps of ``MAX_ACTION_NORM`` px along the shortest path: (N,) int64 (see shortest_path_length)."""
    return torch.ceil(shortest_path_length(doors, start, goal) / MAX_ACTION_NORM - 1e-9).long()

