"""Maze free space and the Two Rooms collision rule on it, batched in torch.

Free space for the agent's centre is the union of closed rectangles whose edges are the centres of
the outermost free pixels (so a free point always rounds to a free pixel), exactly as in Two Rooms:

- room (r, c): ``[x_lo(c), x_hi(c)] x [y_lo(r), y_hi(r)]`` (see :class:`~jepa_world.envs.maze.layout.MazeGrid`);
- a door of a vertical wall at column ``w`` centred on row ``d``: ``[w - 2, w + 2] x [d - 4, d + 4]``;
  of a horizontal wall at row ``w`` centred on column ``d``: ``[d - 4, d + 4] x [w - 2, w + 2]``.

Collision rule (the environment, the data generator and the oracle all call :func:`move`): the
agent moves along ``p -> p + a`` and stops at the last point of the segment still connected to
``p`` inside free space (:func:`jepa_world.envs.free_space.last_free_point`). An action is at most
2.45 px long while a room is at least 11 px wide, so a move only reaches rectangles next to the
room of its start or of its end point: :func:`local_rectangles` gathers, for each of the two rooms,
the room, its four door slots and its four neighbours (solid slots and rooms off the grid become
empty rectangles far outside the arena). Both are needed: from inside a door a step can cross into
the next room and on into that room's own door, a door the start room does not have. Three hops
(door -> room -> door -> room) connect any chain of them.

Examples:
    >>> import torch
    >>> from jepa_world.envs.maze.layout import maze_grid
    >>> doors = torch.zeros(1, 12, dtype=torch.long)
    >>> doors[0, 0] = 13                              # door between rooms 0 and 1, rows 9..17
    >>> move(torch.tensor([[20.0, 13.0]]), torch.tensor([[2.4, 0.0]]), doors)    # through the door
    tensor([[22.4000, 13.0000]])
    >>> move(torch.tensor([[20.0, 19.0]]), torch.tensor([[2.4, 0.0]]), doors)    # below it: the wall
    tensor([[21., 19.]])
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.free_space import last_free_point
from jepa_world.envs.maze.layout import MazeGrid, grid_of
from jepa_world.envs.two_rooms.geometry import BORDER_HI, BORDER_LO, DOOR_HALF, WALL_HALF

_FAR = -1000.0
"""Coordinate of the empty (degenerate, unreachable) rectangles standing for solid slots."""


def room_of(pos: Tensor, grid: MazeGrid) -> Tensor:
    """Room id ``r * n + c`` of each point: pos (..., 2) -> (...,) int64 (the cell left/above a wall's centre
    line for points on it)."""
    walls = torch.tensor(grid.walls, dtype=pos.dtype, device=pos.device)
    col = torch.bucketize(pos[..., 0].contiguous(), walls, right=False)
    row = torch.bucketize(pos[..., 1].contiguous(), walls, right=False)
    return row * grid.n + col


def door_rectangles(doors: Tensor, wall: Tensor, vertical: Tensor) -> tuple[Tensor, Tensor]:
    """Free rectangles of door slots: doors, wall (centre line), vertical (bool) all (..., K) -> lo, hi (..., K, 2)
    float64; empty (far outside the arena) where a slot is solid (door 0).

    A vertical wall's door is ``[w - 2, w + 2] x [d - 4, d + 4]``, a horizontal one's the transpose:
    ``lo = offset_lo + d * along`` with ``along`` the unit vector along the wall.
    """
    d = doors.to(torch.float64).unsqueeze(-1)  # (..., K, 1)
    w = wall.to(torch.float64).unsqueeze(-1)
    v = vertical.unsqueeze(-1).to(torch.float64)  # 1 for vertical walls
    along = torch.cat([1 - v, v], dim=-1)  # (..., K, 2): (0, 1) vertical, (1, 0) horizontal
    across = 1 - along
    gap = float(WALL_HALF + 1)
    lo = across * (w - gap) + along * (d - DOOR_HALF)
    hi = across * (w + gap) + along * (d + DOOR_HALF)
    solid = doors.unsqueeze(-1) <= 0
    return lo.masked_fill(solid, _FAR), hi.masked_fill(solid, _FAR)


def all_rectangles(doors: Tensor) -> tuple[Tensor, Tensor]:
    """Every free rectangle of each layout: doors (N, E) -> lo, hi (N, R + E, 2) float64 (rooms, then slots)."""
    grid = grid_of(doors)
    n = doors.shape[0]
    door_lo, door_hi = door_rectangles(doors, grid.edge_wall, grid.edge_vertical)  # (N, E, 2)
    lo = torch.cat([grid.room_lo.expand(n, -1, -1), door_lo], dim=1)
    hi = torch.cat([grid.room_hi.expand(n, -1, -1), door_hi], dim=1)
    return lo, hi


def local_rectangles(pos: Tensor, doors: Tensor, end: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The rectangles a move from ``pos`` to ``end`` can reach: pos, end (N, 2), doors (N, E) -> lo, hi (N, 9, 2)
    float64 (N, 18, 2) with ``end``: each point's neighbourhood in turn.

    Order: the point's room, the four neighbouring rooms (right, left, below, above), their four slots.
    """
    if end is not None:
        first, second = local_rectangles(pos, doors), local_rectangles(end, doors)
        return torch.cat([first[0], second[0]], 1), torch.cat([first[1], second[1]], 1)
    grid = grid_of(doors)
    room = room_of(pos, grid)  # (N,)
    nb = grid.neighbours[room]  # (N, 4)
    rooms = torch.cat([room[:, None], nb.clamp_min(0)], dim=1)  # (N, 5)
    off = torch.cat([torch.zeros_like(room[:, None], dtype=torch.bool), nb < 0], dim=1)[..., None]  # (N, 5, 1)
    room_lo = grid.room_lo[rooms].masked_fill(off, _FAR)  # (N, 5, 2)
    room_hi = grid.room_hi[rooms].masked_fill(off, _FAR)
    slots = grid.neighbour_edges[room]  # (N, 4)
    safe = slots.clamp_min(0)
    slot_doors = doors.gather(1, safe).masked_fill(slots < 0, 0)  # (N, 4)
    door_lo, door_hi = door_rectangles(slot_doors, grid.edge_wall[safe], grid.edge_vertical[safe])  # (N, 4, 2)
    return torch.cat([room_lo, door_lo], 1), torch.cat([room_hi, door_hi], 1)


