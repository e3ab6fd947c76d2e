"""PointMaze image datasets on disk and the windows a trainer reads from them.

Unlike Two Rooms (state on disk, rendered on load), PointMaze frames come from MuJoCo's renderer, far slower than a
state-to-pixels blit (docs/benchmarks.md), so the frames are stored. A dataset directory follows the rules of
``data/shards.py`` (a hidden sibling renamed into place at the end, ``meta.json`` last, ``--overwrite`` only
replaces a dataset of ours): shard ``k`` is three plain ``.npy`` files, ``shard-0000k-obs.npy`` (N, 1 + T, 3, S, S)
uint8, ``-actions.npy`` (N, T, 2) float32 and ``-states.npy`` (N, 1 + T, 4) float32, memory-mapped on read so a
dataset larger than RAM trains from the page cache.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from jepa_world.data.pointmaze_gen import PointMazeDataConfig, PointMazeTrajectories, generate
from jepa_world.data.shards import FORMAT_VERSION, META, _check_replaceable, _partial_dir, read_meta
from jepa_world.envs.pointmaze.layout import maze_map, to_pixels
from jepa_world.errors import DatasetError

ENV = "pointmaze"
ARRAYS = ("obs", "actions", "states")


def build_pointmaze_dataset(out: str | Path, *, num: int, config: PointMazeDataConfig, seed: int = 0,
                            shard_size: int = 500, overwrite: bool = False, progress: bool = True) -> Path:
    """Write ``num`` trajectories to ``out`` shard by shard; nothing is left at ``out`` unless it completes."""
    from jepa_world.data.build import shard_seed

    if num < 1:
        raise ValueError(f"--num must be a positive number of trajectories, got {num}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    config.validate()
    out = Path(out)
    _check_replaceable(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = _partial_dir(out)
    except OSError as e:
        raise DatasetError(f"cannot write to {out}: {e.strerror or e}") from e
    try:
        shards = []
        with tqdm(total=num, unit="traj", disable=not progress, desc=f"generating {ENV} {config.maze}") as bar:
            for index, start in enumerate(range(0, num, shard_size)):
                n = min(shard_size, num - start)
                traj = generate(n, config, generator=torch.Generator().manual_seed(shard_seed(seed, index)))
                shards.append(_write_shard(tmp, f"shard-{index:05d}", traj))
                bar.update(n)
        grid = maze_map(config.maze)
        meta = {"env": ENV, "seed": seed, "shard_size": shard_size, "config": asdict(config),
                "grid_shape": [len(grid), len(grid[0])],
                "format_version": FORMAT_VERSION, "store_obs": True, "num": num, "shards": shards}
        (tmp / META).write_text(json.dumps(meta, indent=2))
        _check_replaceable(out, overwrite)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        return out
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_shard(directory: Path, name: str, traj: PointMazeTrajectories) -> dict[str, Any]:
    """Save one shard's three arrays; its meta entry."""
    for key in ARRAYS:
        np.save(directory / f"{name}-{key}.npy", getattr(traj, key).numpy())
    return {"file": name, "num": len(traj.obs)}


def load_pointmaze_shards(directory: str | Path) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
    """Every shard's arrays, memory-mapped (read-only), and the meta; DatasetError naming a bad file."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("env") != ENV:
        raise DatasetError(f"{directory} holds {meta.get('env')!r} data, expected a {ENV} dataset")
    return [_load_shard(directory, s["file"], s["num"]) for s in meta["shards"]], meta


def _load_shard(directory: Path, name: str, num: int) -> dict[str, np.ndarray]:
    try:
        arrays = {k: np.load(directory / f"{name}-{k}.npy", mmap_mode="r", allow_pickle=False) for k in ARRAYS}
    except (OSError, ValueError) as e:
        raise DatasetError(f"corrupt or unreadable shard {directory / name}: {type(e).__name__}: {e}") from e
    obs, actions, states = arrays["obs"], arrays["actions"], arrays["states"]
    n, frames = obs.shape[:2]
    if (n != num or obs.dtype != np.uint8 or obs.ndim != 5 or actions.shape != (n, frames - 1, 2)
            or states.shape != (n, frames, 4)):
        raise DatasetError(f"shard {directory / name}: obs {obs.shape} {obs.dtype}, actions {actions.shape}, "
                           f"states {states.shape} do not fit {num} trajectories of (1 + T) frames")
    return arrays


def iter_pointmaze_obs(directory: str | Path) -> Iterator[np.ndarray]:
    """The stored uint8 frames (N, 1 + T, 3, S, S) shard by shard."""
    for shard in load_pointmaze_shards(directory)[0]:
        yield shard["obs"]


@dataclass
class PointMazeWindowsConfig:
    """Where and how a PointMaze run reads its training windows."""

    path: str = ""
    """A dataset of ``jepa-world data generate --env pointmaze`` (required: data.path=DIR)."""
    length: int = 21
    """Frames per training window: 1 + T * frameskip (21 = 4 model steps of 5 env steps)."""
    frame_stack: int = 1
    """Frames per observation on channels (k >= 2 shows the velocity); model.encoder.in_channels must be 3k."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.length < 2 or self.frame_stack < 1:
            raise ValueError(f"data.length must be >= 2 and data.frame_stack >= 1, got {self.length}, "
                             f"{self.frame_stack}")


