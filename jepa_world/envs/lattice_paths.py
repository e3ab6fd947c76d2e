"""Geodesic distances on the 1-px lattice of free pixel centres, for free space given as a union of rectangles.

The agent's centre moves in free space; :func:`free_lattice` marks the free pixel centres of N layouts and
:func:`geodesic_map` measures, from one source point per layout, the shortest path to every free pixel with
8-neighbour moves (length 1 or sqrt 2): a shortest-path algorithm vectorised over layouts (min-plus relaxation
until nothing changes). The 8-neighbour metric is at most 8 % longer than the Euclidean one (exact along axes
and diagonals). Used for the maze's step budgets (maze/paths.py) and the true distance beside an energy
landscape (eval/energy_landscape.py).

Examples:
    >>> import torch
    >>> lo, hi = torch.tensor([[[0.0, 0.0]]]), torch.tensor([[[4.0, 0.0]]])   # one free row, x in 0..4
    >>> free = free_lattice(lo, hi, size=5)
    >>> geodesic_map(free, torch.tensor([[0.0, 0.0]]))[0, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))
"""The 8 lattice moves (dx, dy)."""


def free_lattice(lo: Tensor, hi: Tensor, *, size: int, tol: float = 1e-6) -> Tensor:
    """Free pixel centres of N layouts whose free space is the union of K rectangles lo..hi (N, K, 2) (x, y):
    (N, size, size) bool, indexed [row y, column x]."""
    xs = torch.arange(size, dtype=torch.float64)
    x = xs.view(1, 1, size, 1)
    y = xs.view(1, size, 1, 1)
    lo, hi = lo.double()[:, None, None], hi.double()[:, None, None]  # (N, 1, 1, K, 2)
    inside = (x >= lo[..., 0] - tol) & (x <= hi[..., 0] + tol) & (y >= lo[..., 1] - tol) & (y <= hi[..., 1] + tol)
    return inside.any(-1)  # (N, size, size)


def geodesic_map(free: Tensor, source: Tensor) -> Tensor:
    """free (N, H, W) bool, source (N, 2) (x, y) -> (N, H, W) float64 geodesic length (px) from the source's
    nearest pixel to every pixel; inf on blocked pixels and where the source cannot reach."""
    n, h, w = free.shape
    dist = torch.full(free.shape, math.inf, dtype=torch.float64)
    sx, sy = source[:, 0].round().long().clamp(0, w - 1), source[:, 1].round().long().clamp(0, h - 1)
    dist[torch.arange(n), sy, sx] = 0.0
    while True:
        new = dist
        for dx, dy in MOVES:
            new = torch.minimum(new, _shifted(dist, dx, dy) + math.hypot(dx, dy))
        new = torch.where(free, new, torch.full_like(new, math.inf))
        if torch.equal(new, dist):
            return dist
        dist = new


def _shifted(dist: Tensor, dx: int, dy: int) -> Tensor:
    """dist (N, H, W) -> out[y, x] = dist[y - dy, x - dx] (inf off the grid): the value arriving by move (dx, dy)."""
    out = torch.full_like(dist, math.inf)
    h, w = dist.shape[1:]
    out[:, max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \
        dist[:, max(-dy, 0): h - max(dy, 0), max(-dx, 0): w - max(dx, 0)]
    return out
