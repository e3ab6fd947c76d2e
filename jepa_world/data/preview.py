"""Pictures of a dataset: a PNG grid of trajectories and an animated GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from jepa_world.data.two_rooms_gen import Trajectories
from jepa_world.envs.two_rooms.render import render_trajectories, to_rgb


def trajectory_grid_png(traj: Trajectories, path: Path, *, count: int = 8) -> Path:
    """Save a grid: one row per trajectory, first / middle / last frame plus the drawn path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(count, len(traj))
    cols = 4
    fig, axes = plt.subplots(count, cols, figsize=(cols * 2.0, count * 2.0), squeeze=False)
    t_last = traj.positions.shape[1] - 1
    frames = [0, t_last // 2, t_last]
    obs = render_trajectories(traj.positions[:count], traj.wall_x[:count], traj.door_y[:count], walls=traj.walls)
    for i in range(count):
        for j, t in enumerate(frames):
            axes[i, j].imshow(to_rgb(obs[i, t]).numpy())
            axes[i, j].set_title(f"t={t}", fontsize=7)
        axes[i, 3].imshow(to_rgb(obs[i, 0]).numpy())
        p = traj.positions[i].numpy()
        axes[i, 3].plot(p[:, 0], p[:, 1], "-", color="yellow", lw=1)
        axes[i, 3].plot(p[0, 0], p[0, 1], "o", color="cyan", ms=3)
        axes[i, 3].set_title("door" if bool(traj.steered[i]) else "walk", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def trajectory_gif(traj: Trajectories, path: Path, *, count: int = 8, scale: int = 3, fps: int = 8) -> Path:
    """Save an animated GIF showing ``count`` trajectories side by side."""
    import imageio.v2 as imageio

    count = min(count, len(traj))
    obs = render_trajectories(traj.positions[:count], traj.wall_x[:count], traj.door_y[:count], walls=traj.walls)
    frames = []
    for t in range(obs.shape[1]):
        tiles = [to_rgb(obs[i, t]).numpy() for i in range(count)]
        sep = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        row = np.concatenate([x for tile in tiles for x in (tile, sep)][:-1], axis=1)
        frames.append(np.repeat(np.repeat(row, scale, 0), scale, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1.0 / fps, loop=0)
    return path


def subset(traj: Trajectories, rows: torch.Tensor) -> Trajectories:
    """The trajectories at ``rows``."""
    return Trajectories(traj.positions[rows], traj.actions[rows], traj.wall_x[rows], traj.door_y[rows],
                        traj.steered[rows], walls=traj.walls)