class PointMazeWindows:
    """Training batches of windows cut from a PointMaze dataset: ``windows(step)`` is the same for the same
    (seed, step, rank), so a run resumes exactly.

    Batch: dict(obs (B, L, 3k, S, S) float32 in [0, 1], actions (B, L - 1, 2), positions (B, L, 2)), L = 1 + T
    frames; with ``frame_stack`` k, frame t is frames t - k + 1 .. t of its trajectory on channels, oldest first,
    the first frame repeated before the start (each trajectory starts at rest). ``positions`` are the ball's
    (column, row) in image pixels (``layout.to_pixels``), as on the other envs' canvases; they feed only probes.
    """

    def __init__(self, directory: str | Path, batch_size: int, *, length: int, frame_stack: int = 1,
                 seed: int = 0) -> None:
        self.shards, self.meta = load_pointmaze_shards(directory)
        frames = self.shards[0]["obs"].shape[1]
        if batch_size < 1 or frame_stack < 1:
            raise ValueError(f"batch_size and frame_stack must be >= 1, got {batch_size} and {frame_stack}")
        if not 2 <= length <= frames:
            raise ValueError(f"window length must be in [2, {frames}] (the dataset's frames), got {length}")
        self.batch_size, self.length, self.frame_stack, self.seed = batch_size, length, frame_stack, seed
        self.frames = frames
        self.grid_shape = tuple(self.meta["grid_shape"])
        self.image_size = self.shards[0]["obs"].shape[-1]
        self.offsets = np.cumsum([0] + [len(s["obs"]) for s in self.shards])
        self.rank, self.world_size = 0, 1

    def set_rank(self, rank: int, world_size: int) -> None:
        """Give each data-parallel rank its own draws."""
        self.rank, self.world_size = rank, world_size

    def __call__(self, step: int) -> dict[str, Tensor]:
        g = torch.Generator().manual_seed(hash((self.seed, step, self.rank)) & (2**62 - 1))
        rows = torch.randint(int(self.offsets[-1]), (self.batch_size,), generator=g).tolist()
        starts = torch.randint(self.frames - self.length + 1, (self.batch_size,), generator=g).tolist()
        parts = [self._window(r, s) for r, s in zip(rows, starts, strict=True)]
        return {k: torch.stack([p[k] for p in parts]) for k in ("obs", "actions", "positions")}

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        step = 0
        while True:
            yield self(step)
            step += 1

    def _window(self, row: int, start: int) -> dict[str, Tensor]:
        """One trajectory's window of ``length`` frames from ``start``."""
        k = int(np.searchsorted(self.offsets, row, side="right")) - 1
        shard, i = self.shards[k], row - int(self.offsets[k])
        t = np.arange(start, start + self.length)
        lag = np.clip(t[:, None] - np.arange(self.frame_stack - 1, -1, -1)[None], 0, None)  # (L, k) oldest first
        obs = torch.from_numpy(np.ascontiguousarray(shard["obs"][i][lag.reshape(-1)]))  # (L * k, 3, S, S)
        obs = obs.view(self.length, self.frame_stack * 3, *obs.shape[-2:]).float().div_(255.0)
        return {"obs": obs, "actions": torch.from_numpy(np.array(shard["actions"][i, start:start + self.length - 1])),
                "positions": to_pixels(torch.from_numpy(np.array(shard["states"][i, start:start + self.length, :2])),
                                       self.grid_shape, self.image_size).float()}
