"""Two Rooms geometry and the one collision rule, batched in torch.

The arena is 65x65 pixels. Coordinates are continuous ``(x, y)`` in pixel units: ``x`` is the
column and ``y`` the row of the observation array, and integer coordinates are pixel centres.

Walls (pixels with value 1 in the wall channel):
- border: 1-px lines at row/column 4 and 60, so the free interior is pixels 5..59;
- middle: a vertical wall 3 px wide, columns ``wall_x-1 .. wall_x+1``, with a 9-px door in rows
  ``door_y-4 .. door_y+4``.

Free space for the agent's centre is the union of three closed rectangles whose edges are the
centres of the outermost free pixels, so a free point always rounds to a free pixel:

- left room  ``[5, wall_x-2] x [5, 59]``
- right room ``[wall_x+2, 59] x [5, 59]``
- door       ``[wall_x-2, wall_x+2] x [door_y-4, door_y+4]``

Collision rule (used by the environment AND the data generator): the agent moves along the
segment ``p -> p + a`` and stops at the last point of the segment that is still connected to
``p`` inside free space ("move to the last free point of the segment"; no sliding).
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.free_space import last_free_point, reach

SIZE = 65
"""Observation side length in pixels."""
BORDER_LO = 4
"""Row/column of the top and left border wall."""
BORDER_HI = 60
"""Row/column of the bottom and right border wall."""
FREE_LO = 5.0
"""Smallest free coordinate of the agent's centre."""
FREE_HI = 59.0
"""Largest free coordinate of the agent's centre."""
WALL_HALF = 1
"""The middle wall spans ``wall_x - WALL_HALF .. wall_x + WALL_HALF`` (3 px)."""
DOOR_HALF = 4
"""The door spans rows ``door_y - DOOR_HALF .. door_y + DOOR_HALF`` (9 px)."""
WALL_X_RANGE = (20, 44)
"""Inclusive range of the middle wall's centre column in random layouts."""
DOOR_Y_RANGE = (10, 54)
"""Inclusive range of the door's centre row in random layouts."""
DOOR_SPLITS = {"all": DOOR_Y_RANGE, "low": (10, 31), "high": (32, 54)}
"""Named inclusive ranges of door rows: 'all' (the benchmark's), or the two disjoint halves 'low' / 'high' for
generalisation to layouts held out from training (train on one half, evaluate on the other)."""
FIXED_LAYOUT = (32, 18)
"""(wall_x, door_y) of the fixed layout (``fixed_wall=True``)."""
MAX_ACTION_NORM = 2.45
"""Actions are 2-D displacements clipped to this L2 norm (pixels per step)."""
START_MARGIN = 2.6
"""Episode starts and goals keep this distance (px) from the walls' pixel lines."""
SUCCESS_RADIUS = 4.5
"""An episode succeeds when the final distance to the goal is below this (px)."""
AGENT_SIGMA = 1.3
"""Standard deviation (px) of the agent's Gaussian blob."""


def sample_layouts(n: int, *, generator: torch.Generator, fixed: bool = False, doors: str = "all"
                   ) -> tuple[Tensor, Tensor]:
    """Random layouts: wall_x (n,) and door_y (n,) as int64, uniform over the 25 wall columns x the door rows of
    ``doors`` (a key of :data:`DOOR_SPLITS`; 'all' = 45 rows)."""
    check_doors(doors)
    if fixed:
        return (torch.full((n,), FIXED_LAYOUT[0], dtype=torch.long),
                torch.full((n,), FIXED_LAYOUT[1], dtype=torch.long))
    wall_x = torch.randint(WALL_X_RANGE[0], WALL_X_RANGE[1] + 1, (n,), generator=generator)
    lo, hi = DOOR_SPLITS[doors]
    door_y = torch.randint(lo, hi + 1, (n,), generator=generator)
    return wall_x, door_y


def check_doors(doors: str) -> None:
    """ValueError unless ``doors`` names a door split of :data:`DOOR_SPLITS`."""
    if doors not in DOOR_SPLITS:
        raise ValueError(f"doors must be one of {sorted(DOOR_SPLITS)}, got {doors!r}")


def free_rectangles(wall_x: Tensor, door_y: Tensor, *, door_half: int = DOOR_HALF) -> tuple[Tensor, Tensor]:
    """The three free rectangles per layout: lo (N, 3, 2) and hi (N, 3, 2), order left/right/door (the door rows
    ``door_y +- door_half``)."""
    wx = wall_x.to(torch.float64)
    dy = door_y.to(torch.float64)
    gap = WALL_HALF + 1
    lo = torch.stack([
        torch.stack([torch.full_like(wx, FREE_LO), torch.full_like(wx, FREE_LO)], -1),
        torch.stack([wx + gap, torch.full_like(wx, FREE_LO)], -1),
        torch.stack([wx - gap, dy - door_half], -1),
    ], 1)
    hi = torch.stack([
        torch.stack([wx - gap, torch.full_like(wx, FREE_HI)], -1),
        torch.stack([torch.full_like(wx, FREE_HI), torch.full_like(wx, FREE_HI)], -1),
        torch.stack([wx + gap, dy + door_half], -1),
    ], 1)
    return lo, hi


