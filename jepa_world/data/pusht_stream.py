"""PushT dataset shards back into memory, and training windows drawn from them.

:func:`load_pusht_dataset` reads every shard of a ``data generate --env pusht`` directory (uint8 frames
stay uint8: 12 KB per 64 x 64 frame, so 200k frames take 2.5 GB). :class:`PushTWindows` is the
training batch source: ``windows(step)`` reads the step's chunk (``data/sharding.py``) of shuffled epochs over
all windows, a pure function of (seed, chunk), so a resumed run sees the same batches (also with another
number of processes), and within an epoch no window is read twice, by one rank or by two.

Batch: dict(obs (B, T+1, 3, S, S) float32 in [0, 1], actions (B, T, 2), positions (B, T+1, 2) agent
x, y in px, states (B, T+1, 5)); positions and states feed probes only.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from jepa_world.data.pusht_gen import PushTTrajectories
from jepa_world.data.sharding import EpochStream, StreamShard
from jepa_world.data.shards import read_meta
from jepa_world.errors import DatasetError

KEYS = ("obs", "actions", "states")


@dataclass
class PushTStreamConfig:
    """Training windows from a PushT dataset on disk (``jepa-world data generate --env pusht``)."""

    path: str = "data/pusht"
    """The dataset directory."""
    length: int = 21
    """Frames per training window (T + 1); at most the dataset's frames per trajectory."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field (the directory is checked when it is read)."""
        if self.length < 2:
            raise ValueError(f"length must be >= 2 frames, got {self.length}")
        if not self.path:
            raise ValueError("path must name a PushT dataset directory")


def load_pusht_shard(path: Path, *, expect_num: int) -> dict[str, np.ndarray]:
    """One shard's arrays; any corruption or mismatch raises DatasetError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"corrupt or unreadable PushT shard {path}: {type(e).__name__}: {e}") from e
    n, length = arrays["states"].shape[:2]
    if n != expect_num or arrays["obs"].shape[:2] != (n, length) or arrays["actions"].shape[:2] != (n, length - 1):
        raise DatasetError(f"shard {path}: obs {arrays['obs'].shape}, actions {arrays['actions'].shape}, states "
                           f"{arrays['states'].shape} do not hold the {expect_num} trajectories meta.json says")
    return arrays


def load_pusht_dataset(directory: Path) -> tuple[PushTTrajectories, dict[str, Any]]:
    """All trajectories of a PushT dataset directory, and its meta."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("env") != "pusht":
        raise DatasetError(f"{directory} holds {meta.get('env')!r} data, not pusht")
    parts = [load_pusht_shard(directory / s["file"], expect_num=s["num"]) for s in meta["shards"]]
    cat = {k: np.concatenate([p[k] for p in parts]) for k in KEYS}
    return PushTTrajectories(cat["obs"], cat["actions"], cat["states"]), meta


def load_pusht_states(directory: Path) -> np.ndarray:
    """Only the states (N, T+1, 5) of a PushT dataset (frames are not read): evaluation episodes from held-out data."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("env") != "pusht":
        raise DatasetError(f"{directory} holds {meta.get('env')!r} data, not pusht")
    parts = []
    for s in meta["shards"]:
        try:
            with np.load(directory / s["file"], allow_pickle=False) as f:
                parts.append(f["states"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise DatasetError(f"corrupt or unreadable PushT shard {directory / s['file']}: {e}") from e
    return np.concatenate(parts)


class PushTWindows:
    """Random windows of ``length`` frames from PushT trajectories: ``windows(step)`` is a batch of B."""

    def __init__(self, data: PushTTrajectories | str | Path, batch_size: int, length: int, seed: int = 0):
        self.data = data if isinstance(data, PushTTrajectories) else load_pusht_dataset(Path(data))[0]
        have = self.data.states.shape[1]
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 2 <= length <= have:
            raise ValueError(f"window length must be in [2, {have}] (the trajectories' frames), got {length}")
        self.batch_size, self.length, self.seed = batch_size, length, seed
        self.per_traj = have - length + 1
        self.epochs = EpochStream(self.data.states.shape[0] * self.per_traj, batch_size, seed)
        self.shard = StreamShard()

    def set_shard(self, shard: StreamShard) -> None:
        """Read this rank's chunks of the stream (``data/sharding.py``)."""
        self.shard = shard

    def indices(self, step: int) -> Tensor:
        """The windows (B,) of step ``step``: window ``i`` starts at frame ``i % per_traj`` of trajectory
        ``i // per_traj``."""
        return self.epochs.indices(self.shard.chunk(step))

    def __call__(self, step: int) -> dict[str, Tensor]:
        idx = self.indices(step)
        rows, t0 = (idx // self.per_traj).numpy(), (idx % self.per_traj).numpy()
        frames = t0[:, None] + np.arange(self.length)  # (B, L)
        obs = torch.from_numpy(self.data.obs[rows[:, None], frames]).float() / 255.0  # (B, L, 3, S, S)
        states = torch.from_numpy(self.data.states[rows[:, None], frames])  # (B, L, 5)
        actions = torch.from_numpy(self.data.actions[rows[:, None], frames[:, :-1]])  # (B, L - 1, 2)
        return {"obs": obs, "actions": actions, "positions": states[..., :2].clone(), "states": states}
