"""EB-JEPA's Two Rooms collision rule ("ebjepa" physics), batched in torch, without EB-JEPA's bugs.

The reference (facebookresearch/eb_jepa, ``datasets/two_rooms``; written down in docs/two_rooms.md)
treats walls as *lines through the centres of the wall pixels*, not as blocked pixels:

- border lines ``x = 4``, ``x = 60``, ``y = 4``, ``y = 60`` (the agent's centre may reach them,
  one pixel farther than the "strict" rule of :mod:`two_rooms_geometry`);
- the middle wall's two faces ``x = wall_x - 1`` and ``x = wall_x + 1``, open in the door rows
  ``|y - door_y| <= 4``;
- the door slot's edges ``y = door_y - 4`` and ``y = door_y + 4`` for ``wall_x - 1 <= x <= wall_x + 1``.

A move ``p -> p + a`` (actions are not clipped) stops at its **first** crossing of one of these
segments; the agent is then put back by Gaussian noise ``N(0, 0.5^2)`` per axis whose component
along the segment's normal points back to the side it came from. Except after a door-edge hit,
the result is clamped to the side's box (``[4, wall_x - 1]`` left of the wall's centre column,
``[wall_x + 1, 60]`` right of it, ``[4, 60]`` in y) and a coordinate on or past a box edge is set
0.3 px inside it.

Bugs of the reference that are *not* reproduced (docs/two_rooms.md): an exactly vertical move
across the top/bottom border gives NaN there (slope division); an exactly vertical move inside the
door slot passes through the door edge; its data generator uses a third rule. Here every crossing
is found by its line parameter, for every direction.

Examples:
    >>> import torch
    >>> wall_x, door_y = torch.tensor([32]), torch.tensor([18])
    >>> p = torch.tensor([[20.0, 40.0]], dtype=torch.float64)
    >>> move_ebjepa(p, torch.tensor([[2.0, 0.0]]), wall_x, door_y, noise=None)     # free move
    tensor([[22., 40.]], dtype=torch.float64)
    >>> q = move_ebjepa(torch.tensor([[30.0, 40.0]]), torch.tensor([[2.0, 0.0]]), wall_x, door_y, noise=None)
    >>> q.round(decimals=3)        # stopped on the face x = 31, pushed back by the mean noise 0.399
    tensor([[30.6010, 40.0000]], dtype=torch.float64)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from jepa_world.envs.two_rooms.geometry import BORDER_HI, BORDER_LO, DOOR_HALF, WALL_HALF

NOISE_STD = 0.5
"""Standard deviation (px) of the push-back noise after a collision, per axis."""
FALLBACK = 0.3
"""A coordinate on or past its side's box edge after the noise is set this far inside (px)."""
MEAN_PUSH = NOISE_STD * math.sqrt(2.0 / math.pi)
"""E|N(0, 0.5^2)|: the deterministic push-back used with ``noise=None`` (the noise-free model)."""

_INF = float("inf")
_DOOR_EDGES = 8
"""Index of the first door-edge segment in :func:`_segments` (this one and the next are the door slot's edges)."""

Segments = tuple[Tensor, Tensor, Tensor, Tensor]


def _segments(wall_x: Tensor, door_y: Tensor, *, door_half: int = DOOR_HALF, blocks: Tensor | None = None
              ) -> Segments:
    """The wall segments of N layouts: axis (K,), c (N, K), lo (N, K), hi (N, K) (float64).

    A segment is ``{coord[axis] = c, lo <= coord[1 - axis] <= hi}``; axis 0 = a vertical line x = c.
    Door-side ends of the wall faces are open: a crossing exactly at ``door_y +- door_half`` passes. Extra wall
    ``blocks`` (N, B, 4) ``[col0, row0, col1, row1]`` (envs/two_rooms/shift.py) add their four edge lines (through
    the centres of their outermost pixels, closed ends), after the door edges.
    """
    wx, dy = wall_x.to(torch.float64), door_y.to(torch.float64)
    one = torch.ones_like(wx)
    b_lo, b_hi = BORDER_LO * one, BORDER_HI * one
    left, right = wx - WALL_HALF, wx + WALL_HALF
    below, above = dy - door_half, dy + door_half
    open_below = torch.nextafter(below, torch.full_like(below, -_INF))
    open_above = torch.nextafter(above, torch.full_like(above, _INF))
    rows = [  # (axis, c, lo, hi)
        (0, b_lo, b_lo, b_hi), (0, b_hi, b_lo, b_hi), (1, b_lo, b_lo, b_hi), (1, b_hi, b_lo, b_hi),
        (0, left, b_lo, open_below), (0, left, open_above, b_hi),
        (0, right, b_lo, open_below), (0, right, open_above, b_hi),
        (1, below, left, right), (1, above, left, right),
    ]
    if blocks is not None:
        bl = blocks.to(torch.float64)
        for k in range(bl.shape[1]):
            c0, r0, c1, r1 = bl[:, k].unbind(-1)
            rows += [(0, c0, r0, r1), (0, c1, r0, r1), (1, r0, c0, c1), (1, r1, c0, c1)]
    axis = torch.tensor([r[0] for r in rows])
    c, lo, hi = (torch.stack([r[i] for r in rows], dim=1) for i in (1, 2, 3))
    return axis, c, lo, hi


