"""Benchmark: train the default video JEPA (`--preset video-digits`), then probe it at every horizon.

Usage: python bench/video_jepa.py [--threads 2] [--run-dir runs/bench-video] [--fresh] [--skip-train]
                                  [--eval-clips 256] [key=value preset overrides ...]
Trains the preset with the one training loop (resuming the run dir if it holds a checkpoint; --fresh
deletes it first) and reports the training throughput in clips/s (10-frame 64x64 clips; the median of
the loop's logged rate, and steps x batch / training wall time), the peak resident memory of the
process during training and overall, then runs `eval-video` (probe AP and location error per horizon
for the predictions, copy-last, a random-init model and the encoded true frames) and writes the
horizon PNG and the rollout GIF into the run dir. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from run_args import add_run_arguments, prepare_run

from jepa_world.config import apply_overrides
from jepa_world.presets import get_preset
from jepa_world.runs.video_run import VideoEvalConfig, eval_video_run
from jepa_world.train import read_metrics, train


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 30) if sys.platform == "darwin" else peak / (1 << 20)


def train_default(run_dir: Path, overrides: list[str]) -> dict:
    """Train the default preset; returns throughput and what the run reported."""
    preset = get_preset("video-digits")
    cfg = apply_overrides(preset.config(), overrides)
    spec = preset.build(cfg)
    t0 = time.perf_counter()
    result = train(spec.method, spec.source, spec.train, run_dir=run_dir, kind=spec.kind,
                   model_config=spec.model_config, batch_size=spec.batch_size)
    wall = time.perf_counter() - t0
    events = read_metrics(run_dir / "metrics.jsonl")
    rates = [e["metrics"]["train/samples_per_s"] for e in events
             if "train/samples_per_s" in e["metrics"] and e["step"] > cfg.train.log_every]
    return {"train_steps": result.step, "train_status": result.status, "train_minutes": wall / 60,
            "batch_size": cfg.batch_size, "clip_frames": cfg.data.num_frames,
            "image_size": cfg.data.image_size,
            "clips_per_s_median": statistics.median(rates) if rates else None,
            "clips_per_s_overall": result.step * cfg.batch_size / wall,
            "final_loss": result.last_metrics.get("train/loss"),
            "diag_rel_pred_err_h1": result.last_metrics.get("diag/rel_pred_err_h1")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval-clips", type=int, default=256, help="evaluation clips (test-split digits)")
    ap.add_argument("--decoder-steps", type=int, default=400, help="steps of the GIF's pixel decoder")
    add_run_arguments(ap, "runs/bench-video")
    args = ap.parse_args()
    prepare_run(args)
    info = {} if args.skip_train else train_default(args.run_dir, args.overrides)
    info["peak_rss_gb_train"] = peak_rss_gb()
    print("train", json.dumps(info), flush=True)
    cfg = VideoEvalConfig(eval_clips=args.eval_clips, decoder_steps=args.decoder_steps)
    report = eval_video_run(args.run_dir, cfg, gif=args.run_dir / "rollout.gif", png=args.run_dir / "horizons.png")
    horizons = {name: report[name] for name in ("predicted", "copy_last", "encoded")}
    horizons["random_init"] = report["random_init"]["predicted"]
    print(json.dumps({**info, "peak_rss_gb": peak_rss_gb(), "eval_minutes": report["eval_seconds"] / 60,
                      "horizons": horizons,
                      **{k: report[k] for k in ("beats_copy_last", "beats_random_init", "error_grows_with_horizon")},
                      "png": report["png"], "gif": report["gif"], "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
