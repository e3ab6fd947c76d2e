"""Constant-velocity motion inside a box with elastic reflections off its walls (Moving-MNIST physics).

Each coordinate moves independently: ``p <- p + v``; a coordinate that leaves ``[0, limit]`` is mirrored
back into it and its velocity changes sign. A single reflection per step is exact while
``|v| <= limit``, which :func:`bounce` checks. The closed form of the same motion is the free
trajectory folded into the box (a triangle wave of period ``2 * limit``); the tests use it as the
independent oracle.

Examples:
    >>> p, v = bounce(torch.tensor([[1.0]]), torch.tensor([[-3.0]]), steps=3, limit=10.0)
    >>> p.squeeze(-1).tolist(), v.squeeze(-1).tolist()
    ([[1.0, 2.0, 5.0]], [[-3.0, 3.0, 3.0]])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def reflect(p: Tensor, v: Tensor, *, limit: float) -> tuple[Tensor, Tensor]:
    """One step: move by ``v`` and reflect off the walls ``0`` and ``limit``.

    Args:
        p: (...,) positions in ``[0, limit]``.
        v: (...,) velocities, same shape, ``|v| <= limit``.
        limit: the upper wall.

    Returns:
        ``(p_next, v_next)``, both (...,): the position after the step, inside ``[0, limit]``, and the
        velocity with its sign flipped where a wall was hit.
    """
    q = p + v
    low, high = q < 0, q > limit
    q = torch.where(low, -q, torch.where(high, 2.0 * limit - q, q))
    return q, torch.where(low | high, -v, v)


def bounce(p0: Tensor, v0: Tensor, *, steps: int, limit: float) -> tuple[Tensor, Tensor]:
    """Positions and velocities of ``steps`` frames of bouncing motion, frame 0 being ``(p0, v0)``.

    Args:
        p0: (N, ..., 2) start positions, each coordinate in ``[0, limit]``.
        v0: (N, ..., 2) start velocities (px per frame), ``|v| <= limit``.
        steps: frames T >= 1 (the first is the start state).
        limit: the walls are at 0 and ``limit`` on both axes.

    Returns:
        ``(p, v)``, both (N, T, ..., 2): ``v[:, t]`` is the velocity that carries frame t to frame t+1.
    """
    if p0.shape != v0.shape:
        raise ValueError(f"bounce: p0 and v0 must have equal shapes, got {tuple(p0.shape)} and {tuple(v0.shape)}")
    if steps < 1 or limit <= 0:
        raise ValueError(f"bounce: need steps >= 1 and limit > 0, got steps={steps}, limit={limit}")
    if bool((p0 < 0).any()) or bool((p0 > limit).any()):
        raise ValueError(f"bounce: start positions must lie in [0, {limit}], got range "
                         f"[{float(p0.min()):.3g}, {float(p0.max()):.3g}]")
    if bool((v0.abs() > limit).any()):
        raise ValueError(f"bounce: |velocity| must be <= limit={limit} px per frame, got {float(v0.abs().max()):.3g}")
    ps, vs = [p0], [v0]
    for _ in range(steps - 1):
        p, v = reflect(ps[-1], vs[-1], limit=limit)
        ps.append(p)
        vs.append(v)
    return torch.stack(ps, dim=1), torch.stack(vs, dim=1)


def random_start(n: int, k: int, *, limit: float, speed: tuple[float, float],
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Uniform start positions in the box and velocities of uniform direction and speed.

    Args:
        n: clips.
        k: objects per clip.
        limit: positions are uniform in ``[0, limit]^2``.
        speed: (low, high) px per frame, the speed is uniform in it.
        generator: the random stream (seeded by the caller).

    Returns:
        ``(p0, v0)``, both (n, k, 2), float32.
    """
    p0 = torch.rand(n, k, 2, generator=generator) * limit
    angle = torch.rand(n, k, generator=generator) * (2 * math.pi)
    lo, hi = speed
    s = lo + (hi - lo) * torch.rand(n, k, generator=generator)
    v0 = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1) * s.unsqueeze(-1)  # (n, k, 2)
    return p0, v0
