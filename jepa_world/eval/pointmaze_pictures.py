"""Pictures of a PointMaze planning evaluation: executed paths on the maze map, final distances, goal reached.

Positions are the evaluator's (maze units); the map is the package's, drawn so that maze coordinates are the
axes' coordinates (``imshow`` with the maze's extent), so paths, starts and goals are plotted as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def save_pointmaze_summary(report: Any, result: Any, path: str, *, max_episodes: int = 6) -> None:
    """PNG: the first episodes of ``result`` (green = success under 'final', red = failure), the histogram of
    all final distances and the fraction of episodes that reached the goal radius by each step."""
    from matplotlib.figure import Figure

    from jepa_world.envs.pointmaze.layout import maze_map

    task = report.config["pointmaze"]
    grid = np.array([[c == 1 for c in row] for row in maze_map(task["maze"])], dtype=float)  # (rows, cols)
    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplots(2, 4)
    for k, ax in enumerate(axes[:, :3].flat):
        if k < min(max_episodes, result.num_envs):
            _draw_episode(ax, result, k, grid, task["success_radius"])
        else:
            ax.axis("off")
    axes[0, 3].hist(np.asarray(report.final_distance), bins=30)
    axes[0, 3].axvline(task["success_radius"], color="k", ls="--", lw=1)
    axes[0, 3].set(xlabel="final distance (maze units)", ylabel="episodes")
    first = np.asarray(report.steps_to_success, dtype=float)
    t = np.arange(result.distances.shape[1])
    axes[1, 3].plot(t, ((first >= 0)[:, None] & (first[:, None] <= t)).mean(0))
    axes[1, 3].set(xlabel="step", ylabel="reached goal radius", ylim=(0, 1))
    fig.suptitle(f"PointMaze {task['maze']}, {report.planner}: success {report.success_rate:.0%} (final), "
                 f"{report.success_rate_first_hit:.0%} (first hit) over {report.episodes} episodes")
    fig.savefig(path, dpi=80)


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
