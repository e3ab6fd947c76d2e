"""Pictures of a PushT dataset (``jepa-world data show``): a PNG grid of stored frames and a GIF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepa_world.data.pusht_stats import pusht_stats
from jepa_world.data.pusht_stream import load_pusht_dataset


def frames_grid_png(obs: np.ndarray, path: Path) -> Path:
    """obs (K, T+1, 3, S, S) uint8 -> one row per trajectory: first, middle and last frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k, last = obs.shape[0], obs.shape[1] - 1
    fig, axes = plt.subplots(k, 3, figsize=(6.0, k * 2.0), squeeze=False)
    for i in range(k):
        for j, t in enumerate((0, last // 2, last)):
            axes[i, j].imshow(obs[i, t].transpose(1, 2, 0))
            axes[i, j].set_title(f"t={t}", fontsize=7)
            axes[i, j].axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def frames_gif(obs: np.ndarray, path: Path, *, scale: int = 2, fps: int = 10) -> Path:
    """obs (K, T+1, 3, S, S) uint8 -> an animated GIF of the K trajectories side by side."""
    import imageio.v2 as imageio

    frames = []
    for t in range(obs.shape[1]):
        row = np.concatenate([np.pad(o.transpose(1, 2, 0), ((0, 0), (0, 2), (0, 0)), constant_values=0)
                              for o in obs[:, t]], axis=1)
        frames.append(np.repeat(np.repeat(row, scale, 0), scale, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1.0 / fps, loop=0)
    return path


def show_pusht_dataset(directory: Path, out: Path, *, count: int, seed: int) -> tuple[dict[str, Any], list[Path]]:
    """Statistics of the dataset and the PNG and GIF of ``count`` random trajectories written under ``out``."""
    traj, meta = load_pusht_dataset(directory)
    rows = torch.randperm(len(traj), generator=torch.Generator().manual_seed(seed))[:count].numpy()
    obs = traj.obs[np.sort(rows)]
    written = [frames_grid_png(obs, Path(out) / "trajectories.png"), frames_gif(obs, Path(out) / "trajectories.gif")]
    return {"env": meta["env"], **pusht_stats(traj.states, traj.actions)}, written
