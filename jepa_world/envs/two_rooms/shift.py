"""Shifts of Two Rooms that the offline random-walk data never showed: actuation and layout changes.

A :class:`Shift` changes the world, not the task: success is scored as before. Four knobs (all off by default):

- ``gain``: every executed displacement is ``gain`` x the (norm-clipped) action;
- ``drift``: a constant displacement (px per step) added to every move (a current, a slope);
- ``obstacle``: new wall blocks in each room, ``"pillar"`` (a 7 x 7 px pillar in the middle of each room) or
  ``"segment"`` (a 3 px thick horizontal wall from the outer border half-way across each room, at row 32);
- ``door_half``: the door spans rows ``door_y - door_half .. door_y + door_half`` (4 = the usual 9 px door).

Obstacles and doors are physical: they are drawn as wall pixels (``two_rooms_render``) and enforced by both
collision rules (``two_rooms_geometry.move``, ``two_rooms_ebjepa.move_ebjepa``). Gain and drift are dynamics: they
change what an action does, not what the agent sees. Named shifts (``parse_shift``) combine with ``+``, e.g.
``"gain0.5+pillar"``.

Examples:
    >>> parse_shift("gain0.5+narrow-door")
    Shift(gain=0.5, drift=(0.0, 0.0), obstacle='none', door_half=2)
    >>> blocks = Shift(obstacle="pillar").blocks(torch.tensor([32]), torch.tensor([18]))
    >>> blocks.tolist()                    # (N=1, K=2 blocks, [col0, row0, col1, row1]) pixel bounds, inclusive
    [[[14, 29, 20, 35], [43, 29, 49, 35]]]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from jepa_world.envs.two_rooms.geometry import BORDER_HI, BORDER_LO, DOOR_HALF, WALL_HALF

OBSTACLES: tuple[str, ...] = ("none", "pillar", "segment")
"""The accepted ``obstacle`` names."""
PILLAR_HALF = 3
"""A pillar spans its centre +- 3 px (7 x 7 wall pixels)."""
OBSTACLE_ROW = 32
"""Centre row of the pillars and of the horizontal segments."""


@dataclass(frozen=True)
class Shift:
    """A change of the Two Rooms world (see the module docstring); ``Shift()`` is the unshifted world."""

    gain: float = 1.0
    """Executed displacement = gain x the (norm-clipped) action."""
    drift: tuple[float, float] = (0.0, 0.0)
    """Constant displacement (px per step, x then y) added to every move."""
    obstacle: str = "none"
    """New wall blocks in each room: 'none', 'pillar' or 'segment'."""
    door_half: int = DOOR_HALF
    """The door spans rows door_y - door_half .. door_y + door_half (4: the usual 9 px door)."""

    def __post_init__(self) -> None:
        if self.obstacle not in OBSTACLES:
            raise ValueError(f"obstacle must be one of {OBSTACLES}, got {self.obstacle!r}")
        if not 1 <= self.door_half <= DOOR_HALF:
            raise ValueError(f"door_half must be in [1, {DOOR_HALF}], got {self.door_half}")
        if not self.gain > 0 or len(self.drift) != 2:
            raise ValueError(f"Shift needs gain > 0 and a 2-D drift, got gain={self.gain}, drift={self.drift}")

    @property
    def is_none(self) -> bool:
        """Whether this is the unshifted world."""
        return self == Shift()

    def actuate(self, action: Tensor) -> Tensor:
        """The displacement an action (N, 2) asks for, after the shift: gain * action + drift (same dtype)."""
        if self.gain == 1.0 and self.drift == (0.0, 0.0):
            return action
        return action * self.gain + torch.tensor(self.drift, dtype=action.dtype, device=action.device)

    def blocks(self, wall_x: Tensor, door_y: Tensor) -> Tensor:
        """The obstacles of N layouts as inclusive pixel bounds: (N, K, 4) int64 ``[col0, row0, col1, row1]``."""
        return obstacle_blocks(self.obstacle, wall_x, door_y)


def obstacle_blocks(obstacle: str, wall_x: Tensor, door_y: Tensor) -> Tensor:
    """(N, K, 4) int64 wall blocks ``[col0, row0, col1, row1]`` of ``obstacle`` for N layouts (K = 0 for 'none')."""
    n = wall_x.shape[0]
    wx = wall_x.long().cpu()
    if obstacle == "none":
        return torch.zeros(n, 0, 4, dtype=torch.long)
    left_mid = torch.div(BORDER_LO + wx - WALL_HALF, 2, rounding_mode="floor")  # room centre columns
    right_mid = torch.div(wx + WALL_HALF + BORDER_HI, 2, rounding_mode="floor")
    if obstacle == "pillar":
        h, row = PILLAR_HALF, OBSTACLE_ROW
        left = torch.stack([left_mid - h, _full(n, row - h), left_mid + h, _full(n, row + h)], -1)
        right = torch.stack([right_mid - h, _full(n, row - h), right_mid + h, _full(n, row + h)], -1)
    elif obstacle == "segment":
        r0, r1 = OBSTACLE_ROW - 1, OBSTACLE_ROW + 1
        left = torch.stack([_full(n, BORDER_LO), _full(n, r0), left_mid, _full(n, r1)], -1)
        right = torch.stack([right_mid, _full(n, r0), _full(n, BORDER_HI), _full(n, r1)], -1)
    else:
        raise ValueError(f"obstacle must be one of {OBSTACLES}, got {obstacle!r}")
    return torch.stack([left, right], 1)


def _full(n: int, value: int) -> Tensor:
    return torch.full((n,), value, dtype=torch.long)


def in_keep_out(pos: Tensor, blocks: Tensor, *, margin: float) -> Tensor:
    """Whether points pos (N, 2) lie within ``margin`` px of one of their layout's blocks (N, K, 4): (N,) bool."""
    if blocks.shape[1] == 0:
        return torch.zeros(pos.shape[0], dtype=torch.bool)
    b = blocks.to(pos.dtype)
    x, y = pos[:, None, 0], pos[:, None, 1]  # (N, 1)
    near = (x >= b[..., 0] - margin) & (x <= b[..., 2] + margin) & (y >= b[..., 1] - margin) & (y <= b[..., 3] + margin)
    return near.any(-1)


