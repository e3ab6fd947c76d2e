"""Batched rendering of maze observations in the Two Rooms format: (2, 65, 65) float32.

Channel 0 is the agent's Gaussian blob (the Two Rooms renderer's, sigma 1.3 px); channel 1 the
walls: border lines at rows/columns 4 and 60, and the 3-px internal walls of the grid with a 9-px
gap where a slot has a door (:mod:`jepa_world.envs.maze.layout`).

Examples:
    >>> import torch
    >>> doors = torch.zeros(1, 12, dtype=torch.long)
    >>> doors[0, 0] = 13                                   # vertical wall at column 23, rows 9..17 open
    >>> walls = render_walls(doors)
    >>> walls.shape, walls[0, 9:18, 22:25].sum().item(), walls[0, 8, 22:25].tolist()
    (torch.Size([1, 65, 65]), 0.0, [1.0, 1.0, 1.0])
    >>> render(torch.tensor([[10.0, 10.0]]), doors).shape
    torch.Size([1, 2, 65, 65])
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.maze.layout import MazeGrid, grid_of
from jepa_world.envs.two_rooms.geometry import BORDER_HI, BORDER_LO, DOOR_HALF, SIZE, WALL_HALF
from jepa_world.envs.two_rooms.render import render_agent


def _solid_walls(grid: MazeGrid) -> Tensor:
    """Border and every internal wall without doors: (65, 65) bool."""
    idx = torch.arange(SIZE)
    rows, cols = idx.view(SIZE, 1), idx.view(1, SIZE)
    inside = (rows >= BORDER_LO) & (rows <= BORDER_HI) & (cols >= BORDER_LO) & (cols <= BORDER_HI)
    mask = (rows == BORDER_LO) | (rows == BORDER_HI) | (cols == BORDER_LO) | (cols == BORDER_HI)
    for w in grid.walls:
        mask = mask | ((cols - w).abs() <= WALL_HALF) | ((rows - w).abs() <= WALL_HALF)
    return mask & inside


def door_pixels(doors: Tensor) -> Tensor:
    """Pixels opened by the doors: doors (N, E) -> (N, 65, 65) bool."""
    grid = grid_of(doors)
    idx = torch.arange(SIZE)
    along = ((idx.view(1, 1, SIZE) - doors.unsqueeze(-1)).abs() <= DOOR_HALF) & (doors > 0).unsqueeze(-1)  # (N, E, 65)
    across = ((idx.view(1, SIZE) - grid.edge_wall.view(-1, 1)).abs() <= WALL_HALF).expand_as(along)  # (N, E, 65)
    vertical = grid.edge_vertical.view(1, -1, 1, 1)
    rows = torch.where(vertical.squeeze(-1), along, across)  # (N, E, 65): rows covered by the door
    cols = torch.where(vertical.squeeze(-1), across, along)
    return (rows.unsqueeze(-1) & cols.unsqueeze(-2)).any(dim=1)


def render_walls(doors: Tensor) -> Tensor:
    """Wall channel: doors (N, E) -> (N, 65, 65) float32 with 1.0 on wall pixels."""
    solid = _solid_walls(grid_of(doors))
    return (solid.unsqueeze(0) & ~door_pixels(doors)).to(torch.float32)


def render(pos: Tensor, doors: Tensor) -> Tensor:
    """Observations of N agents: pos (N, 2), doors (N, E) -> (N, 2, 65, 65) float32."""
    return torch.stack([render_agent(pos), render_walls(doors).to(pos.device)], 1)


def render_trajectories(pos: Tensor, doors: Tensor) -> Tensor:
    """Observations of whole trajectories: pos (N, T, 2), doors (N, E) -> (N, T, 2, 65, 65) float32."""
    walls = render_walls(doors).to(pos.device)  # (N, 65, 65)
    agent = render_agent(pos)  # (N, T, 65, 65)
    return torch.stack([agent, walls.unsqueeze(1).expand_as(agent)], dim=2)
