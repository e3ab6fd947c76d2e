"""The one sharding rule of every batch source: which part of the global stream a data-parallel rank reads.

A run consumes a global stream of *chunks*; chunk ``c`` is one process's batch of B samples, at stream
positions ``[c B, (c + 1) B)``. At optimizer step ``s`` the W ranks read the W consecutive chunks after
those of the earlier steps, rank ``r`` the ``r``-th of them:

    chunk(s, r) = start_chunk + (s - start_step) * W + r

``(start_step, start_chunk)`` is where the current session joined the stream: ``(0, 0)`` for a fresh run,
``(checkpoint step, chunks consumed)`` for a resumed one. The stream position is therefore a count of
samples, not of steps, and does not depend on the number of processes: a 2-process run resumed with 1
process (or the reverse) continues the same stream, with no chunk read twice and none skipped. With one
process and a fresh start, ``chunk(s) = s``.

What a chunk holds depends on the source:

* generated streams (Two Rooms, maze, moving digits) seed chunk ``c``'s generator from ``(seed, c)``:
  distinct ranks, steps and sessions never draw the same stream;
* finite datasets (images, feature caches, Moving MNIST, trajectory shards) read positions
  ``[c B, (c + 1) B)`` of :class:`EpochStream`: epoch ``e`` (positions ``[e N, (e + 1) N)``) is a
  permutation of the N samples seeded by ``(seed, e)``. Within an epoch no sample is read twice, by one rank
  or by two, and every sample is read once. Remainder rule: nothing is dropped or padded; a chunk that
  crosses an epoch's end takes the epoch's last samples and the next epoch's first ones.

Examples:
    >>> shard = StreamShard(rank=1, world_size=2)
    >>> [shard.chunk(s) for s in range(3)]
    [1, 3, 5]
    >>> resumed = StreamShard(rank=0, world_size=1, start_step=3, start_chunk=shard.chunks_before(3))
    >>> [resumed.chunk(s) for s in (3, 4)]
    [6, 7]
    >>> stream = EpochStream(n=5, batch_size=2, seed=0)
    >>> sorted(torch.cat([stream.indices(0), stream.indices(1)]).tolist() + stream.indices(2)[:1].tolist())
    [0, 1, 2, 3, 4]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.data.seeds import mixed_seed


@dataclass(frozen=True)
class StreamShard:
    """This process's share of the global chunk stream (rule in the module docstring)."""

    rank: int = 0
    """This process's rank, 0 <= rank < world_size."""
    world_size: int = 1
    """Number of data-parallel processes."""
    start_step: int = 0
    """The optimizer step at which this session joined the stream (the resumed checkpoint's step, else 0)."""
    start_chunk: int = 0
    """Chunks the whole run consumed before ``start_step`` (all ranks, all earlier sessions)."""

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"StreamShard needs 0 <= rank < world_size, got rank={self.rank}, "
                             f"world_size={self.world_size}")
        if self.start_step < 0 or self.start_chunk < 0:
            raise ValueError(f"StreamShard needs start_step, start_chunk >= 0, got {self.start_step}, "
                             f"{self.start_chunk}")

    def chunk(self, step: int) -> int:
        """The chunk this rank reads at optimizer step ``step`` (>= start_step)."""
        if step < self.start_step:
            raise ValueError(f"step {step} is before this session's first step {self.start_step}; "
                             "its chunk belongs to an earlier session")
        return self.chunks_before(step) + self.rank

    def chunks_before(self, step: int) -> int:
        """Chunks all ranks consumed before optimizer step ``step`` (the stream position to checkpoint)."""
        return self.start_chunk + (step - self.start_step) * self.world_size


class EpochStream:
    """Sample indices of chunk ``c``: positions ``[c B, (c + 1) B)`` of concatenated seeded permutations of N.

    ``indices(c)`` is a pure function of ``(n, batch_size, seed, c)``; a few epochs' permutations are cached.
    """

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        if n < 1 or batch_size < 1:
            raise ValueError(f"a batch source needs >= 1 sample and batch_size >= 1, got {n} and {batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self._cache: dict[int, Tensor] = {}

    def permutation(self, epoch: int) -> Tensor:
        """The order (N,) of the samples in epoch ``epoch``."""
        if epoch not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            g = torch.Generator().manual_seed(mixed_seed(self.seed, epoch, 0xE90C))
            self._cache[epoch] = torch.randperm(self.n, generator=g)
        return self._cache[epoch]

    def positions(self, chunk: int) -> tuple[Tensor, Tensor]:
        """(epochs (B,), offsets (B,)) of chunk ``chunk``'s stream positions."""
        if chunk < 0:
            raise ValueError(f"chunk must be >= 0, got {chunk}")
        pos = torch.arange(chunk * self.batch_size, (chunk + 1) * self.batch_size)
        return pos // self.n, pos % self.n

    def indices(self, chunk: int) -> Tensor:
        """Sample indices (B,) of chunk ``chunk``."""
        epochs, offsets = self.positions(chunk)
        out = torch.empty(self.batch_size, dtype=torch.long)
        for e in epochs.unique().tolist():
            sel = epochs == e
            out[sel] = self.permutation(e)[offsets[sel]]
        return out
