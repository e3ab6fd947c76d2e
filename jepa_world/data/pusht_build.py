"""Write a PushT exploration dataset to disk (``jepa-world data generate --env pusht``), with a progress bar.

Shards hold ``obs`` (uint8 frames), ``actions`` and ``states`` (see :mod:`jepa_world.data.pusht_gen`),
written by :class:`~jepa_world.data.shards.ShardWriter`: an interrupted run leaves nothing at ``out``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from jepa_world.data.build import shard_seed
from jepa_world.data.pusht_gen import PushTDataConfig, generate
from jepa_world.data.shards import ShardWriter
from jepa_world.envs.pusht.package import make_pusht_env

ENV = "pusht"
"""The name users type for this dataset's environment."""


def build_pusht_dataset(out: str | Path, *, num: int, config: PushTDataConfig, seed: int = 0, shard_size: int = 100,
                        overwrite: bool = False, progress: bool = True) -> Path:
    """Write ``num`` trajectories to ``out`` in shards of ``shard_size``; nothing is left at ``out`` unless it
    completes."""
    if num < 1:
        raise ValueError(f"--num must be a positive number of trajectories, got {num}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    config.validate()
    env = make_pusht_env()  # a missing extra fails here, before anything is written
    meta = {"env": ENV, "seed": seed, "shard_size": shard_size, "config": asdict(config),
            "arrays": {"obs": "uint8 (N, T+1, 3, S, S)", "actions": "float32 (N, T, 2)",
                       "states": "float32 (N, T+1, 5) agent x, y, block x, y, angle"}}
    writer = ShardWriter(Path(out), meta, store_obs=True, overwrite=overwrite)
    try:
        with tqdm(total=num, unit="traj", disable=not progress, desc=f"generating {ENV}") as bar:
            for index, start in enumerate(range(0, num, shard_size)):
                n = min(shard_size, num - start)
                traj = generate(n, config, seed=shard_seed(seed, index), env=env, on_trajectory=lambda: bar.update(1))
                writer.write_arrays({"obs": traj.obs, "actions": traj.actions, "states": traj.states}, num=n)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
