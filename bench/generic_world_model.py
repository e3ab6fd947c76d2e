"""Benchmark: the generic world model against frozen-encoder and keypoint ones, same wall-clock budget, same episodes.

Usage: python bench/generic_world_model.py [--env two_rooms|maze] [--models generic,frozen-ssl,frozen-random,keypoint]
                                          [--budget-min 20] [--ssl-share 0.35] [--seeds 0,1,2] [--episodes 100]
                                          [--planner mppi|hierarchical] [--out runs/bench-generic] [--reuse]
                                          [--threads 2] [--train-overrides "[MODEL:]k=v ..."]...
                                          [--eval-overrides "[MODEL:]k=v ..."]...

Every number comes from a ``python -m jepa_world.cli`` command, recorded in the JSON (``commands``):

* training: ``train --preset P --run-dir OUT/MODEL/run train.time_budget_s=B train.threads=N [overrides]``;
  ``generic`` = two-rooms-generic (maze-generic), ``keypoint`` = two-rooms (maze), ``frozen-random`` =
  two-rooms-frozen (maze-frozen) ``encoder=random``, ``frozen-ssl`` = two-rooms-ssl-encoder (maze-ssl-encoder)
  into OUT/frozen-ssl/encoder for ``--ssl-share`` of the budget, then two-rooms-frozen ``encoder=`` that run for
  what the first stage left of the budget (its wall time, start-up included, counts against it);
* evaluation: ``eval RUN --planner P --episodes E --seed S --json ...`` per seed (the run's own environment);
* diagnosis: ``diagnose RUN --json ...`` (collapse verdict on held-out frames).

Overrides: ``--train-overrides`` / ``--eval-overrides`` may be repeated; an item ``"k=v k=v"`` applies to every
model, ``"MODEL:k=v ..."`` to one (``frozen-ssl-encoder:`` to the SSL stage of frozen-ssl); later items win.
``--out`` is the bench's own folder: a model's run there is deleted and retrained unless ``--reuse`` finds a
finished run (model.json with status finished or time_budget). Subprocess output goes to OUT/MODEL/*.log; a
readable table goes to stderr and ONE JSON line to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

PRESETS = {
    "two_rooms": {"generic": "two-rooms-generic", "ssl-encoder": "two-rooms-ssl-encoder",
                  "frozen": "two-rooms-frozen", "keypoint": "two-rooms"},
    "maze": {"generic": "maze-generic", "ssl-encoder": "maze-ssl-encoder", "frozen": "maze-frozen",
             "keypoint": "maze"},
}
"""Environment -> role -> preset."""
MODELS = ("generic", "frozen-ssl", "frozen-random", "keypoint")
"""The models this bench knows, in report order."""
FINISHED = ("finished", "time_budget")
"""model.json statuses that --reuse accepts."""


def cli(*args: str) -> list[str]:
    """The command line of a ``jepa-world`` subcommand run by this interpreter."""
    return [sys.executable, "-m", "jepa_world.cli", *args]


def overrides_for(items: list[str], name: str) -> list[str]:
    """The key=value items of ``--*-overrides`` that apply to ``name`` (unprefixed items apply to all).

    Examples:
        >>> overrides_for(["a=1", "generic:b=2 c=3", "keypoint:d=4"], "generic")
        ['a=1', 'b=2', 'c=3']
    """
    out = []
    for item in items:
        target, sep, rest = item.partition(":")
        if sep and "=" not in target:
            if target == name:
                out += shlex.split(rest)
        else:
            out += shlex.split(item)
    return out


class Runner:
    """Runs CLI commands with the bench's thread settings, logs them and records their command lines."""

    def __init__(self, threads: int) -> None:
        self.env = dict(os.environ)
        if threads:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                self.env[var] = str(threads)
        self.commands: list[str] = []

    def __call__(self, cmd: list[str], log: Path) -> float:
        """Run ``cmd`` (stdout and stderr to ``log``); return its wall seconds; raise on a non-zero exit."""
        shown = shlex.join(["python", *cmd[1:]])
        self.commands.append(shown)
        print(f"$ {shown}", file=sys.stderr, flush=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with log.open("w") as f:
            code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=self.env).returncode
        wall = time.perf_counter() - t0
        if code:
            tail = log.read_text().strip().splitlines()[-3:]
            raise RuntimeError(f"exit {code} after {wall:.0f} s: {shown}\n  " + "\n  ".join(tail) + f"\n  (log: {log})")
        return wall


