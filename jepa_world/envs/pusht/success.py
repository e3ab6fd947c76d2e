"""DINO-WM's PushT success rule as one distance, so that success is ``distance < 1``.

DINO-WM (Zhou et al. 2024, repository gaoyuezhou/dino_wm, ``env/pusht/pusht_wrapper.py``, ``eval_state``)
counts an episode as solved when the Euclidean norm of the difference of the first four state entries
(agent x, y and block x, y together, px in the 512 workspace) is below 20 and the wrapped block-angle
difference is below pi / 9 (20 degrees). Here ``distance = max(pos_err / 20, angle_err / (pi / 9))``:
``distance < 1`` holds exactly when both do, and the evaluator's protocols score it with radius 1.

Examples:
    >>> import math, torch
    >>> goal = torch.tensor([[100.0, 100.0, 256.0, 256.0, 0.1]])
    >>> near = torch.tensor([[110.0, 100.0, 256.0, 250.0, 0.1 + math.pi / 18]])   # 11.7 px, 10 degrees
    >>> round(float(pusht_distance(near, goal)), 3)
    0.583
    >>> bool(pusht_distance(torch.tensor([[100.0, 100.0, 256.0, 256.0, 2 * math.pi]]), goal) < 1)  # wraps
    True
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

POSITION_TOLERANCE = 20.0
"""px: the norm of the (agent x, y, block x, y) error must be below this (DINO-WM)."""
ANGLE_TOLERANCE = math.pi / 9
"""rad: the wrapped block-angle error must be below this (DINO-WM)."""
SUCCESS_RADIUS = 1.0
"""Success is ``pusht_distance < 1``."""


def angle_error(a: Tensor, b: Tensor) -> Tensor:
    """|a - b| wrapped to [0, pi] (any shape)."""
    d = torch.remainder(a - b, 2 * math.pi)
    return torch.minimum(d, 2 * math.pi - d)


def pusht_distance(state: Tensor, goal: Tensor) -> Tensor:
    """state, goal (N, 5) -> (N,) max(position error / 20 px, angle error / 20 degrees)."""
    if state.shape != goal.shape or state.dim() != 2 or state.shape[1] != 5:
        raise ValueError(f"state and goal must both be (N, 5), got {tuple(state.shape)} and {tuple(goal.shape)}")
    pos = (state[:, :4] - goal[:, :4]).norm(dim=1)
    return torch.maximum(pos / POSITION_TOLERANCE, angle_error(state[:, 4], goal[:, 4]) / ANGLE_TOLERANCE)
