"""Benchmark: does a DataLoader with a worker process pay for the streaming shard reader?

Builds a Two Rooms shard dataset (state only) of windows the generic world model trains on, then times
``--steps`` training steps of the ``two-rooms-generic`` model (forward, backward, AdamW) fed by
:class:`~jepa_world.data.shard_stream.ShardWindowStream` in three ways:

* ``inline``: ``batch = stream(step)`` in the training process (read-ahead thread for the shards);
* ``worker``: a ``torch.utils.data.DataLoader`` with ``--workers`` worker processes producing the same batches;
* ``data_only``: the stream alone, no training (its share of a step is the most a worker could hide).

Usage:
    python bench/shard_stream.py [--trajectories 4000] [--shard-size 500] [--steps 12] [--warmup 2]
                                 [--threads 1] [--workers 1] [--out runs/bench_shard_stream]

Prints one JSON object: ``{"machine", "threads", "workers", "batch", "window", "median_s": {"inline",
"worker", "data_only"}, "data_share_of_inline_step", "worker_speedup"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, IterableDataset

from jepa_world.config import apply_overrides
from jepa_world.data.build import build_dataset
from jepa_world.data.shard_stream import ShardWindowStream
from jepa_world.presets import get_preset


class _Batches(IterableDataset):
    """``stream(first), stream(first + 1), ...`` for a DataLoader worker (the stream is opened in the worker)."""

    def __init__(self, directory: Path, window: int, batch: int, first: int, count: int) -> None:
        self.directory, self.window, self.batch, self.first, self.count = directory, window, batch, first, count

    def __iter__(self):
        stream = ShardWindowStream(self.directory, window=self.window, batch_size=self.batch, seed=0)
        try:
            for step in range(self.first, self.first + self.count):
                yield stream(step)
        finally:
            stream.close()


def _timed(batches, step_fn, warmup: int) -> float:
    """Median seconds per step of ``step_fn(batch)`` over ``batches`` (fetch included), warm-up dropped."""
    times, last = [], time.perf_counter()
    for batch in batches:
        step_fn(batch)
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return statistics.median(times[warmup:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=4000)
    ap.add_argument("--shard-size", type=int, default=500)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_shard_stream"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    preset = get_preset("two-rooms-generic")
    cfg = apply_overrides(preset.config(), [])
    spec = preset.build(cfg)
    method, window, batch = spec.method, cfg.data.length - 1, cfg.batch_size
    if args.out.exists():
        shutil.rmtree(args.out)
    data = build_dataset(args.out / "data", num=args.trajectories, config=cfg.data, shard_size=args.shard_size,
                         progress=False)
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-4)

    def train_step(b):
        loss, _ = method.training_step(b, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    stream = ShardWindowStream(data, window=window, batch_size=batch, seed=0)
    n = args.steps
    inline = _timed((stream(s) for s in range(n)), train_step, args.warmup)
    data_only = _timed((stream(s) for s in range(n, 2 * n)), lambda b: None, args.warmup)
    stream.close()
    loader = DataLoader(_Batches(data, window, batch, 2 * n, n), batch_size=None, num_workers=args.workers,
                        prefetch_factor=2, persistent_workers=False)
    worker = _timed(iter(loader), train_step, args.warmup)
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "load_avg_1_5_15": list(os.getloadavg()),
                                  "torch": torch.__version__},
                      "threads": args.threads, "workers": args.workers, "batch": batch, "window": window,
                      "median_s": {"inline": round(inline, 4), "worker": round(worker, 4),
                                   "data_only": round(data_only, 4)},
                      "data_share_of_inline_step": round(data_only / inline, 3),
                      "worker_speedup": round(inline / worker, 3)}))


if __name__ == "__main__":
    main()
