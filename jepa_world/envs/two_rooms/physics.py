"""The two Two Rooms rules an env or a data generator can run: ``"ebjepa"`` (the default) and ``"strict"``.

- ``"ebjepa"``: EB-JEPA's rule (:mod:`two_rooms_ebjepa`): walls are lines through the wall pixels'
  centres, a blocked move stops at the line and is pushed back by Gaussian noise; actions are not
  clipped (EB-JEPA's planner bounds their norm to 2.45, as ours do). Numbers measured under it are
  comparable with EB-JEPA's and PLDM's published ones.
- ``"strict"``: the deterministic rule of :func:`two_rooms_geometry.move` (the agent's centre stays
  on free pixels, stops at the last free point of its move, no noise), actions clipped to 2.45.

The environment and the data generator both call :func:`apply_action`, with the caller's own
``torch.Generator`` for the noise (never a global RNG).

Examples:
    >>> import torch
    >>> p, a = torch.tensor([[30.0, 40.0]]), torch.tensor([[2.0, 0.0]])
    >>> wall_x, door_y = torch.tensor([32]), torch.tensor([18])
    >>> apply_action(p, a, wall_x, door_y, physics="strict")            # stops on the last free pixel
    tensor([[30., 40.]], dtype=torch.float64)
    >>> g = torch.Generator().manual_seed(0)
    >>> q = apply_action(p, a, wall_x, door_y, physics="ebjepa", generator=g)
    >>> bool(29.0 < q[0, 0] < 31.0)                                   # at the face x = 31, pushed back
    True
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.ebjepa import move_ebjepa
from jepa_world.envs.two_rooms.shift import Shift

Physics = Literal["ebjepa", "strict"]
PHYSICS: tuple[str, ...] = ("ebjepa", "strict")
"""The accepted ``physics`` names."""


def check_physics(physics: str) -> None:
    """Raise ValueError naming the valid rules for an unknown ``physics``."""
    if physics not in PHYSICS:
        raise ValueError(f"physics must be one of {PHYSICS}, got {physics!r}")


def default_max_norm(physics: str) -> float | None:
    """The env's action clip of a rule: 2.45 px for 'strict', none for 'ebjepa' (as the reference env)."""
    check_physics(physics)
    return geo.MAX_ACTION_NORM if physics == "strict" else None


def apply_action(pos: Tensor, action: Tensor, wall_x: Tensor, door_y: Tensor, *, physics: str,
                 generator: torch.Generator | None = None, max_norm: float | None = None,
                 shift: Shift | None = None) -> Tensor:
    """One step of N agents: pos (N, 2), action (N, 2) -> new pos (N, 2) float64.

    ``max_norm`` clips the actions' L2 norm first (None: the rule's default, :func:`default_max_norm`).
    Under 'ebjepa' the collision noise is drawn from ``generator`` (N standard normal pairs per call, so
    the stream of draws does not depend on which agents collide); without a generator the noise-free
    model is used (the mean push-back), which is what a ground-truth *model* of the env should predict.
    A ``shift`` (envs/two_rooms/shift.py) scales and offsets the clipped action and adds its door and obstacles.
    """
    check_physics(physics)
    limit = default_max_norm(physics) if max_norm is None else max_norm
    a = action.to(torch.float64)
    if limit is not None:
        a = geo.clip_action_norm(a, limit)
    p = pos.to(torch.float64)
    shift = shift or Shift()
    a = shift.actuate(a)
    layout = {"door_half": shift.door_half, "blocks": shift.blocks(wall_x, door_y)}
    if physics == "strict":
        return geo.move(p, a, wall_x, door_y, **layout)
    noise = None if generator is None else torch.randn(p.shape, generator=generator, dtype=torch.float64)
    return move_ebjepa(p, a, wall_x, door_y, noise=noise, **layout)
