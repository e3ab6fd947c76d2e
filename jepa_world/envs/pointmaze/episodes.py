"""PointMaze episodes: a start and a goal, each uniform in a free cell, the two cells distinct (or, as an option,
at least ``min_cell_distance`` cell moves apart: a harder variant of the protocol).

The protocol follows the package's own reset (gymnasium-robotics ``MazeEnv.reset``): a goal cell and a
different reset cell, each position the cell centre plus uniform noise in [-0.25, 0.25] per axis
(``position_noise_range``). Here both cells are uniform over all free cells (the package's default when a
map marks no goal or reset cells, as UMaze and Medium do), drawn from a torch generator so an evaluation's
episode set is a pure function of its seed.

Examples:
    >>> import torch
    >>> grid = [[1, 1, 1], [1, 0, 1], [1, 0, 1], [1, 1, 1]]
    >>> ep = sample_from_grid(4, grid, generator=torch.Generator().manual_seed(0))
    >>> ep.start.shape, bool(((ep.start - ep.goal).abs().amax(-1) > 0.4).all())
    (torch.Size([4, 2]), True)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from jepa_world.envs.pointmaze.layout import cell_centres, cell_distances, free_cells, maze_map

POSITION_NOISE = 0.25
"""Half-width of the uniform noise added to a cell centre (the package's ``position_noise_range``)."""


@dataclass
class PointMazeEpisodes:
    """The fixed part of N PointMaze episodes (maze units; the ball starts at rest)."""

    start: Tensor
    """(N, 2) float64 start position (x, y)."""
    goal: Tensor
    """(N, 2) float64 goal position (x, y)."""

    def __len__(self) -> int:
        return self.start.shape[0]

    def slice(self, start: int, stop: int) -> PointMazeEpisodes:
        """Episodes start .. stop - 1."""
        return PointMazeEpisodes(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})


def sample_from_grid(n: int, grid: list[list[int | str]], *, generator: torch.Generator,
                     min_cell_distance: int = 1) -> PointMazeEpisodes:
    """N episodes in a map: start and goal cells uniform and distinct (with ``min_cell_distance`` d > 1: uniform
    over the ordered pairs at least d cell moves apart), positions jittered within the cells."""
    cells = free_cells(grid)  # (F, 2)
    f = cells.shape[0]
    if f < 2:
        raise ValueError(f"the maze needs two free cells for a start and a goal, it has {f}")
    if min_cell_distance > 1:
        start_idx, goal_idx = _far_pairs(n, cell_distances(grid), min_cell_distance, generator)
    else:
        start_idx = torch.randint(f, (n,), generator=generator)
        goal_idx = (start_idx + torch.randint(1, f, (n,), generator=generator)) % f  # uniform over the other cells
    shape = (len(grid), len(grid[0]))
    return PointMazeEpisodes(start=jitter(cell_centres(cells[start_idx], shape), generator),
                             goal=jitter(cell_centres(cells[goal_idx], shape), generator))


def _far_pairs(n: int, dist: Tensor, d: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """N (start, goal) cell indices (N,) each, uniform over the ordered pairs with distance (F, F) >= d."""
    ok = (dist >= d).flatten().double()  # (F * F,)
    if ok.sum() == 0:
        raise ValueError(f"no two free cells are {d} cell moves apart (the longest path is {int(dist.max())})")
    pair = torch.multinomial(ok, n, replacement=True, generator=generator)  # (N,)
    return pair // dist.shape[0], pair % dist.shape[0]


def jitter(centres: Tensor, generator: torch.Generator) -> Tensor:
    """Centres (N, 2) float64 plus uniform noise in [-POSITION_NOISE, POSITION_NOISE] per axis."""
    noise = torch.rand(centres.shape, generator=generator, dtype=torch.float64) * 2 - 1
    return centres + POSITION_NOISE * noise


def sample_episodes(n: int, maze: str = "umaze", *, generator: torch.Generator,
                    min_cell_distance: int = 1) -> PointMazeEpisodes:
    """N episodes of a named maze (``layout.MAZES``)."""
    return sample_from_grid(n, maze_map(maze), generator=generator, min_cell_distance=min_cell_distance)