def first_crossing(p: Tensor, a: Tensor, wall_x: Tensor, door_y: Tensor) -> tuple[Tensor, Tensor]:
    """The first wall segment the move p -> p + a crosses: t (N,) in (0, 1] or inf, and its index (N,).

    p, a: (N, 2) float64. A segment is crossed at t when p is strictly on one side of its line and
    p + t a lies on the line within the segment's extent (reaching the line counts as crossing).
    """
    return _first_crossing(p, a, _segments(wall_x, door_y))


def _first_crossing(p: Tensor, a: Tensor, segments: Segments) -> tuple[Tensor, Tensor]:
    """:func:`first_crossing` over precomputed segments (axis (K,), c, lo, hi (N, K))."""
    axis, c, lo, hi = segments
    along = a[:, axis]  # (N, K) motion along each segment's normal
    start = p[:, axis]
    side = start - c
    moving = (along != 0) & (side != 0)
    t = torch.where(moving, -side / torch.where(moving, along, torch.ones_like(along)), torch.full_like(side, _INF))
    tangent = p[:, 1 - axis] + t.clamp(max=1.0) * a[:, 1 - axis]
    hit = moving & (t > 0) & (t <= 1) & (tangent >= lo) & (tangent <= hi)
    t = torch.where(hit, t, torch.full_like(t, _INF))
    best, index = t.min(dim=1)
    return best, index


def move_ebjepa(pos: Tensor, action: Tensor, wall_x: Tensor, door_y: Tensor, *,
                noise: Tensor | None, door_half: int = DOOR_HALF, blocks: Tensor | None = None) -> Tensor:
    """Apply the EB-JEPA rule: pos (N, 2), action (N, 2) -> new pos (N, 2) float64.

    ``noise`` (N, 2) are standard normal draws (scaled by :data:`NOISE_STD` here; only rows that
    collide use theirs); ``None`` gives the noise-free model: a push-back of :data:`MEAN_PUSH`
    along the normal and none along the wall. ``door_half`` and ``blocks`` are a shifted layout's
    (envs/two_rooms/shift.py); an obstacle hit is handled as a wall hit (push-back, then the side's clamp).
    """
    p, a = pos.to(torch.float64), action.to(torch.float64)
    segments = _segments(wall_x, door_y, door_half=door_half, blocks=blocks)
    t, k = _first_crossing(p, a, segments)
    hit = torch.isfinite(t)
    if not bool(hit.any()):
        return p + a
    axis, c, _, _ = segments
    normal = axis[k]  # (N,) 0 = x, 1 = y
    stop = p + t.clamp(max=1.0)[:, None] * a  # rows without a hit are replaced below
    rows = torch.arange(len(p))
    back = torch.sign(p[rows, normal] - c[rows, k])  # the side the agent came from
    if noise is None:
        push = torch.zeros_like(p)
        push[rows, normal] = MEAN_PUSH * back
    else:
        push = noise.to(torch.float64) * NOISE_STD
        push[rows, normal] = push[rows, normal].abs() * back
    moved = stop + push
    door_edge = (k == _DOOR_EDGES) | (k == _DOOR_EDGES + 1)  # no clamp after a door-edge hit (as the reference)
    clamped = _clamp_to_side(moved, p, wall_x)
    moved = torch.where(door_edge[:, None], moved, clamped)
    return torch.where(hit[:, None], moved, p + a)


def _clamp_to_side(q: Tensor, p: Tensor, wall_x: Tensor) -> Tensor:
    """Clamp q (N, 2) into the box of p's side of the wall, FALLBACK px inside any edge reached."""
    wx = wall_x.to(torch.float64)
    left_side = p[:, 0] < wx
    x_lo = torch.where(left_side, torch.full_like(wx, BORDER_LO), wx + WALL_HALF)
    x_hi = torch.where(left_side, wx - WALL_HALF, torch.full_like(wx, BORDER_HI))
    y_lo, y_hi = torch.full_like(wx, BORDER_LO), torch.full_like(wx, BORDER_HI)
    x = _inside(q[:, 0], x_lo, x_hi)
    y = _inside(q[:, 1], y_lo, y_hi)
    return torch.stack([x, y], dim=-1)


def _inside(v: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    v = torch.minimum(torch.maximum(v, lo), hi)
    v = torch.where(v <= lo, lo + FALLBACK, v)
    return torch.where(v >= hi, hi - FALLBACK, v)
