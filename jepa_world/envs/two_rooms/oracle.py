"""The ground-truth Two Rooms "world model": state read off the pixels, dynamics = the env's own rule.

``TwoRoomsOracle`` encodes an observation (B, 2, 65, 65) into ``z = (x, y, wall_x, door_y)`` in
pixels (x = column, y = row, as in :mod:`jepa_world.envs.two_rooms.geometry`) and steps it with
:func:`~jepa_world.envs.two_rooms.physics.apply_action`, the collision rule of the environment
(``physics``; under 'ebjepa' without its collision noise, which no model can know: a blocked move is
pushed back by the noise's mean magnitude). A planner
over it is therefore limited only by its search, which makes it the upper bound learned models are
compared with, and a fast, exact world model for tests of the MPC loop.

The agent position is the intensity-weighted centroid of channel 0 over a 9 x 9 window around the
brightest pixel (error < 0.004 px on float renderings, < 0.01 px on uint8 ones); the wall column and
door row are the centres of the middle-wall columns and of the door rows in channel 1. Goal and
current observation share a layout, so the wall dims of ``z`` add nothing to a goal distance.

Examples:
    >>> import torch
    >>> from jepa_world.envs.two_rooms.render import render
    >>> oracle = TwoRoomsOracle()
    >>> obs = render(torch.tensor([[10.3, 40.7]]), torch.tensor([32]), torch.tensor([18]))
    >>> oracle.encode(obs).round(decimals=2)
    tensor([[10.3000, 40.7000, 32.0000, 18.0000]])
    >>> z = oracle.encode(obs)
    >>> round(oracle.step(z, torch.tensor([[100.0, 0.0]]))[0, 0].item(), 2)    # clipped to norm 2.45
    12.75
    >>> right = torch.tensor([2.0, 0.0]).expand(1, 20, 2)
    >>> round(oracle.rollout(z, right)[0, -1, 0].item(), 3)          # stopped by the wall face x = 31
    30.601
    >>> TwoRoomsOracle(physics="strict").rollout(z, right)[0, -1, 0].item()   # the strict rule: last free pixel
    30.0
    >>> oracle.probe(oracle.encode(obs)).shape
    torch.Size([1, 2])
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.exact_rollout import StepRollout
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.physics import apply_action, check_physics

_HALF_WINDOW = 4
"""The centroid window is (2 * 4 + 1)^2 pixels around the brightest one (bias < 0.004 px)."""


def agent_position(agent: Tensor) -> Tensor:
    """Sub-pixel agent centre from the agent channel: (B, H, W) -> (B, 2) as (x = column, y = row)."""
    b, h, w = agent.shape
    flat = agent.flatten(1).argmax(dim=1)  # (B,)
    off = torch.arange(-_HALF_WINDOW, _HALF_WINDOW + 1, device=agent.device)
    rows = ((flat // w)[:, None] + off).clamp(0, h - 1)  # (B, K)
    cols = ((flat % w)[:, None] + off).clamp(0, w - 1)  # (B, K)
    patch = agent[torch.arange(b, device=agent.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
    mass = patch.sum(dim=(1, 2)).clamp_min(1e-12)  # (B,)
    x = (patch.sum(dim=1) * cols).sum(dim=1) / mass  # column profile (B, K) . cols
    y = (patch.sum(dim=2) * rows).sum(dim=1) / mass
    return torch.stack([x, y], dim=-1)


def wall_layout(walls: Tensor) -> tuple[Tensor, Tensor]:
    """Middle-wall column and door row from the wall channel: (B, H, W) -> wall_x (B,), door_y (B,)."""
    lo, hi = geo.BORDER_LO + 1, geo.BORDER_HI  # interior pixels lo .. hi-1
    inner = walls[:, lo:hi, lo:hi] > 0.5  # (B, 55, 55)
    idx = torch.arange(lo, hi, device=walls.device, dtype=torch.float32)
    wall_cols = inner.any(dim=1).float()  # (B, 55): columns holding the middle wall
    door_rows = 1.0 - inner.any(dim=2).float()  # (B, 55): rows where the wall has its gap
    wall_x = (wall_cols * idx).sum(1) / wall_cols.sum(1).clamp_min(1)
    door_y = (door_rows * idx).sum(1) / door_rows.sum(1).clamp_min(1)
    return wall_x, door_y


class TwoRoomsOracle(StepRollout):
    """Exact Two Rooms dynamics on ``z = (x, y, wall_x, door_y)`` (B, 4), in pixels."""

    def __init__(self, max_action_norm: float = geo.MAX_ACTION_NORM, physics: str = "ebjepa") -> None:
        check_physics(physics)
        self.max_action_norm = max_action_norm
        self.physics = physics

    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, 2, 65, 65) (float in [0, 1]) -> z (B, 4) float32."""
        if obs.dim() != 4 or obs.shape[1] != 2:
            raise ValueError(f"obs must be (B, 2, H, W), got shape {tuple(obs.shape)}")
        obs = obs.float()
        wall_x, door_y = wall_layout(obs[:, 1])
        return torch.cat([agent_position(obs[:, 0]), wall_x[:, None], door_y[:, None]], dim=1)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, 4), a (B, 2) -> z_next (B, 4): norm-clipped action, then the environment's collision rule."""
        pos = apply_action(z[:, :2], a, z[:, 2], z[:, 3], physics=self.physics, max_norm=self.max_action_norm)
        return torch.cat([pos.to(z.dtype), z[:, 2:]], dim=1)

    @staticmethod
    def probe(z: Tensor) -> Tensor:
        """The agent position (px) encoded in z: (..., 4) -> (..., 2)."""
        return z[..., :2]