def move(pos: Tensor, action: Tensor, doors: Tensor) -> Tensor:
    """Apply the collision rule: pos (N, 2) free points, action (N, 2) (already norm-clipped), doors (N, E)
    -> new pos (N, 2) in ``pos.dtype``."""
    lo, hi = local_rectangles(pos, doors, pos + action)
    return last_free_point(pos, action, lo, hi, hops=3)


def move_along(pos: Tensor, displacement: Tensor, doors: Tensor) -> Tensor:
    """The collision rule along a segment of any length: pos (N, 2), displacement (N, 2), doors (N, E) -> (N, 2).

    Uses every rectangle of the layout (and enough hops for a chain through all of them), so it
    equals k calls of :func:`move` with ``displacement / k`` (an action held k steps stops where the
    segment first leaves free space, and stays there).
    """
    lo, hi = all_rectangles(doors)
    return last_free_point(pos, displacement, lo, hi, hops=lo.shape[1] - 1)


def is_free(pos: Tensor, doors: Tensor, *, tol: float = 1e-6) -> Tensor:
    """Whether each agent centre lies in free space: pos (N, 2), doors (N, E) -> (N,) bool."""
    lo, hi = all_rectangles(doors)
    p = pos.to(torch.float64).unsqueeze(1)  # (N, 1, 2)
    return ((p >= lo - tol) & (p <= hi + tol)).all(-1).any(-1)


def room_bounds(room: Tensor, grid: MazeGrid, *, margin: float) -> tuple[Tensor, Tensor]:
    """Box keeping ``margin`` px from a room's wall pixel lines: room (N,) -> lo, hi (N, 2) float64."""
    lo = grid.room_lo[room] - 1.0 + margin  # the free rectangle's edge is 1 px inside the wall line
    hi = grid.room_hi[room] + 1.0 - margin
    return lo, hi


def sample_in_room(room: Tensor, grid: MazeGrid, *, generator: torch.Generator, margin: float) -> Tensor:
    """Uniform points in the given rooms keeping ``margin`` px from the wall lines: room (N,) -> (N, 2) float64."""
    lo, hi = room_bounds(room, grid, margin=margin)
    u = torch.rand(room.shape[0], 2, generator=generator, dtype=torch.float64)
    return lo + u * (hi - lo)


def inside_arena(pos: Tensor) -> Tensor:
    """Whether points lie strictly inside the border lines: pos (..., 2) -> (...,) bool."""
    return ((pos > BORDER_LO) & (pos < BORDER_HI)).all(-1)
