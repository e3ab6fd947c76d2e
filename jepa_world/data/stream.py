"""An infinite on-the-fly stream of Two Rooms training batches, deterministic per step."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from jepa_world.data.sharding import StreamShard
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
from jepa_world.envs.two_rooms.render import render_trajectories


class TwoRoomsStream:
    """Fresh trajectories for every step: ``stream(step)`` is the same batch for the same (seed, step).

    Batch: dict(obs (B, T+1, 2, 65, 65) float32, actions (B, T, 2), positions (B, T+1, 2)).
    Being a pure function of the step's chunk (``data/sharding.py``), it resumes exactly after an interruption,
    also with another number of processes.
    """

    def __init__(self, batch_size: int, config: TwoRoomsDataConfig | None = None, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.config = config or TwoRoomsDataConfig()
        self.config.validate()
        self.seed = seed
        self.shard = StreamShard()

    def set_shard(self, shard: StreamShard) -> None:
        """Read this rank's chunks of the stream (``data/sharding.py``): its generators are seeded by chunk."""
        self.shard = shard

    def __call__(self, step: int) -> dict[str, Tensor]:
        chunk = self.shard.chunk(step)  # = step for one process; the 0 keeps the seeds of earlier runs
        g = torch.Generator().manual_seed(hash((self.seed, chunk, 0)) & (2**62 - 1))
        traj = generate(self.batch_size, self.config, generator=g)
        obs = render_trajectories(traj.positions, traj.wall_x, traj.door_y, walls=traj.walls)
        return {"obs": obs, "actions": traj.actions, "positions": traj.positions}

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        step = 0
        while True:
            yield self(step)
            step += 1