def run_status(run: Path) -> tuple[str | None, int]:
    """(status, step) of a run's exported model.json; (None, -1) when it has none."""
    meta = run / "model.json"
    if not meta.is_file():
        return None, -1
    data = json.loads(meta.read_text())
    return data.get("status"), int(data.get("step", -1))


def train_stage(runner: Runner, preset: str, run: Path, budget_s: float, threads: int, extra: list[str],
                reuse: bool, log: Path) -> dict:
    """Train one preset into ``run`` under ``budget_s``; {"preset", "seconds", "step", "status", "reused"}."""
    record = run.parent / f"{run.name}.train.json"
    status, step = run_status(run)
    if reuse and status in FINISHED and record.is_file():
        return {**json.loads(record.read_text()), "reused": True}
    if run.exists():
        shutil.rmtree(run)
    args = ["train", "--preset", preset, "--run-dir", str(run), f"train.time_budget_s={budget_s:.1f}",
            "train.progress=false", "train.tensorboard=false", *([f"train.threads={threads}"] if threads else []),
            *extra]
    seconds = runner(cli(*args), log)
    status, step = run_status(run)
    out = {"preset": preset, "seconds": seconds, "step": step, "status": status, "budget_s": budget_s}
    record.write_text(json.dumps(out))
    return {**out, "reused": False}


def train_model(name: str, args: argparse.Namespace, runner: Runner) -> tuple[Path, list[dict]]:
    """Train model ``name``; (its world-model run directory, its training stages)."""
    presets, root, budget = PRESETS[args.env], args.out / name, args.budget_min * 60
    extra = overrides_for(args.train_overrides, name)
    run = root / "run"
    if name == "generic":
        return run, [train_stage(runner, presets["generic"], run, budget, args.threads, extra, args.reuse,
                                 root / "train.log")]
    if name == "keypoint":
        return run, [train_stage(runner, presets["keypoint"], run, budget, args.threads, extra, args.reuse,
                                 root / "train.log")]
    if name == "frozen-random":
        return run, [train_stage(runner, presets["frozen"], run, budget, args.threads, ["encoder=random", *extra],
                                 args.reuse, root / "train.log")]
    if name == "frozen-ssl":
        encoder = root / "encoder"
        ssl = train_stage(runner, presets["ssl-encoder"], encoder, budget * args.ssl_share, args.threads,
                          overrides_for(args.train_overrides, "frozen-ssl-encoder"), args.reuse,
                          root / "train_encoder.log")
        rest = max(budget - ssl["seconds"], 1.0)
        wm = train_stage(runner, presets["frozen"], run, rest, args.threads, [f"encoder={encoder}", *extra],
                         args.reuse and ssl["reused"], root / "train.log")
        return run, [ssl, wm]
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")


