"""Maze layouts: a grid of n x n rooms in the 65 x 65 Two Rooms arena, connected by doors.

Geometry (pixels, ``x`` = column, ``y`` = row, integer coordinates are pixel centres, as in
:mod:`jepa_world.envs.two_rooms.geometry`): the border lines at rows/columns 4 and 60; n - 1
internal walls per axis, 3 px wide, centred on ``round(4 + 56 k / n)`` (k = 1 .. n - 1; 23 and 41
for n = 3). Room (r, c) (id ``r * n + c``) spans the free pixels between its wall lines.

Every pair of side-by-side rooms shares a *wall slot* (an edge of the room graph): ``E = 2 n (n - 1)``
slots, first the vertical walls between (r, c) and (r, c + 1) (slot ``r * (n - 1) + c``), then the
horizontal walls between (r, c) and (r + 1, c) (slot ``n (n - 1) + r * n + c``). A layout is
``doors (N, E) int64``: the door's centre coordinate along its wall (the row of a vertical wall's
door, the column of a horizontal one) where the slot has a 9-px door, 0 where it is solid. A door
lies within the span of the rooms it joins, so it never touches a wall crossing.

Random layouts: a random spanning tree of the room graph (Kruskal's algorithm over random edge
weights, vectorised over layouts) makes every room reachable; each remaining slot gets a door
with probability ``extra_door_prob``; door centres are uniform over their allowed range.

Examples:
    >>> import torch
    >>> grid = maze_grid(3)
    >>> grid.walls, grid.num_rooms, grid.num_edges
    ((23, 41), 9, 12)
    >>> doors = sample_layouts(4, grid, generator=torch.Generator().manual_seed(0))
    >>> doors.shape, bool(((doors > 0).sum(1) >= 8).all())       # a spanning tree has 8 doors
    (torch.Size([4, 12]), True)
    >>> bool((room_distances(doors, grid) >= 0).all())              # every room reachable
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from jepa_world.envs.two_rooms.geometry import BORDER_HI, BORDER_LO, DOOR_HALF, WALL_HALF


@dataclass(frozen=True)
class MazeGrid:
    """The fixed geometry of an n x n room grid (everything but the doors)."""

    n: int
    """Rooms per side."""
    walls: tuple[int, ...]
    """Centre row/column of the n - 1 internal walls (the same on both axes)."""
    room_span: tuple[tuple[int, int], ...]
    """Per room column (or row) index: the first and last free pixel (n pairs)."""
    edge_rooms: Tensor
    """(E, 2) int64: the two room ids a slot joins (left/top first)."""
    edge_vertical: Tensor
    """(E,) bool: True for a vertical wall (rooms side by side), False for a horizontal one."""
    edge_wall: Tensor
    """(E,) int64: the wall's centre column (vertical) or row (horizontal)."""
    door_min: Tensor
    """(E,) int64: smallest allowed door centre along the wall."""
    door_max: Tensor
    """(E,) int64: largest allowed door centre along the wall."""
    room_lo: Tensor
    """(R, 2) float64: lower corner (x, y) of each room's free rectangle for the agent's centre."""
    room_hi: Tensor
    """(R, 2) float64: upper corner (x, y)."""
    neighbours: Tensor
    """(R, 4) int64: the room to the right, left, below, above (-1 off the grid)."""
    neighbour_edges: Tensor
    """(R, 4) int64: the slot between a room and that neighbour (-1 off the grid)."""

    @property
    def num_rooms(self) -> int:
        return self.n * self.n

    @property
    def num_edges(self) -> int:
        return 2 * self.n * (self.n - 1)


