"""The fixed top-down view of a PointMaze: an orthographic MuJoCo camera that frames the whole maze.

The package's default camera is a perspective view from ``distance`` 8.8 / 12.5 tracking nothing in
particular; here a free camera looks straight down (elevation -90 degrees, azimuth 90: x to the right, y
up) at the maze centre, orthographic, with a vertical extent of ``max(rows, cols)`` maze units, so the
image is the maze's map: cell (i, j) covers pixels [i * S / rows, (i + 1) * S / rows) of an S x S image.

The package draws the goal as a red translucent sphere (site ``target``). Frames here hide it: the
current observation must not tell the world model where the goal is; the goal is given to the agent as
its own observation, the ball drawn at the goal (:meth:`TopDownCamera.render_at`). Rendering uses a copy
of the env's model (the hidden marker and the camera extent never touch the simulated model).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from jepa_world.envs.pointmaze.package import check_headless, require


class TopDownCamera:
    """Renders (size, size, 3) uint8 frames of a PointMaze env's MuJoCo state from above."""

    def __init__(self, model: Any, grid_shape: tuple[int, int], size: int = 64) -> None:
        _, mujoco = require()
        check_headless()
        self._mujoco = mujoco
        self.model = copy.copy(model)
        target = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, "target")
        self.model.site_rgba[target, 3] = 0.0  # hide the goal marker
        self.model.vis.global_.fovy = float(max(grid_shape))  # orthographic: the vertical extent in maze units
        self.renderer = mujoco.Renderer(self.model, size, size)
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.lookat[:] = (0.0, 0.0, 0.0)
        self.camera.elevation, self.camera.azimuth, self.camera.distance = -90.0, 90.0, 10.0
        self.camera.orthographic = 1
        self._goal_data = mujoco.MjData(self.model)

    def render(self, data: Any) -> np.ndarray:
        """The frame of an env's MjData (same model structure) -> (size, size, 3) uint8."""
        self.renderer.update_scene(data, self.camera)
        return self.renderer.render()

    def render_at(self, xy: np.ndarray) -> np.ndarray:
        """The frame with the ball at rest at ``xy`` (2,) -> (size, size, 3) uint8."""
        self._goal_data.qpos[:] = xy
        self._goal_data.qvel[:] = 0.0
        self._mujoco.mj_forward(self.model, self._goal_data)
        return self.render(self._goal_data)

    def close(self) -> None:
        """Free the OpenGL context."""
        self.renderer.close()
