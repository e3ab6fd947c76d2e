"""Trajectory shards on disk: compressed ``.npz`` files plus a ``meta.json`` written last.

A dataset directory holds ``shard-00000.npz, ...`` and ``meta.json``. Each shard stores the state
of its trajectories (positions float32, actions float32, layout uint8, steered bool) and, with
``store_obs=True``, the uint8 observations too. Observations are a deterministic rendering of
state + layout, so state-only shards are exact and ~1,000x smaller (100k x 17-frame trajectories:
~25 MB instead of 14 GB of uint8 pixels); the dataset renders them on load.

Writing goes to a hidden sibling directory that is renamed into place at the end, so an
interrupted or failed run never leaves a half-written dataset at ``out``. ``overwrite=True`` replaces
only a dataset this project wrote (a directory with a readable ``meta.json``), never another folder.
Shard names in ``meta.json`` must be plain file names inside the dataset directory (no ``../x``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepa_world.data.two_rooms_gen import Trajectories
from jepa_world.errors import DatasetError

FORMAT_VERSION = 1
META = "meta.json"
_KEYS = ("positions", "actions", "wall_x", "door_y", "steered")


@dataclass
class ShardWriter:
    """Writes shards into a temporary directory; :meth:`commit` moves it to ``out`` atomically."""

    out: Path
    meta: dict[str, Any]
    store_obs: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        _check_replaceable(self.out, self.overwrite)
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = _partial_dir(self.out)
        except OSError as e:
            raise DatasetError(f"cannot write to {self.out}: {e.strerror or e}") from e
        self.shards: list[dict[str, Any]] = []

    def write(self, traj: Trajectories, obs: torch.Tensor | None = None) -> None:
        """Append one shard; obs (N, T+1, 2, 65, 65) uint8 is required iff store_obs."""
        if self.store_obs != (obs is not None):
            raise ValueError("pass obs exactly when the writer stores observations")
        arrays = {
            "positions": traj.positions.numpy(),
            "actions": traj.actions.numpy(),
            "wall_x": traj.wall_x.to(torch.uint8).numpy(),
            "door_y": traj.door_y.to(torch.uint8).numpy(),
            "steered": traj.steered.numpy(),
        }
        if obs is not None:
            arrays["obs"] = obs.numpy()
        self.write_arrays(arrays, num=len(traj))

    def write_arrays(self, arrays: dict[str, np.ndarray], *, num: int) -> None:
        """Append one shard of ``num`` trajectories given as named arrays (leading dimension ``num``)."""
        name = f"shard-{len(self.shards):05d}.npz"
        np.savez_compressed(self.tmp / name, **arrays)
        self.shards.append({"file": name, "num": num})

    def commit(self) -> Path:
        """Write meta.json and move the finished dataset to ``out``."""
        meta = dict(self.meta, format_version=FORMAT_VERSION, store_obs=self.store_obs,
                    num=sum(s["num"] for s in self.shards), shards=self.shards)
        (self.tmp / META).write_text(json.dumps(meta, indent=2))
        _check_replaceable(self.out, self.overwrite)
        if self.out.exists():
            shutil.rmtree(self.out)
        os.replace(self.tmp, self.out)
        return self.out

    def abort(self) -> None:
        """Remove the partial output."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _partial_dir(out: Path) -> Path:
    """A new hidden sibling of ``out`` with the mode ``mkdir`` gives (0777 minus the umask, not mkdtemp's 0700)."""
    for _ in range(100):
        tmp = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{out.parent}: no free temporary name for {out.name}")


def _check_replaceable(out: Path, overwrite: bool) -> None:
    """``out`` may be written: absent, an empty directory, or (with overwrite) a dataset of ours."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DatasetError(f"{out} exists and is not a directory; refusing to replace it")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise DatasetError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    try:
        read_meta(out)
    except DatasetError as e:
        raise DatasetError(f"refusing to --overwrite {out}: it is not a jepa-world dataset ({e})") from e


def read_meta(directory: Path) -> dict[str, Any]:
    """The dataset's meta.json, with a clear error when it is missing or unreadable."""
    path = Path(directory) / META
    if not path.is_file():
        raise DatasetError(f"{directory} is not a jepa-world dataset (no {META}); "
                           "create one with `jepa-world data generate`")
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        got = meta.get("format_version") if isinstance(meta, dict) else type(meta).__name__
        raise DatasetError(f"{path}: format_version {got!r}, expected {FORMAT_VERSION}")
    _check_shard_entries(path, meta.get("shards"))
    return meta


def _check_shard_entries(path: Path, shards: Any) -> None:
    """Each shard is ``{"file": plain name inside the dataset, "num": int >= 0}``."""
    if not isinstance(shards, list):
        raise DatasetError(f"{path}: 'shards' must be a list, got {type(shards).__name__}")
    for entry in shards:
        name = entry.get("file") if isinstance(entry, dict) else None
        num = entry.get("num") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _plain_name(name):
            raise DatasetError(f"{path}: shard file {name!r} must be a plain file name inside the dataset "
                               "directory (no folders, no '..')")
        if not isinstance(num, int) or isinstance(num, bool) or num < 0:
            raise DatasetError(f"{path}: shard {name!r} needs an int 'num' >= 0, got {num!r}")


def _plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name and Path(name).name == name


def load_shard(path: Path, *, expect_num: int | None = None, with_obs: bool = False) -> dict[str, np.ndarray]:
    """Load one shard fully into memory; any corruption raises DatasetError naming the file."""
    keys = _KEYS + (("obs",) if with_obs else ())
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"corrupt or unreadable shard {path}: {type(e).__name__}: {e}") from e
    n = arrays["positions"].shape[0]
    if expect_num is not None and n != expect_num:
        raise DatasetError(f"shard {path} holds {n} trajectories, meta.json says {expect_num}")
    if arrays["actions"].shape[:2] != (n, arrays["positions"].shape[1] - 1):
        raise DatasetError(f"shard {path}: actions {arrays['actions'].shape} do not match "
                           f"positions {arrays['positions'].shape}")
    return arrays


def load_trajectories(directory: Path) -> tuple[Trajectories, dict[str, Any]]:
    """All trajectories of a dataset directory (state only) and its meta."""
    directory = Path(directory)
    meta = read_meta(directory)
    parts = [load_shard(directory / s["file"], expect_num=s["num"]) for s in meta["shards"]]
    return shard_trajectories({k: np.concatenate([p[k] for p in parts]) for k in _KEYS}), meta


def shard_trajectories(arrays: dict[str, np.ndarray]) -> Trajectories:
    """The arrays of :func:`load_shard` (or several concatenated) as Trajectories (layouts as int64)."""
    return Trajectories(
        positions=torch.from_numpy(arrays["positions"]),
        actions=torch.from_numpy(arrays["actions"]),
        wall_x=torch.from_numpy(arrays["wall_x"].astype(np.int64)),
        door_y=torch.from_numpy(arrays["door_y"].astype(np.int64)),
        steered=torch.from_numpy(arrays["steered"]),
    )


def iter_shard_obs(directory: Path) -> Iterator[np.ndarray]:
    """The stored uint8 observations shard by shard (datasets written with store_obs)."""
    meta = read_meta(directory)
    if not meta.get("store_obs"):
        raise DatasetError(f"{directory} stores state only; observations are rendered on load")
    for s in meta["shards"]:
        yield load_shard(Path(directory) / s["file"], expect_num=s["num"], with_obs=True)["obs"]
