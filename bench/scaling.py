"""Benchmark: training throughput of 1 and 2 data-parallel processes on this machine.

Each (preset, processes x threads) configuration trains the preset's default model and batch (per process)
from scratch for ``--steps`` optimizer steps through the real command line (``jepa-world train --nproc N``,
``OMP_NUM_THREADS`` and ``train.threads`` set to the threads per process), logging every step. The step
time is read from the run's own ``metrics.jsonl`` (``train/steps_per_s`` of each step: data, forward,
backward, gradient all-reduce, optimizer); the first ``--warmup`` steps are dropped and the median of the
rest is reported, with samples/s = processes x per-process batch / median step time. With more processes
the global batch grows (the per-process batch is the preset's), as with ``--nproc``.

Usage:
    python bench/scaling.py [--presets vicreg-digits,two-rooms-generic] [--configs 1x2,1x1,2x1]
                            [--steps 12] [--warmup 2] [--out runs/bench_scaling]

``--configs`` lists PROCESSESxTHREADS. Prints one line per configuration, then one JSON object on its last
line: ``{"machine", "steps", "warmup", "presets": {preset: {"batch_per_process", "configs": {"PxT":
{"processes", "threads", "median_step_s", "samples_per_s", "steps_timed", "wall_s"}}, "ratio_2x1_vs_1x2",
"ratio_2x1_vs_1x1"}}}`` (samples/s of 2 processes x 1 thread over that of 1 process x 2 threads, or x 1 thread,
when both ran).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from jepa_world.train import read_metrics

QUIET = ["train.progress=false", "train.tensorboard=false", "train.log_every=1", "train.resume=false",
         "train.time_budget_s=0", "train.warmup_steps=1"]


def machine() -> dict:
    """The machine and its load when the benchmark started (other processes share the CPUs)."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch": torch.__version__, "load_avg_1_5_15": list(os.getloadavg())}


def train_run(preset: str, processes: int, threads: int, steps: int, run_dir: Path) -> float:
    """Train ``preset`` for ``steps`` steps with ``processes`` x ``threads`` into ``run_dir``; wall seconds."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cmd = [sys.executable, "-m", "jepa_world.cli", "train", "--preset", preset, "--run-dir", str(run_dir),
           "--nproc", str(processes), *QUIET, f"train.steps={steps}", f"train.threads={threads}",
           f"train.ckpt_every={steps + 1}", f"train.diag_every={steps + 1}"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def step_times(run_dir: Path, warmup: int) -> tuple[list[float], int]:
    """(seconds of each logged step after the warm-up, the per-process batch size) from the run's files."""
    config = json.loads((run_dir / "run.json").read_text())["settings"]
    rates = [e["metrics"]["train/steps_per_s"] for e in read_metrics(run_dir / "metrics.jsonl")
             if "train/steps_per_s" in e["metrics"] and e["step"] > warmup]
    return [1.0 / r for r in rates], int(config["batch_size"])


def measure(preset: str, spec: str, args: argparse.Namespace) -> tuple[dict, int]:
    """One configuration ``PxT`` of ``preset``: its row of the JSON output and the per-process batch."""
    processes, threads = (int(x) for x in spec.lower().split("x"))
    run_dir = args.out / f"{preset}-{spec}"
    wall = train_run(preset, processes, threads, args.steps, run_dir)
    times, batch = step_times(run_dir, args.warmup)
    median = statistics.median(times)
    row = {"processes": processes, "threads": threads, "median_step_s": round(median, 4),
           "samples_per_s": round(processes * batch / median, 1), "steps_timed": len(times), "wall_s": round(wall, 1)}
    print(f"{preset} {spec}: {row}", flush=True)
    return row, batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="vicreg-digits,two-rooms-generic")
    ap.add_argument("--configs", default="1x2,1x1,2x1", help="PROCESSESxTHREADS, comma-separated")
    ap.add_argument("--steps", type=int, default=12, help="optimizer steps per configuration")
    ap.add_argument("--warmup", type=int, default=2, help="first steps not timed")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_scaling"))
    args = ap.parse_args()
    if args.steps <= args.warmup:
        raise SystemExit(f"--steps ({args.steps}) must exceed --warmup ({args.warmup})")
    out = {"machine": machine(), "steps": args.steps, "warmup": args.warmup, "presets": {}}
    for preset in args.presets.split(","):
        rows, batch = {}, 0
        for spec in args.configs.split(","):
            rows[spec], batch = measure(preset, spec, args)
        entry = {"batch_per_process": batch, "configs": rows}
        for base in ("1x2", "1x1"):
            if {"2x1", base} <= set(rows):
                entry[f"ratio_2x1_vs_{base}"] = round(rows["2x1"]["samples_per_s"] / rows[base]["samples_per_s"], 3)
        out["presets"][preset] = entry
    out["machine"]["load_avg_after"] = list(os.getloadavg())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
