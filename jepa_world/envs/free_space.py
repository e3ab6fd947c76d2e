"""The one collision rule of the jepa-world arenas, over free space given as a union of rectangles.

Free space for the agent's centre is a union of K closed axis-aligned rectangles ``[lo, hi]``.
The agent moves along the segment ``p -> p + d`` and stops at the last point of the segment that
is still connected to ``p`` inside free space ("move to the last free point of the segment"; no
sliding along walls). Two Rooms (3 rectangles) and the maze (a room's local neighbourhood of 9
rectangles) both call :func:`last_free_point`.

Examples:
    >>> import torch
    >>> lo = torch.tensor([[[0.0, 0.0], [4.0, 0.0]]], dtype=torch.float64)   # (N=1, K=2, 2): two
    >>> hi = torch.tensor([[[5.0, 1.0], [9.0, 9.0]]], dtype=torch.float64)   # overlapping rectangles
    >>> last_free_point(torch.tensor([[1.0, 0.5]]), torch.tensor([[6.0, 0.0]]), lo, hi, hops=1)
    tensor([[7.0000, 0.5000]])
    >>> last_free_point(torch.tensor([[1.0, 0.5]]), torch.tensor([[0.0, 2.0]]), lo, hi, hops=1)  # blocked
    tensor([[1., 1.]])
"""

from __future__ import annotations

import torch
from torch import Tensor

_EPS = 1e-12
"""Tolerance (in segment parameter units) for two intervals to count as touching."""


def segment_intervals(p: Tensor, d: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Parameter interval [enter, exit] of the segment p + t d (t in [0, 1]) inside each rectangle.

    p, d: (N, 2); lo, hi: (N, K, 2) -> enter, exit: (N, K); empty when enter > exit.
    """
    p = p.unsqueeze(1)  # (N, 1, 2)
    d = d.unsqueeze(1)
    moving = d != 0
    safe_d = torch.where(moving, d, torch.ones_like(d))
    t1 = (lo - p) / safe_d
    t2 = (hi - p) / safe_d
    inside_static = (p >= lo) & (p <= hi)
    inf = torch.full_like(t1, float("inf"))
    t_lo = torch.where(moving, torch.minimum(t1, t2), torch.where(inside_static, -inf, inf))
    t_hi = torch.where(moving, torch.maximum(t1, t2), torch.where(inside_static, inf, -inf))
    enter = t_lo.amax(-1).clamp_min(0.0)
    exit_ = t_hi.amin(-1).clamp_max(1.0)
    return enter, exit_


def reach(p: Tensor, d: Tensor, lo: Tensor, hi: Tensor, *, hops: int) -> Tensor:
    """How far along p + t d the agent gets: (N,) float64 t in [0, 1].

    p, d: (N, 2) float64; lo, hi: (N, K, 2) float64. ``hops`` bounds the number of rectangle
    changes along the way (a chain of h + 1 rectangles needs h hops); the loop stops early at a
    fixed point, which changes nothing in the result.
    """
    enter, exit_ = segment_intervals(p, d, lo, hi)  # (N, K)
    valid = enter <= exit_
    t = torch.where(valid & (enter <= _EPS), exit_, torch.zeros_like(exit_)).amax(-1)  # (N,)
    for _ in range(hops):
        joins = valid & (enter <= t.unsqueeze(-1) + _EPS)
        new = torch.maximum(t, torch.where(joins, exit_, torch.zeros_like(exit_)).amax(-1))
        if torch.equal(new, t):  # a fixed point: further hops change nothing
            break
        t = new
    return t


def last_free_point(pos: Tensor, action: Tensor, lo: Tensor, hi: Tensor, *, hops: int) -> Tensor:
    """The collision rule: pos (N, 2), action (N, 2) (already norm-clipped), rectangles (N, K, 2) -> (N, 2).

    Computed in float64 so that stopping points land on a rectangle's edge to ~1e-13 px; returned
    in ``pos.dtype``.
    """
    p = pos.to(torch.float64)
    d = action.to(torch.float64)
    t = reach(p, d, lo.to(torch.float64), hi.to(torch.float64), hops=hops)
    return (p + t.unsqueeze(-1) * d).to(pos.dtype)
