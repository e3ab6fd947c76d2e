"""A PointMaze episode on its maze map: the episode panels of the summary PNG of eval/planning.py.

Positions are the evaluator's (maze units); the map is the package's, drawn so that maze coordinates are the
axes' coordinates (``imshow`` with the maze's extent), so paths, starts and goals are plotted as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def pointmaze_episode_drawer(report: Any) -> Callable[[Any, Any, int], None]:
    """``draw(ax, result, i)``: episode i of a PointMaze evaluation on its maze map (for the summary PNG of
    eval/planning.py)."""
    from jepa_world.envs.pointmaze.layout import maze_map

    task = report.config["pointmaze"]
    grid = np.array([[c == 1 for c in row] for row in maze_map(task["maze"])], dtype=float)  # (rows, cols)
    return lambda ax, result, i: _draw_episode(ax, result, i, grid, task["success_radius"])


def _draw_episode(ax: Any, result: Any, i: int, grid: np.ndarray, radius: float) -> None:
    """Episode i on the map: walls (grey), executed path, start (black dot), goal (star) and its radius."""
    from matplotlib.patches import Circle

    rows, cols = grid.shape
    ax.imshow(grid, cmap="gray_r", vmax=2.5, extent=(-cols / 2, cols / 2, -rows / 2, rows / 2))
    xy = result.positions[i].numpy()  # (S + 1, 2) maze units
    ax.plot(xy[:, 0], xy[:, 1], color="tab:green" if bool(result.success[i]) else "tab:red", lw=1.2)
    start, goal = result.episodes.start[i].tolist(), result.episodes.goal[i].tolist()
    ax.plot(*start, "ko", ms=3)
    ax.add_patch(Circle(goal, radius, fill=False, color="gold", lw=1))
    ax.plot(*goal, "*", color="gold", mec="k", ms=9)
    ax.set_title(f"#{i}: {result.final_distance[i]:.2f}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
