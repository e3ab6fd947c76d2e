"""Summary statistics of PushT exploration trajectories: how much of the data is contact.

A step *moves the block* when the block's position changes by more than ``MOVE_PX`` or its angle by more
than ``MOVE_RAD`` (the block is at rest otherwise: the package has no drift).

Examples:
    >>> import numpy as np
    >>> states = np.zeros((1, 3, 5), np.float32)
    >>> states[0, 2, 2] = 5.0                      # the block slides 5 px in the second step
    >>> pusht_stats(states, np.zeros((1, 2, 2), np.float32))["block_moved_fraction"]
    0.5
"""

from __future__ import annotations

import numpy as np

MOVE_PX = 0.5
"""A block displacement above this (px per step) counts as moved."""
MOVE_RAD = 0.01
"""A block rotation above this (rad per step) counts as moved."""


def block_moved(states: np.ndarray) -> np.ndarray:
    """states (N, T+1, 5) -> (N, T) bool: the block moved in that step."""
    shift = np.linalg.norm(np.diff(states[..., 2:4], axis=1), axis=-1)
    turn = np.abs(np.angle(np.exp(1j * np.diff(states[..., 4].astype(np.float64), axis=1))))
    return (shift > MOVE_PX) | (turn > MOVE_RAD)


def pusht_stats(states: np.ndarray, actions: np.ndarray) -> dict[str, float]:
    """Counts, contact share and motion scales of trajectories states (N, T+1, 5), actions (N, T, 2)."""
    moved = block_moved(states)
    agent_step = np.linalg.norm(np.diff(states[..., :2], axis=1), axis=-1)
    travel = np.linalg.norm(states[:, -1, 2:4] - states[:, 0, 2:4], axis=-1)
    return {
        "trajectories": int(states.shape[0]),
        "frames_per_trajectory": int(states.shape[1]),
        "block_moved_fraction": round(float(moved.mean()), 4),
        "trajectories_moving_block": round(float(moved.any(axis=1).mean()), 4),
        "agent_step_mean_px": round(float(agent_step.mean()), 3),
        "block_travel_mean_px": round(float(travel.mean()), 2),
        "action_std": round(float(actions.std()), 4),
        "action_abs_max": round(float(np.abs(actions).max()), 4),
    }