def evaluate_model(name: str, run: Path, args: argparse.Namespace, runner: Runner) -> dict:
    """Planning success per seed (protocols final and first-hit), ms per replan per env, collapse verdict."""
    root, per_seed = args.out / name, []
    extra = overrides_for(args.eval_overrides, name)
    for seed in args.seeds:
        out = root / f"eval_seed{seed}.json"
        runner(cli("eval", str(run), "--planner", args.planner, "--episodes", str(args.episodes), "--seed", str(seed),
                   "--num-envs", str(min(100, args.episodes)), "--json", str(out), *extra),
               root / f"eval_seed{seed}.log")
        rep = json.loads(out.read_text())
        per_seed.append({"seed": seed, "final": rep["success_rate"], "first_hit": rep["success_rate_first_hit"],
                         "ms_per_replan_per_env": rep["ms_per_replan_per_env"],
                         "mean_final_distance": rep["mean_final_distance"]})
    diag_json = root / "diagnose.json"
    runner(cli("diagnose", str(run), "--json", str(diag_json)), root / "diagnose.log")
    diag = json.loads(diag_json.read_text())

    def mean(key: str) -> float:
        return sum(s[key] for s in per_seed) / len(per_seed)

    return {"success_final": mean("final"), "success_first_hit": mean("first_hit"),
            "ms_per_replan_per_env": mean("ms_per_replan_per_env"), "per_seed": per_seed,
            "verdict": diag["verdict"], "collapse_reasons": diag["reasons"],
            "effective_rank": diag["embedding"]["effective_rank"]}


def table(rows: list[dict]) -> str:
    """The readable summary printed to stderr."""
    head = (f"{'model':<14} {'train s':>8} {'steps':>8} {'final':>6} {'1st-hit':>7} {'ms/replan/env':>13} "
            f"{'verdict':>9}  per-seed final")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['model']:<14} error: {r['error'].splitlines()[0]}")
            continue
        seeds = " ".join(f"{s['final']:.2f}" for s in r["per_seed"])
        lines.append(f"{r['model']:<14} {r['train_seconds']:>8.0f} {r['steps']:>8} {r['success_final']:>6.3f} "
                     f"{r['success_first_hit']:>7.3f} {r['ms_per_replan_per_env']:>13.2f} {r['verdict']:>9}  {seeds}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", choices=sorted(PRESETS), default="two_rooms")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    ap.add_argument("--budget-min", type=float, default=20.0, help="training wall-clock minutes per model")
    ap.add_argument("--ssl-share", type=float, default=0.35,
                    help="frozen-ssl: share of the budget for the SSL encoder (the predictor gets what is left)")
    ap.add_argument("--seeds", default="0,1,2", help="episode-set seeds")
    ap.add_argument("--episodes", type=int, default=100, help="episodes per seed")
    ap.add_argument("--planner", choices=("mppi", "hierarchical"), default="mppi")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-generic"), help="run directories and logs")
    ap.add_argument("--reuse", action="store_true", help="skip training where a finished run exists")
    ap.add_argument("--threads", type=int, default=0, help="OMP/torch threads of every command (0 = default)")
    ap.add_argument("--train-overrides", action="append", default=[], help='"[MODEL:]k=v ..." (repeatable)')
    ap.add_argument("--eval-overrides", action="append", default=[], help='"[MODEL:]k=v ..." (repeatable)')
    args = ap.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown models {unknown}; expected some of {', '.join(MODELS)}")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    if not 0.0 < args.ssl_share < 1.0:
        ap.error(f"--ssl-share must be in (0, 1), got {args.ssl_share}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runner, rows, t0 = Runner(args.threads), [], time.perf_counter()
    for name in args.models:
        row: dict = {"model": name}
        try:
            run, stages = train_model(name, args, runner)
            row.update(run=str(run), stages=stages, train_seconds=sum(s["seconds"] for s in stages),
                       steps=stages[-1]["step"], **evaluate_model(name, run, args, runner))
        except RuntimeError as e:  # a failed command: reported in its row, the other models still run
            row["error"] = str(e)
        rows.append(row)
    print(table(rows), file=sys.stderr, flush=True)
    print(json.dumps({"env": args.env, "planner": args.planner, "budget_min": args.budget_min,
                      "ssl_share": args.ssl_share, "seeds": args.seeds, "episodes": args.episodes,
                      "train_overrides": args.train_overrides, "eval_overrides": args.eval_overrides,
                      "threads": args.threads, "rows": rows, "commands": runner.commands,
                      "total_minutes": (time.perf_counter() - t0) / 60,
                      "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
