"""Benchmark: Two Rooms trajectory generation (17 frames, 2x65x65, uint8 observations materialised).

Usage: python bench/data_two_rooms.py [--seconds 20] [--batch 4096] [--threads 0]
Prints progress lines, then one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
from jepa_world.envs.two_rooms.render import render_trajectories


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0, help="wall-clock budget")
    ap.add_argument("--batch", type=int, default=4096, help="trajectories per generate() call")
    ap.add_argument("--length", type=int, default=17, help="frames per trajectory")
    ap.add_argument("--fresh", action="store_true", help="allocate a new output tensor per batch")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TwoRoomsDataConfig(length=args.length)
    g = torch.Generator().manual_seed(0)
    generate(256, cfg, generator=g)  # warm-up
    # one reused output buffer, as a streaming consumer would use (fresh pages cost more than rendering)
    buf = torch.empty(args.batch, args.length, 2, 65, 65, dtype=torch.uint8)
    rates, gen_only, total, start = [], [], 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        t0 = time.perf_counter()
        traj = generate(args.batch, cfg, generator=g)
        t1 = time.perf_counter()
        obs = render_trajectories(traj.positions, traj.wall_x, traj.door_y, dtype=torch.uint8,
                                   out=None if args.fresh else buf)
        t2 = time.perf_counter()
        assert obs.shape == (args.batch, args.length, 2, 65, 65)
        rates.append(args.batch / (t2 - t0))
        gen_only.append(args.batch / (t1 - t0))
        total += args.batch
        print(f"batch {len(rates)}: {rates[-1]:,.0f} traj/s", flush=True)
    elapsed = time.perf_counter() - start
    result = {
        "traj_per_s": round(total / elapsed),
        "traj_per_s_median_batch": round(statistics.median(rates)),
        "frames_per_s": round(total * args.length / elapsed),
        "state_only_traj_per_s_median": round(statistics.median(gen_only)),
        "trajectories": total,
        "seconds": round(elapsed, 2),
        "batch": args.batch,
        "length": args.length,
        "threads": torch.get_num_threads(),
        "reused_buffer": not args.fresh,
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