NAMED: dict[str, Shift] = {
    "none": Shift(),
    "pillar": Shift(obstacle="pillar"),
    "segment": Shift(obstacle="segment"),
    "narrow-door": Shift(door_half=2),
    "drift": Shift(drift=(0.6, 0.0)),
}
"""Named shifts; ``gain<g>`` (e.g. ``gain0.5``) and ``drift<dx>,<dy>`` are parsed too."""


def parse_shift(name: str) -> Shift:
    """A shift from its name: a :data:`NAMED` one, ``gain<g>``, ``drift<dx>,<dy>``, or several joined by ``+``."""
    shift = Shift()
    for part in name.strip().lower().split("+"):
        shift = _combine(shift, _one(part.strip(), name))
    return shift


def _one(part: str, name: str) -> Shift:
    if part in NAMED:
        return NAMED[part]
    number = r"-?\d+(?:\.\d*)?(?:e-?\d+)?"
    if m := re.fullmatch(f"gain({number})", part):
        return Shift(gain=float(m.group(1)))
    if m := re.fullmatch(f"drift({number}),({number})", part):
        return Shift(drift=(float(m.group(1)), float(m.group(2))))
    raise ValueError(f"unknown shift {part!r} in {name!r}; expected one of {sorted(NAMED)}, gain<g> (e.g. gain0.5) "
                     f"or drift<dx>,<dy> (e.g. drift0.5,0), joined by '+'")


def _combine(a: Shift, b: Shift) -> Shift:
    """a with b's non-default knobs."""
    base = Shift()
    knobs = ("gain", "drift", "obstacle", "door_half")
    changed = {k: getattr(b, k) for k in knobs if getattr(b, k) != getattr(base, k)}
    return replace(a, **changed)
