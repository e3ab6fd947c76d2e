"""The PointMaze mazes this library evaluates on, their free cells, and cell <-> position conversions.

The maps are the package's own (``gymnasium_robotics.envs.maze.maps``); a cell (i, j) is row i from the top,
column j from the left; its centre in MuJoCo coordinates is ``x = j + 0.5 - W / 2``, ``y = H / 2 - i - 0.5``
(maze units, scaling 1: the convention of the package's ``Maze.cell_rowcol_to_xy``, checked by a test).

Examples:
    >>> MAZES["umaze"].gym_id, MAZES["medium"].time_limit
    ('PointMaze_UMaze-v3', 600)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.errors import UserError


@dataclass(frozen=True)
class MazeSpec:
    """One maze: the package id, its map's name and its registered episode time limit."""

    gym_id: str
    """The gymnasium id (sparse reward; the reward is not used here)."""
    map_name: str
    """The attribute of ``gymnasium_robotics.envs.maze.maps`` holding the map."""
    time_limit: int
    """The package's ``max_episode_steps`` for this maze (steps of 0.01 s)."""


MAZES: dict[str, MazeSpec] = {
    "umaze": MazeSpec("PointMaze_UMaze-v3", "U_MAZE", 300),
    "medium": MazeSpec("PointMaze_Medium-v3", "MEDIUM_MAZE", 600),
}
"""Maze name -> spec (the two mazes of issue 13; the Large maze would be one more row)."""


def maze_spec(name: str) -> MazeSpec:
    """The spec of a maze name, or a UserError listing the names."""
    if name not in MAZES:
        raise UserError(f"unknown PointMaze maze {name!r}; expected one of {', '.join(MAZES)}")
    return MAZES[name]


def maze_map(name: str) -> list[list[int | str]]:
    """The package's map of a maze (rows of 1 = wall, anything else = free)."""
    from jepa_world.envs.pointmaze.package import require

    require()
    from gymnasium_robotics.envs.maze import maps

    return getattr(maps, maze_spec(name).map_name)


def free_cells(grid: list[list[int | str]]) -> Tensor:
    """(F, 2) int64 (row, col) of every free cell, row-major order."""
    return torch.tensor([(i, j) for i, row in enumerate(grid) for j, c in enumerate(row) if c != 1], dtype=torch.long)


def cell_distances(grid: list[list[int | str]]) -> Tensor:
    """(F, F) int64 shortest-path lengths in cell moves (4 neighbours) between the free cells of ``free_cells``
    order; -1 between cells not connected."""
    cells = [tuple(c) for c in free_cells(grid).tolist()]
    index = {c: k for k, c in enumerate(cells)}
    dist = torch.full((len(cells), len(cells)), -1, dtype=torch.long)
    for k, source in enumerate(cells):
        dist[k, k], frontier = 0, [source]
        while frontier:
            nxt = []
            for i, j in frontier:
                for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                    if n in index and dist[k, index[n]] < 0:
                        dist[k, index[n]] = dist[k, index[(i, j)]] + 1
                        nxt.append(n)
            frontier = nxt
    return dist


def cell_centres(cells: Tensor, shape: tuple[int, int]) -> Tensor:
    """Cells (..., 2) (row, col) of a map of ``shape`` (rows, cols) -> centres (..., 2) float64 (x, y)."""
    rows, cols = shape
    x = cells[..., 1].double() + 0.5 - cols / 2
    y = rows / 2 - cells[..., 0].double() - 0.5
    return torch.stack([x, y], dim=-1)


def cells_of(xy: Tensor, shape: tuple[int, int]) -> Tensor:
    """Positions (..., 2) (x, y) -> the cells (..., 2) int64 (row, col) that contain them."""
    rows, cols = shape
    col = torch.floor(xy[..., 0].double() + cols / 2)
    row = torch.floor(rows / 2 - xy[..., 1].double())
    return torch.stack([row, col], dim=-1).long()


def to_pixels(xy: Tensor, shape: tuple[int, int], size: int) -> Tensor:
    """Positions (..., 2) (x, y) in maze units -> (..., 2) (column, row) in the top-down camera's pixels of an
    S x S image (``camera.TopDownCamera``: max(rows, cols) units span the image; pixel k's centre is at k)."""
    extent = max(shape)
    col = (xy[..., 0].double() + extent / 2) / extent * size - 0.5
    row = (extent / 2 - xy[..., 1].double()) / extent * size - 0.5
    return torch.stack([col, row], dim=-1)


def check_free(xy: Tensor, grid: list[list[int | str]], what: str) -> None:
    """Raise UserError unless every position (N, 2) lies in a free cell of ``grid``."""
    shape = (len(grid), len(grid[0]))
    cells = cells_of(xy, shape)
    for n, (i, j) in enumerate(cells.tolist()):
        if not (0 <= i < shape[0] and 0 <= j < shape[1]) or grid[i][j] == 1:
            x, y = xy[n].tolist()
            raise UserError(f"{what}[{n}] = ({x:.3f}, {y:.3f}) is not in a free cell of the maze (cell {i}, {j})")
