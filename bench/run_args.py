"""Command-line arguments shared by the benchmarks that train a preset into a run directory, then evaluate it."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch


def add_run_arguments(ap: argparse.ArgumentParser, run_dir: str) -> None:
    """--run-dir, --fresh, --skip-train, --threads and the preset overrides."""
    ap.add_argument("--run-dir", type=Path, default=Path(run_dir))
    ap.add_argument("--fresh", action="store_true", help="delete the run dir first (train from scratch)")
    ap.add_argument("--skip-train", action="store_true", help="evaluate the run dir as it is")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("overrides", nargs="*", help="preset overrides key=value")


def prepare_run(args: argparse.Namespace) -> None:
    """Apply --threads and --fresh."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.fresh and args.run_dir.exists():
        shutil.rmtree(args.run_dir)
