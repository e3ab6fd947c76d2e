"""Does channels_last pay for the generic world model on this CPU? One training step (forward + backward) of
``two-rooms-generic`` (batch 32, 1 thread), NCHW vs channels_last weights, interleaved 4 times; median seconds.

    OMP_NUM_THREADS=1 python bench/channels_last.py
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from jepa_world.presets.world_model import build_world_model_run, generic_config

FORMATS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def seconds_per_step(method: torch.nn.Module, batch: dict, steps: int = 2) -> float:
    """Mean wall seconds of ``steps`` forward + backward passes, after one untimed pass."""
    def step() -> None:
        loss, _ = method.training_step(batch, 0)
        loss.backward()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    torch.set_num_threads(1)
    cfg = generic_config()
    cfg.batch_size = 32
    spec = build_world_model_run(cfg)
    batch = spec.source(0)
    times: dict[str, list[float]] = {name: [] for name in FORMATS}
    for _ in range(4):
        for name, memory_format in FORMATS.items():
            spec.method.to(memory_format=memory_format)
            times[name].append(seconds_per_step(spec.method, batch))
    print(json.dumps({name: round(statistics.median(t), 3) for name, t in times.items()}))


if __name__ == "__main__":
    main()