def is_free(pos: Tensor, wall_x: Tensor, door_y: Tensor, *, tol: float = 1e-6) -> Tensor:
    """Whether each agent centre lies in free space: pos (N, 2) -> (N,) bool."""
    lo, hi = free_rectangles(wall_x, door_y)
    p = pos.to(torch.float64).unsqueeze(1)  # (N, 1, 2)
    inside = ((p >= lo - tol) & (p <= hi + tol)).all(-1)  # (N, 3)
    return inside.any(-1)


def clip_action_norm(actions: Tensor, max_norm: float = MAX_ACTION_NORM) -> Tensor:
    """Rescale rows of ``actions`` (..., 2) whose L2 norm exceeds ``max_norm``."""
    norm = actions.norm(dim=-1, keepdim=True)
    scale = torch.clamp(max_norm / norm.clamp_min(1e-12), max=1.0)
    return actions * scale


def move(pos: Tensor, action: Tensor, wall_x: Tensor, door_y: Tensor, *, door_half: int = DOOR_HALF,
         blocks: Tensor | None = None) -> Tensor:
    """Apply the collision rule: pos (N, 2), action (N, 2) (already norm-clipped) -> new pos (N, 2).

    ``blocks`` (N, K, 4) are extra wall blocks ``[col0, row0, col1, row1]`` (pixel bounds, inclusive;
    envs/two_rooms/shift.py): the agent's centre may not enter the open box ``(col0 - 1, col1 + 1) x (row0 - 1,
    row1 + 1)`` around one (the centres of the free pixels next to it stay free), so the move stops where it first
    would. Computed in float64 so that stopping points land on the wall boundary to ~1e-13 px.
    """
    lo, hi = free_rectangles(wall_x, door_y, door_half=door_half)
    if blocks is None or blocks.shape[1] == 0:
        return last_free_point(pos, action, lo, hi, hops=2)  # three rectangles: two hops connect any pair
    p, d = pos.to(torch.float64), action.to(torch.float64)
    t = reach(p, d, lo, hi, hops=2)  # (N,) along the move, walls only
    b = blocks.to(torch.float64)
    t = torch.minimum(t, first_entry(p, d, b[..., :2] - 1.0, b[..., 2:] + 1.0))
    return (p + t[:, None] * d).to(pos.dtype)


def first_entry(p: Tensor, d: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """The first t in [0, 1] at which p + t d enters one of the OPEN boxes (lo, hi) (N, K, 2); inf if none.

    p, d: (N, 2) float64. Touching or sliding along a box's edge is not entering it.
    """
    p, d = p.unsqueeze(1), d.unsqueeze(1)  # (N, 1, 2)
    moving = d != 0
    safe = torch.where(moving, d, torch.ones_like(d))
    t1, t2 = (lo - p) / safe, (hi - p) / safe
    inside = (p > lo) & (p < hi)
    inf = torch.full_like(t1, float("inf"))
    t_lo = torch.where(moving, torch.minimum(t1, t2), torch.where(inside, -inf, inf)).amax(-1)  # (N, K)
    t_hi = torch.where(moving, torch.maximum(t1, t2), torch.where(inside, inf, -inf)).amin(-1)
    enters = (t_lo < t_hi) & (t_hi > 0) & (t_lo < 1)
    return torch.where(enters, t_lo.clamp_min(0.0), torch.full_like(t_lo, float("inf"))).amin(-1)


def sample_in_room(
    n: int, room: Tensor, wall_x: Tensor, *, generator: torch.Generator, margin: float = START_MARGIN
) -> Tensor:
    """Uniform points in a room keeping ``margin`` px from the wall lines: (n, 2) float64.

    room: (n,) int, 0 = left, 1 = right. x in [4 + m, wall_x - 1 - m] (left) or
    [wall_x + 1 + m, 60 - m] (right); y in [4 + m, 60 - m].
    """
    wx = wall_x.to(torch.float64)
    x_lo = torch.where(room == 0, torch.full_like(wx, BORDER_LO + margin), wx + WALL_HALF + margin)
    x_hi = torch.where(room == 0, wx - WALL_HALF - margin, torch.full_like(wx, BORDER_HI - margin))
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    x = x_lo + u[:, 0] * (x_hi - x_lo)
    y = (BORDER_LO + margin) + u[:, 1] * (BORDER_HI - BORDER_LO - 2 * margin)
    return torch.stack([x, y], -1)


def room_of(pos: Tensor, wall_x: Tensor) -> Tensor:
    """0 where the agent is left of the wall's centre column, 1 right of it: (N,) int64."""
    return (pos[..., 0] > wall_x.to(pos.dtype)).long()
