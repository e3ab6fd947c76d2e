"""Pictures and statistics of a PointMaze dataset (what ``jepa-world data show`` writes and prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def preview_pointmaze(directory: Path, out: Path, *, count: int, seed: int) -> tuple[dict[str, Any], Path, Path]:
    """``count`` random trajectories of a dataset drawn to ``out``/trajectories.png and .gif; (stats, png, gif)."""
    from jepa_world.data.pointmaze_shards import load_pointmaze_shards
    from jepa_world.envs.pointmaze.layout import maze_map

    shards, meta = load_pointmaze_shards(directory)
    states = np.concatenate([s["states"] for s in shards])
    actions = np.concatenate([s["actions"] for s in shards])
    offsets = np.cumsum([0] + [len(s["obs"]) for s in shards])
    rows = np.random.default_rng(seed).permutation(len(states))[:count]
    shard_of = np.searchsorted(offsets, rows, side="right") - 1
    obs = np.stack([shards[k]["obs"][r - offsets[k]] for r, k in zip(rows, shard_of, strict=True)])
    png = pointmaze_grid_png(obs, Path(out) / "trajectories.png")
    gif = pointmaze_gif(obs, Path(out) / "trajectories.gif")
    maze = meta["config"]["maze"]
    return {"env": meta["env"], "maze": maze, **pointmaze_stats(states, actions, maze_map(maze))}, png, gif


def pointmaze_grid_png(obs: np.ndarray, path: Path, *, scale: int = 2) -> Path:
    """Save a grid: one row per trajectory (obs (n, 1 + T, 3, S, S) uint8), 6 frames evenly spaced in time."""
    import imageio.v2 as imageio

    times = np.linspace(0, obs.shape[1] - 1, 6).round().astype(int)
    rows = [_hstack([obs[i, t].transpose(1, 2, 0) for t in times]) for i in range(obs.shape[0])]
    grid = _vstack(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.imwrite(path, np.repeat(np.repeat(grid, scale, 0), scale, 1))
    return path


def pointmaze_gif(obs: np.ndarray, path: Path, *, scale: int = 2, fps: int = 20, every: int = 2) -> Path:
    """Save an animated GIF of the trajectories side by side, every ``every``-th frame."""
    import imageio.v2 as imageio

    frames = [_hstack([obs[i, t].transpose(1, 2, 0) for i in range(obs.shape[0])])
              for t in range(0, obs.shape[1], every)]
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, [np.repeat(np.repeat(f, scale, 0), scale, 1) for f in frames], duration=1.0 / fps, loop=0)
    return path


def pointmaze_stats(states: np.ndarray, actions: np.ndarray, grid: list[list[int | str]]) -> dict[str, float]:
    """Counts, speed, distance travelled and free-cell coverage of states (N, 1 + T, 4), actions (N, T, 2)."""
    import torch

    from jepa_world.envs.pointmaze.layout import cells_of, free_cells

    rows, cols = len(grid), len(grid[0])
    visited = cells_of(torch.from_numpy(np.asarray(states[..., :2])).reshape(-1, 2), (rows, cols))
    free = {tuple(c) for c in free_cells(grid).tolist()}
    seen = {tuple(c) for c in visited.unique(dim=0).tolist()} & free
    steps = np.linalg.norm(np.diff(states[..., :2], axis=1), axis=-1)  # (N, T)
    return {
        "trajectories": int(states.shape[0]),
        "frames_per_trajectory": int(states.shape[1]),
        "speed_mean": round(float(np.linalg.norm(states[..., 2:], axis=-1).mean()), 4),
        "path_length_mean": round(float(steps.sum(1).mean()), 4),
        "displacement_mean": round(float(np.linalg.norm(states[:, -1, :2] - states[:, 0, :2], axis=-1).mean()), 4),
        "action_abs_mean": round(float(np.abs(actions).mean()), 4),
        "free_cells_visited": f"{len(seen)}/{len(free)}",
    }


def _hstack(images: list[np.ndarray]) -> np.ndarray:
    sep = np.full((images[0].shape[0], 2, 3), 255, np.uint8)
    return np.concatenate([x for im in images for x in (im, sep)][:-1], axis=1)


def _vstack(images: list[np.ndarray]) -> np.ndarray:
    sep = np.full((2, images[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for im in images for x in (im, sep)][:-1], axis=0)
