"""The optional extra: import gymnasium-robotics and mujoco on first use, or say which pip command installs them.

MuJoCo picks its OpenGL backend when it is imported; headless machines need EGL (or OSMesa), so
``MUJOCO_GL`` defaults to ``egl`` here unless the user set it. That only works if mujoco was not imported
before: a program that imports mujoco (or gymnasium-robotics) itself sets ``MUJOCO_GL`` first, and
:func:`check_headless` turns the otherwise fatal OpenGL error into one line saying so.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from types import ModuleType
from typing import Any

from jepa_world.errors import UserError

EXTRA = "pointmaze"
INSTALL = f'pip install "jepa-world[{EXTRA}]"'


def require() -> tuple[ModuleType, ModuleType]:
    """(gymnasium_robotics, mujoco), imported; UserError naming the pip command when either is missing."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice about the Adroit envs
            import gymnasium_robotics
        import mujoco
    except ImportError as e:
        raise UserError(f"PointMaze needs gymnasium-robotics and mujoco ({e.name} is missing): {INSTALL}") from e
    return gymnasium_robotics, mujoco


def check_headless() -> None:
    """UserError when mujoco chose the GLFW (windowed) backend on a Linux machine without a display."""
    from mujoco.rendering.classic import gl_context

    backend = getattr(getattr(gl_context, "GLContext", None), "__module__", "")
    if sys.platform.startswith("linux") and backend == "mujoco.glfw" and not os.environ.get("DISPLAY"):
        raise UserError("MuJoCo chose its windowed OpenGL backend (glfw) and there is no display: set MUJOCO_GL=egl "
                        "(or osmesa) before mujoco or gymnasium-robotics is first imported")


_IDLE: dict[str, list[Any]] = {}
"""Package envs handed back by a closed adapter, per gym id: making one costs ~0.1-0.3 s (the maze's MJCF is
written and compiled), so data shards and evaluation batches reuse them. Every use re-places the state."""


def acquire_envs(gym_id: str, n: int) -> list[Any]:
    """N package envs: idle ones first, new ones for the rest."""
    idle = _IDLE.setdefault(gym_id, [])
    reused = [idle.pop() for _ in range(min(n, len(idle)))]
    return reused + [make_package_env(gym_id) for _ in range(n - len(reused))]


def release_envs(gym_id: str, envs: list[Any]) -> None:
    """Hand envs back for :func:`acquire_envs` (the caller stops using them)."""
    _IDLE.setdefault(gym_id, []).extend(envs)


def make_package_env(gym_id: str) -> Any:
    """The package's own ``PointMazeEnv`` (unwrapped: no time limit, the goal never moves, no termination)."""
    import gymnasium as gym

    gymnasium_robotics, _ = require()
    gym.register_envs(gymnasium_robotics)
    return gym.make(gym_id, continuing_task=True, reset_target=False).unwrapped
