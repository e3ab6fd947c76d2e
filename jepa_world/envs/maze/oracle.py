"""The ground-truth maze "world model": state read off the pixels, dynamics = the env's own collision rule.

``MazeOracle`` encodes an observation (B, 2, 65, 65) into ``z = (x, y, door_1, ..., door_E)`` (px):
the agent's centre (x = column, y = row) and the layout (per wall slot the door's centre along the
wall, 0 where solid; :mod:`jepa_world.envs.maze.layout`), and steps it with
:func:`jepa_world.envs.maze.geometry.move`. A planner over it is limited only by its search: the
upper bound for learned models and an exact model for tests. Goal and observation share a layout,
so the door dims add nothing to a goal distance.

Examples:
    >>> import torch
    >>> from jepa_world.envs.maze.render import render
    >>> doors = torch.zeros(1, 12, dtype=torch.long)
    >>> doors[0, 0] = 13
    >>> oracle = MazeOracle(rooms=3)
    >>> z = oracle.encode(render(torch.tensor([[10.3, 12.7]]), doors))
    >>> z.shape, [round(v, 2) for v in z[0, :3].tolist()]
    (torch.Size([1, 14]), [10.3, 12.7, 13.0])
    >>> right = torch.tensor([2.0, 0.0]).expand(1, 20, 2)       # through the door, then the solid wall at 41
    >>> [round(v, 2) for v in oracle.rollout(z, right)[0, -1, :2].tolist()]
    [39.0, 12.7]
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.envs.exact_rollout import StepRollout
from jepa_world.envs.maze import geometry as geo
from jepa_world.envs.maze.layout import MazeGrid, maze_grid
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, clip_action_norm
from jepa_world.envs.two_rooms.oracle import agent_position


def _slot_pixels(grid: MazeGrid) -> tuple[Tensor, Tensor, Tensor]:
    """Pixels on each slot's wall centre line within its rooms' span: rows, cols, along (E, L) and mask (E, L)."""
    rooms = grid.edge_rooms[:, 0].tolist()
    index = [r // grid.n if v else r % grid.n for r, v in zip(rooms, grid.edge_vertical.tolist(), strict=True)]
    spans = [grid.room_span[i] for i in index]  # a vertical wall's door runs along its rooms' rows
    length = max(hi - lo + 1 for lo, hi in spans)
    along = torch.tensor([[min(lo + i, hi) for i in range(length)] for lo, hi in spans])  # (E, L)
    mask = torch.tensor([[lo + i <= hi for i in range(length)] for lo, hi in spans])
    wall = grid.edge_wall[:, None].expand_as(along)
    vertical = grid.edge_vertical[:, None]
    rows = torch.where(vertical, along, wall)
    cols = torch.where(vertical, wall, along)
    return rows, cols, along.float() * mask


def door_layout(walls: Tensor, grid: MazeGrid) -> Tensor:
    """Door centres from the wall channel: (B, 65, 65) -> (B, E) float32 (0 where a slot is solid)."""
    rows, cols, along = _slot_pixels(grid)  # (E, L)
    free = (walls[:, rows, cols] < 0.5).float() * (along > 0)  # (B, E, L)
    count = free.sum(-1)  # (B, E)
    centre = (free * along).sum(-1) / count.clamp_min(1)
    return torch.where(count > 0, centre, torch.zeros_like(centre))


class MazeOracle(StepRollout):
    """Exact maze dynamics on ``z = (x, y, doors)`` (B, 2 + E), in pixels."""

    def __init__(self, rooms: int = 3, max_action_norm: float = MAX_ACTION_NORM) -> None:
        self.grid = maze_grid(rooms)
        self.max_action_norm = max_action_norm

    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, 2, 65, 65) (float in [0, 1]) -> z (B, 2 + E) float32."""
        if obs.dim() != 4 or obs.shape[1] != 2:
            raise ValueError(f"obs must be (B, 2, H, W), got shape {tuple(obs.shape)}")
        obs = obs.float()
        return torch.cat([agent_position(obs[:, 0]), door_layout(obs[:, 1], self.grid)], dim=1)

    def _check(self, z: Tensor) -> None:
        if z.dim() != 2 or z.shape[-1] != 2 + self.grid.num_edges:
            raise ValueError(f"z must be (B, {2 + self.grid.num_edges}) for {self.grid.n}x{self.grid.n} rooms, "
                             f"got shape {tuple(z.shape)}")

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, 2 + E), a (B, 2) -> z_next (B, 2 + E): norm-clipped action, then the environment's collision rule."""
        self._check(z)
        a = clip_action_norm(a, self.max_action_norm)
        pos = geo.move(z[:, :2], a, z[:, 2:].round().long())  # (B, 2)
        return torch.cat([pos, z[:, 2:]], dim=1)

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), a (B, 2), steps -> the state after holding ``a`` for ``steps`` steps (B, D), in one segment.

        Equal to ``steps`` calls of :meth:`step` (to float rounding) at the cost of one: the fast exact
        macro-action of :class:`~jepa_world.planning.high_level.HeldActionModel` for the oracle.
        """
        self._check(z)
        a = clip_action_norm(a, self.max_action_norm)
        pos = geo.move_along(z[:, :2], steps * a, z[:, 2:].round().long())
        return torch.cat([pos, z[:, 2:]], dim=1)

    @staticmethod
    def probe(z: Tensor) -> Tensor:
        """The agent position (px) encoded in z: (..., D) -> (..., 2)."""
        return z[..., :2]
