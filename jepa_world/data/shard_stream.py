"""Windows of a trajectory dataset on disk, read shard by shard with a bounded read-ahead: ``stream(step) -> batch``.

For datasets larger than memory (or than one process should hold): only the shards the current and the next
batches need are resident (:class:`~jepa_world.data.shard_prefetch.Prefetcher`, one background thread), and
observations are rendered from the stored state as in
:class:`~jepa_world.data.trajectory_dataset.TrajectoryWindows`.

The samples are the N windows of ``window`` steps of every trajectory. Epoch ``e`` orders them by shards:
the shards in an order seeded by ``(seed, e)``, and within each shard its windows in an order seeded by
``(seed, e, shard)``, so an epoch is a permutation of the N windows that reads one shard at a time. Step
``s`` reads positions ``[c B, (c + 1) B)`` of the endless stream of epochs, ``c`` the step's chunk of
``data/sharding.py``: under DDP no window is read by two ranks in an epoch, every window is read once per
epoch (the remainder rule of ``data/sharding.py``), and the position survives a change of the number of
processes. Every rank passes through every shard (the stored state is ~250 bytes per trajectory) and renders
only its own windows.

Examples:
    >>> import tempfile, torch
    >>> from jepa_world.data.build import build_dataset
    >>> from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = build_dataset(tmp + "/d", num=6, config=TwoRoomsDataConfig(length=5), shard_size=4, progress=False)
    ...     stream = ShardWindowStream(out, window=2, batch_size=4)
    ...     print(len(stream), tuple(stream(0)["obs"].shape))
    ...     stream.close()
    18 (4, 3, 2, 65, 65)
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from jepa_world.data.seeds import mixed_seed
from jepa_world.data.shard_prefetch import Prefetcher
from jepa_world.data.sharding import StreamShard
from jepa_world.data.shards import load_shard, read_meta, shard_trajectories
from jepa_world.data.trajectory_dataset import window_batch
from jepa_world.data.two_rooms_gen import Trajectories
from jepa_world.errors import DatasetError


class ShardWindowStream:
    """``stream(step) -> dict(obs (B, W+1, 2, 65, 65) float32, actions (B, W, 2), positions (B, W+1, 2))``.

    ``prefetch`` shards are read ahead in the background (0: read on demand).
    """

    def __init__(self, directory: str | Path, *, window: int, batch_size: int, seed: int = 0,
                 prefetch: int = 1) -> None:
        self.directory = Path(directory)
        meta = read_meta(self.directory)
        config = meta.get("config") or {}
        self.steps = int(config.get("length", 0)) - 1
        if not 1 <= window <= self.steps:
            raise ValueError(f"window must be in [1, {self.steps}] for trajectories of {self.steps} steps, "
                             f"got {window}")
        if batch_size < 1 or prefetch < 0:
            raise ValueError(f"need batch_size >= 1 and prefetch >= 0, got {batch_size} and {prefetch}")
        self.window, self.batch_size, self.seed = window, batch_size, seed
        self.walls = config.get("walls", "arena")
        self.entries = meta["shards"]
        self.per_traj = self.steps - window + 1
        self.counts = torch.tensor([e["num"] * self.per_traj for e in self.entries], dtype=torch.long)  # (S,)
        self.starts = torch.cumsum(self.counts, 0) - self.counts  # (S,) first global window of each shard
        if int(self.counts.sum()) < 1:
            raise DatasetError(f"{self.directory} holds no trajectories")
        self.shard = StreamShard()
        self.reader: Prefetcher[Trajectories] = Prefetcher(self._load, capacity=prefetch + 2)
        self.prefetch = prefetch
        self._orders: dict[tuple[int, int], Tensor] = {}

    def __len__(self) -> int:
        return int(self.counts.sum())

    def set_shard(self, shard: StreamShard) -> None:
        """Read this rank's chunks of the stream (``data/sharding.py``)."""
        self.shard = shard

    def locate(self, step: int) -> tuple[Tensor, Tensor]:
        """(shard (B,), window within the shard (B,)) of step ``step``'s samples, in stream order."""
        shards, local, _ = self._place(step)
        return shards, local

    def _place(self, step: int) -> tuple[Tensor, Tensor, tuple[int, int]]:
        """locate(step) and (epoch, place in that epoch's shard order) of the step's last sample."""
        chunk = self.shard.chunk(step)
        pos = torch.arange(chunk * self.batch_size, (chunk + 1) * self.batch_size)
        epochs, offsets = pos // len(self), pos % len(self)
        shards, local = torch.empty_like(pos), torch.empty_like(pos)
        last = (0, 0)
        for e in epochs.unique().tolist():
            sel = epochs == e
            order = self._shard_order(e)  # (S,)
            ends = torch.cumsum(self.counts[order], 0)  # (S,) in epoch order
            k = torch.searchsorted(ends, offsets[sel], right=True)  # (b,) place in the epoch's shard order
            within = offsets[sel] - (ends[k] - self.counts[order[k]])  # (b,)
            picked = torch.empty_like(within)
            for place in k.unique().tolist():
                at = k == place
                picked[at] = self._window_order(e, int(order[place]))[within[at]]
            shards[sel], local[sel] = order[k], picked
            last = (e, int(k[-1]))
        return shards, local, last

    def indices(self, step: int) -> Tensor:
        """Global window indices (B,) of step ``step`` (shards in file order, windows row-major)."""
        shards, local = self.locate(step)
        return self.starts[shards] + local

    def __call__(self, step: int) -> dict[str, Tensor]:
        shards, local, last = self._place(step)
        parts = []
        for j, n in zip(*torch.unique_consecutive(shards, return_counts=True), strict=True):
            traj = self.reader.get(int(j))
            mine, local = local[:n], local[n:]
            parts.append(window_batch(traj, mine // self.per_traj, mine % self.per_traj, self.window))
        self.reader.ahead(self._next_shards(last))
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def close(self) -> None:
        """Stop the read-ahead thread."""
        self.reader.close()

    def _shard_order(self, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(mixed_seed(self.seed, epoch, 0x5AD0))
        return torch.randperm(len(self.entries), generator=g)

    def _window_order(self, epoch: int, shard: int) -> Tensor:
        key = (epoch, shard)
        if key not in self._orders:
            if len(self._orders) >= 2 * (self.prefetch + 2):
                self._orders.clear()
            g = torch.Generator().manual_seed(mixed_seed(self.seed, epoch, shard, 0x3E11))
            self._orders[key] = torch.randperm(int(self.counts[shard]), generator=g)
        return self._orders[key]

    def _next_shards(self, last: tuple[int, int]) -> list[int]:
        """Up to ``prefetch`` non-empty shards after place ``last = (epoch, k)`` of the epoch orders."""
        epoch, k = last
        following = torch.cat([self._shard_order(epoch)[k + 1:], self._shard_order(epoch + 1)]).tolist()
        return [j for j in following if self.counts[j] > 0][: self.prefetch]

    def _load(self, index: int) -> Trajectories:
        entry = self.entries[index]
        traj = shard_trajectories(load_shard(self.directory / entry["file"], expect_num=entry["num"]))
        if traj.actions.shape[1] != self.steps:
            raise DatasetError(f"{self.directory / entry['file']}: trajectories of {traj.actions.shape[1]} steps, "
                               f"meta.json says {self.steps}")
        traj.walls = self.walls
        return traj
