"""Generate a trajectory dataset to disk, shard by shard, with a progress bar."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from jepa_world.data.shards import ShardWriter
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
from jepa_world.envs.two_rooms.render import render_trajectories

ENVS = ("two-rooms",)
"""Environments whose offline data can be generated."""


def shard_seed(seed: int, index: int) -> int:
    """Seed of shard ``index``: shards are independent and reproducible."""
    return (seed * 1_000_003 + index) & (2**62 - 1)


def build_dataset(
    out: str | Path,
    *,
    num: int,
    config: TwoRoomsDataConfig,
    seed: int = 0,
    shard_size: int = 10_000,
    store_obs: bool = False,
    overwrite: bool = False,
    env: str = "two-rooms",
    progress: bool = True,
) -> Path:
    """Write ``num`` trajectories to ``out``; nothing is left at ``out`` unless it completes."""
    if env not in ENVS:
        raise ValueError(f"unknown env {env!r}; valid: {', '.join(ENVS)}")
    if num < 1:
        raise ValueError(f"--num must be a positive number of trajectories, got {num}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    config.validate()
    meta = {"env": env, "seed": seed, "shard_size": shard_size, "config": asdict(config)}
    writer = ShardWriter(Path(out), meta, store_obs=store_obs, overwrite=overwrite)
    try:
        with tqdm(total=num, unit="traj", disable=not progress, desc=f"generating {env}") as bar:
            for index, start in enumerate(range(0, num, shard_size)):
                n = min(shard_size, num - start)
                traj = generate(n, config, generator=torch.Generator().manual_seed(shard_seed(seed, index)))
                obs = (render_trajectories(traj.positions, traj.wall_x, traj.door_y, dtype=torch.uint8,
                                           walls=traj.walls)
                       if store_obs else None)
                writer.write(traj, obs)
                bar.update(n)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