def _room_spans(walls: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    lines = (BORDER_LO, *walls, BORDER_HI)
    gap = WALL_HALF + 1
    spans = []
    for k in range(len(lines) - 1):
        lo = lines[k] + (1 if k == 0 else gap)
        hi = lines[k + 1] - (1 if k + 1 == len(lines) - 1 else gap)
        spans.append((lo, hi))
    return tuple(spans)


_Edge = tuple[int, int, bool, int, int, int]
"""(room a, room b, vertical, wall centre, door min, door max)."""


def _edges(n: int, spans: tuple[tuple[int, int], ...], walls: tuple[int, ...]) -> list[_Edge]:
    """(room a, room b, vertical, wall centre, door min, door max) per slot, in slot order."""
    out = []
    for r in range(n):
        for c in range(n - 1):
            out.append((r * n + c, r * n + c + 1, True, walls[c], spans[r][0] + DOOR_HALF, spans[r][1] - DOOR_HALF))
    for r in range(n - 1):
        for c in range(n):
            out.append((r * n + c, (r + 1) * n + c, False, walls[r], spans[c][0] + DOOR_HALF, spans[c][1] - DOOR_HALF))
    return out


def _neighbour_tables(n: int, edges: list[_Edge]) -> tuple[Tensor, Tensor]:
    rooms = torch.full((n * n, 4), -1, dtype=torch.long)
    slots = torch.full((n * n, 4), -1, dtype=torch.long)
    for e, (a, b, vertical, *_rest) in enumerate(edges):
        fwd, back = (0, 1) if vertical else (2, 3)  # a -> b is right (vertical) or down (horizontal)
        rooms[a, fwd], slots[a, fwd] = b, e
        rooms[b, back], slots[b, back] = a, e
    return rooms, slots


@cache
def maze_grid(n: int) -> MazeGrid:
    """The geometry of an n x n maze (2 <= n <= 4: rooms must stay wider than a 9-px door)."""
    if not 2 <= n <= 4:
        raise ValueError(f"rooms per side must be in [2, 4], got {n}")
    walls = tuple(round(BORDER_LO + (BORDER_HI - BORDER_LO) * k / n) for k in range(1, n))
    spans = _room_spans(walls)
    edges = _edges(n, spans, walls)
    lo = [(spans[r % n][0], spans[r // n][0]) for r in range(n * n)]  # room id r -> (column, row) spans
    hi = [(spans[r % n][1], spans[r // n][1]) for r in range(n * n)]
    neighbours, neighbour_edges = _neighbour_tables(n, edges)
    return MazeGrid(
        n=n, walls=walls, room_span=spans,
        edge_rooms=torch.tensor([e[:2] for e in edges], dtype=torch.long),
        edge_vertical=torch.tensor([e[2] for e in edges]),
        edge_wall=torch.tensor([e[3] for e in edges], dtype=torch.long),
        door_min=torch.tensor([e[4] for e in edges], dtype=torch.long),
        door_max=torch.tensor([e[5] for e in edges], dtype=torch.long),
        room_lo=torch.tensor(lo, dtype=torch.float64), room_hi=torch.tensor(hi, dtype=torch.float64),
        neighbours=neighbours, neighbour_edges=neighbour_edges,
    )


def grid_of(doors: Tensor) -> MazeGrid:
    """The grid whose layouts have ``doors.shape[-1]`` slots (4, 12 or 24 for n = 2, 3, 4)."""
    e = doors.shape[-1]
    for n in (2, 3, 4):
        if 2 * n * (n - 1) == e:
            return maze_grid(n)
    raise ValueError(f"doors must have 4, 12 or 24 slots (2x2, 3x3, 4x4 rooms), got shape {tuple(doors.shape)}")


def spanning_tree(num: int, grid: MazeGrid, *, generator: torch.Generator) -> Tensor:
    """Random spanning trees of the room graph: (num, E) bool, True on the tree's slots.

    Kruskal's algorithm over i.i.d. uniform edge weights, one Python step per slot, vectorised
    over the ``num`` layouts: a slot joins two components -> it is a door, the components merge.
    """
    order = torch.rand(num, grid.num_edges, generator=generator).argsort(dim=1)  # (num, E)
    label = torch.arange(grid.num_rooms).expand(num, -1).clone()  # (num, R) component of each room
    tree = torch.zeros(num, grid.num_edges, dtype=torch.bool)
    rows = torch.arange(num)
    for k in range(grid.num_edges):
        e = order[:, k]  # (num,)
        a, b = grid.edge_rooms[e, 0], grid.edge_rooms[e, 1]
        la, lb = label[rows, a], label[rows, b]  # (num,)
        joins = la != lb
        tree[rows, e] = joins
        merge = joins[:, None] & (label == lb[:, None])  # (num, R)
        label = torch.where(merge, la[:, None].expand_as(label), label)
    return tree


def sample_layouts(num: int, grid: MazeGrid, *, generator: torch.Generator,
                   extra_door_prob: float = 0.0) -> Tensor:
    """Random layouts: doors (num, E) int64, the door centre on open slots and 0 on solid ones."""
    if not 0.0 <= extra_door_prob <= 1.0:
        raise ValueError(f"extra_door_prob must be in [0, 1], got {extra_door_prob}")
    tree = spanning_tree(num, grid, generator=generator)
    extra = torch.rand(num, grid.num_edges, generator=generator) < extra_door_prob
    u = torch.rand(num, grid.num_edges, generator=generator)
    span = (grid.door_max - grid.door_min + 1).to(u.dtype)
    centre = grid.door_min + (u * span).floor().long().clamp_max(grid.door_max - grid.door_min)
    return torch.where(tree | extra, centre, torch.zeros_like(centre))


def room_distances(doors: Tensor, grid: MazeGrid | None = None) -> Tensor:
    """Door-graph distances between rooms: doors (N, E) -> (N, R, R) int64 (-1 where unreachable).

    Min-plus closure (Floyd-Warshall) of the adjacency of open slots, vectorised over layouts.
    """
    grid = grid or grid_of(doors)
    n, r = doors.shape[0], grid.num_rooms
    big = r + 1
    dist = torch.full((n, r, r), big, dtype=torch.long)
    dist[:, torch.arange(r), torch.arange(r)] = 0
    a, b = grid.edge_rooms[:, 0], grid.edge_rooms[:, 1]
    open_ = doors > 0  # (N, E)
    hop = torch.where(open_, 1, big)  # (N, E)
    dist[:, a, b] = torch.minimum(dist[:, a, b], hop)
    dist[:, b, a] = torch.minimum(dist[:, b, a], hop)
    for k in range(r):
        dist = torch.minimum(dist, dist[:, :, k:k + 1] + dist[:, k:k + 1, :])
    return torch.where(dist >= big, torch.full_like(dist, -1), dist)
