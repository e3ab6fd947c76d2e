"""Read and set the state of one gym-pusht env: (agent x, agent y, block x, block y, block angle).

Positions are pymunk's body positions in the package's 512 x 512 workspace (px); the angle is in
radians, wrapped to [0, 2 pi) as the package's own state observation.

The package's ``reset(options={"reset_to_state": s})`` sets the block position *before* its angle, and
pymunk turns a body about its centre of gravity, which for the T is not the body origin: the block lands
elsewhere than asked (the package documents this). :func:`reset_to_state` asks for the position that lands
exactly on ``s``: origin p' = p + c - R(angle) c, with c the block's centre of gravity in body coordinates,
so p = p' - c + R(angle) c.

Examples:
    >>> import numpy as np
    >>> from jepa_world.envs.pusht.package import make_pusht_env
    >>> env = make_pusht_env()
    >>> s = np.array([100.0, 100.0, 300.0, 300.0, 0.5])
    >>> bool(np.allclose(reset_to_state(env, s), s))
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

STATE_DIM = 5
"""(agent x, agent y, block x, block y, block angle)."""


def read_state(env: Any) -> np.ndarray:
    """The env's state (5,) float64, angle in [0, 2 pi)."""
    a, b = env.agent.position, env.block.position
    return np.array([a[0], a[1], b[0], b[1], env.block.angle % (2 * math.pi)], dtype=np.float64)


def reset_to_state(env: Any, state: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Reset ``env`` so that its state is ``state`` (5,) (up to overlap resolution); return the state reached."""
    state = np.asarray(state, dtype=np.float64)
    if state.shape != (STATE_DIM,) or not np.isfinite(state).all():
        raise ValueError(f"a PushT state must be 5 finite numbers (agent x, y, block x, y, angle), got {state}")
    env.reset(seed=seed)  # a fresh space with the block at angle 0: its centre of gravity is known
    cx, cy = env.block.center_of_gravity
    cos, sin = math.cos(state[4]), math.sin(state[4])
    asked = state.copy()
    asked[2] = state[2] - cx + (cos * cx - sin * cy)
    asked[3] = state[3] - cy + (sin * cx + cos * cy)
    env.reset(seed=seed, options={"reset_to_state": asked})
    return read_state(env)
