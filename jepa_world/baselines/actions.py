"""Policy outputs <-> environment actions: commanded 2-D displacements of bounded L2 norm.

Two Rooms and the maze take a displacement (px) per step; the env (or, for EB-JEPA's Two Rooms physics, the
planner) bounds its norm at ``MAX_ACTION_NORM`` = 2.45 px (:mod:`jepa_world.envs.two_rooms.geometry`). A policy
regresses actions divided by that bound (the data's steps, at most 1.8 px, lie in the unit ball) and its output
is clipped back to the ball before it is executed.

Examples:
    >>> import torch
    >>> to_unit(torch.tensor([[2.45, 0.0]]), max_norm=2.45)
    tensor([[1., 0.]])
    >>> from_unit(torch.tensor([[3.0, 4.0]]), max_norm=2.0)
    tensor([[1.2000, 1.6000]])
"""

from __future__ import annotations

from torch import Tensor

from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, clip_action_norm

DEFAULT_MAX_NORM = MAX_ACTION_NORM
"""The action bound of Two Rooms and the maze (px per step)."""


def to_unit(actions: Tensor, *, max_norm: float) -> Tensor:
    """Env actions (..., A) -> regression targets (..., A), the bound mapped to norm 1."""
    return actions / max_norm


def from_unit(u: Tensor, *, max_norm: float) -> Tensor:
    """Policy outputs (..., A) -> env actions (..., A) of norm <= max_norm (longer outputs are shortened)."""
    return clip_action_norm(u * max_norm, max_norm)
