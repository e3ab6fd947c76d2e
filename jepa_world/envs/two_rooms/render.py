"""Batched rendering of Two Rooms observations: channel 0 the agent blob, channel 1 the walls.

The agent is ``exp(-d^2 / (2 * 1.3^2))`` around its sub-pixel centre. The blob is separable,
``g(row) * g(col)``, so a frame costs one outer product of two 65-vectors.
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.two_rooms.geometry import (
    AGENT_SIGMA,
    BORDER_HI,
    BORDER_LO,
    DOOR_HALF,
    SIZE,
    WALL_HALF,
)
from jepa_world.envs.two_rooms.shift import Shift

_COORDS = torch.arange(SIZE, dtype=torch.float32)


WALL_STYLES: tuple[str, ...] = ("ebjepa", "arena")
"""How wall pixels are drawn: 'ebjepa' (EB-JEPA's: border lines run to the image edges and the middle wall
continues outside the arena, 418 wall pixels) or 'arena' (walls only inside the 4..60 square, 362 pixels)."""


def check_walls(walls: str) -> None:
    """Raise ValueError naming the valid styles for an unknown ``walls``."""
    if walls not in WALL_STYLES:
        raise ValueError(f"walls must be one of {WALL_STYLES}, got {walls!r}")


def render_walls(wall_x: Tensor, door_y: Tensor, *, walls: str = "ebjepa", shift: Shift | None = None) -> Tensor:
    """Wall channel: wall_x (N,), door_y (N,) -> (N, 65, 65) float32 with 1.0 on wall pixels (style ``walls``);
    a ``shift``'s door size and obstacle blocks (envs/two_rooms/shift.py) are drawn as wall pixels too.

    Examples:
        >>> one = torch.tensor([32]), torch.tensor([18])
        >>> int(render_walls(*one).sum()), int(render_walls(*one, walls="arena").sum())
        (418, 362)
    """
    check_walls(walls)
    idx = torch.arange(SIZE)
    rows = idx.view(1, SIZE, 1)
    cols = idx.view(1, 1, SIZE)
    border = (rows == BORDER_LO) | (rows == BORDER_HI) | (cols == BORDER_LO) | (cols == BORDER_HI)
    wx = wall_x.view(-1, 1, 1)
    dy = door_y.view(-1, 1, 1)
    in_wall = (cols >= wx - WALL_HALF) & (cols <= wx + WALL_HALF)
    half = DOOR_HALF if shift is None else shift.door_half
    in_door = (rows >= dy - half) & (rows <= dy + half)
    middle = in_wall & ~in_door
    if walls == "arena":
        border = border & (rows >= BORDER_LO) & (rows <= BORDER_HI) & (cols >= BORDER_LO) & (cols <= BORDER_HI)
        middle = middle & (rows > BORDER_LO) & (rows < BORDER_HI)
    wall = border | middle
    if shift is not None and shift.obstacle != "none":
        wall = wall | _block_pixels(shift.blocks(wall_x, door_y), rows, cols)
    return wall.to(torch.float32)


def _block_pixels(blocks: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """(N, 65, 65) bool: pixels inside any of the blocks (N, K, 4) ``[col0, row0, col1, row1]`` (inclusive)."""
    b = blocks.view(*blocks.shape, 1, 1)  # (N, K, 4, 1, 1)
    inside = (cols >= b[:, :, 0]) & (cols <= b[:, :, 2]) & (rows >= b[:, :, 1]) & (rows <= b[:, :, 3])
    return inside.any(1)


def agent_profiles(pos: Tensor) -> tuple[Tensor, Tensor]:
    """1-D Gaussian profiles of the agent: pos (..., 2) -> gy (..., 65), gx (..., 65) float32."""
    p = pos.to(torch.float32)
    coords = _COORDS.to(p.device)
    inv = -0.5 / AGENT_SIGMA**2
    gx = torch.exp((coords - p[..., 0:1]) ** 2 * inv)
    gy = torch.exp((coords - p[..., 1:2]) ** 2 * inv)
    return gy, gx


def render_agent(pos: Tensor) -> Tensor:
    """Agent channel: pos (..., 2) -> (..., 65, 65) float32 in [0, 1]."""
    gy, gx = agent_profiles(pos)
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)


def render(pos: Tensor, wall_x: Tensor, door_y: Tensor, *, walls: str = "ebjepa", shift: Shift | None = None
           ) -> Tensor:
    """Observations for N agents: pos (N, 2) -> (N, 2, 65, 65) float32 (wall style ``walls``, a ``shift``'s walls)."""
    wall = render_walls(wall_x, door_y, walls=walls, shift=shift).to(pos.device)
    return torch.stack([render_agent(pos), wall], 1)


def render_trajectories(
    pos: Tensor, wall_x: Tensor, door_y: Tensor, *, dtype=torch.float32, out: Tensor | None = None,
    walls: str = "ebjepa",
) -> Tensor:
    """Observations of whole trajectories: pos (N, T, 2) -> (N, T, 2, 65, 65).

    ``dtype=torch.uint8`` gives round(255 * v) (max error 1/510), the on-disk format. In uint8 the
    blob is zero farther than 5 px from its centre pixel (255 * exp(-5.5^2 / (2 * 1.3^2)) < 0.05),
    so only an 11 x 11 patch per frame is computed and scattered. ``out`` (N, T, 2, 65, 65) of
    ``dtype`` may be passed to reuse memory across calls (fresh pages cost more than the rendering).
    """
    n, t = pos.shape[:2]
    shape = (n, t, 2, SIZE, SIZE)
    if out is None:
        out = torch.empty(shape, dtype=dtype, device=pos.device)
    elif out.shape != shape or out.dtype != dtype:
        raise ValueError(f"out must be {shape} {dtype}, got {tuple(out.shape)} {out.dtype}")
    wall_img = render_walls(wall_x, door_y, walls=walls).to(pos.device)  # (N, 65, 65)
    out[:, :, 1] = wall_img.to(dtype).mul_(255 if dtype == torch.uint8 else 1).unsqueeze(1)
    if dtype == torch.uint8:
        out[:, :, 0].zero_()
        _scatter_agent_patches(out, pos)
        return out
    gy, gx = agent_profiles(pos)  # (N, T, 65)
    torch.mul(gy.unsqueeze(-1), gx.unsqueeze(-2), out=out[:, :, 0])
    return out


_HALF_PATCH = 5


def _scatter_agent_patches(out: Tensor, pos: Tensor) -> None:
    """Write round(255 * blob) into channel 0 of out (N, T, 2, 65, 65) uint8 for pos (N, T, 2)."""
    k = 2 * _HALF_PATCH + 1
    p = pos.reshape(-1, 2).to(torch.float32)  # (M, 2)
    centre = p.round().long().clamp(_HALF_PATCH, SIZE - 1 - _HALF_PATCH)  # (M, 2) pixel (x, y)
    local = torch.arange(-_HALF_PATCH, _HALF_PATCH + 1, device=p.device)
    cols = centre[:, 0:1] + local  # (M, k)
    rows = centre[:, 1:2] + local
    inv = -0.5 / AGENT_SIGMA**2
    gx = torch.exp((cols.float() - p[:, 0:1]) ** 2 * inv)
    gy = torch.exp((rows.float() - p[:, 1:2]) ** 2 * inv).mul_(255.0)
    patch = (gy.unsqueeze(-1) * gx.unsqueeze(-2)).add_(0.5).to(torch.uint8)  # (M, k, k)
    frame = torch.arange(p.shape[0], device=p.device) * (2 * SIZE * SIZE)  # channel 0 of frame m
    flat = frame.view(-1, 1, 1) + rows.view(-1, k, 1) * SIZE + cols.view(-1, 1, k)  # (M, k, k)
    out.view(-1)[flat.view(-1)] = patch.view(-1)


def to_rgb(obs: Tensor, goal_pos: Tensor | None = None) -> Tensor:
    """A picture for people: obs (2, 65, 65) -> (65, 65, 3) uint8; walls grey, agent red, goal green."""
    agent, walls = obs[0].float().clamp(0, 1), obs[1].float().clamp(0, 1)
    img = torch.stack([agent, torch.zeros_like(agent), torch.zeros_like(agent)], -1)
    img = torch.maximum(img, 0.6 * walls.unsqueeze(-1))
    if goal_pos is not None:
        g = render_agent(goal_pos.to(torch.float32))
        img[..., 1] = torch.maximum(img[..., 1], g)
    return (img * 255).round().clamp(0, 255).to(torch.uint8)
