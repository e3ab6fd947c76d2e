"""Benchmark: JEPA world models against the generative (pixel) world model and offline goal-conditioned RL, on the
same data, the same training wall-clock, the same episodes and the same success rule (issue 14's table).

Usage: python bench/baselines.py [--env two_rooms|maze] [--methods keypoint,generic,pixel,gcbc,gciql,hiql]
                                 [--data good,few-doors,short,held-out] [--budget-min 10] [--seeds 100,101,102]
                                 [--episodes 100] [--out runs/bench-baselines] [--reuse] [--threads 2]
                                 [--train-overrides "[METHOD:]k=v ..."]... [--eval-overrides "[METHOD:]k=v ..."]...
                                 [--markdown docs/table.md]

Every number comes from a ``python -m jepa_world.cli`` command recorded in the JSON (``commands``):

* training, per data setting x method: ``train --preset P --run-dir OUT/DATA/METHOD/run train.time_budget_s=B
  [data overrides]``; the presets share their data config (the generic recipe's windows; keypoint: its own
  17-frame windows) and ``B`` is the same for every method;
* evaluation, per variant x seed: ``eval RUN --planner P --episodes E --seed S --json ...``; the world models plan
  with MPPI (the pixel model twice: in its own latent, ``space=latent``, and by pixel distance to the goal image,
  ``space=pixel``, on ``--pixel-space-data`` only: it decodes every predicted frame), the RL policies act
  through the same MPC loop as one-step plans (``--planner policy``).

Data settings (PLDM's data-quality axes, options of the existing generators): ``good`` = the presets' random walks;
``few-doors`` = no trajectory steered through the door (``data.door_prob=0``: crossings only by chance);
``short`` = 11-frame trajectories (``data.length=11``: goals in the data are at most 10 steps away);
``held-out`` = training layouts with doors in the low half only (``data.doors=low``), evaluated on the high half
(``doors=high``), Two Rooms only. Success is scored outside the agent under the eval's protocols (``final``: the
distance after the whole step budget; ``first-hit``: the goal reached at some step).

Use seeds you did not tune on for reported numbers (the presets' settings were tuned on episode seeds 0-2).
A failed command is reported in its row; the others still run. ``--reuse`` resumes an interrupted bench (finished
trainings and evaluations are read back, recorded as "(reused)"). A readable table goes to stderr, ONE JSON line to
stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from generic_world_model import Runner, cli, overrides_for, train_stage

PRESETS = {
    "two_rooms": {"keypoint": "two-rooms", "generic": "two-rooms-generic", "pixel": "two-rooms-pixel",
                  "gcbc": "two-rooms-gcbc", "gciql": "two-rooms-gciql", "hiql": "two-rooms-hiql"},
    "maze": {"keypoint": "maze", "generic": "maze-generic", "pixel": "maze-pixel",
             "gcbc": "maze-gcbc", "gciql": "maze-gciql", "hiql": "maze-hiql"},
}
"""Environment -> method -> preset."""
METHODS = tuple(PRESETS["two_rooms"])
"""The methods this bench knows, in report order."""
GENERIC_EVAL = ["planner.horizon=6", "goal_stop_k=2"]
"""The generic recipe's MPPI settings (docs/world_model.md: 6 held 5-step actions)."""
VARIANTS = {
    "keypoint": {"keypoint": ("mppi", [])},
    "generic": {"generic": ("mppi", GENERIC_EVAL)},
    "pixel": {"pixel-latent": ("mppi", [*GENERIC_EVAL, "space=latent"]),
              "pixel-pixel": ("mppi", [*GENERIC_EVAL, "space=pixel"])},
    "gcbc": {"gcbc": ("policy", [])},
    "gciql": {"gciql": ("policy", [])},
    "hiql": {"hiql": ("policy", [])},
}
"""Method -> evaluated variant -> (planner, eval overrides)."""
DATA = {
    "good": ([], []),
    "few-doors": (["data.door_prob=0.0"], []),
    "short": (["data.length=11"], []),
    "held-out": (["data.doors=low"], ["doors=high"]),
}
"""Data setting -> (training overrides, evaluation overrides)."""


def evaluate(variant: str, run: Path, planner: str, extra: list[str], root: Path, args: argparse.Namespace,
             runner: Runner) -> dict:
    """Success per seed under both protocols, ms per action per env (a replan's time over the steps it covers)."""
    per_seed = []
    for seed in args.seeds:
        out = root / f"{variant}_seed{seed}.json"
        command = cli("eval", str(run), "--planner", planner, "--episodes", str(args.episodes), "--seed", str(seed),
                      "--num-envs", str(min(100, args.episodes)), "--json", str(out), *extra)
        if args.reuse and _same_eval(out, args.episodes, seed):
            runner.commands.append("(reused) " + " ".join(["python", *command[1:]]))
        else:
            runner(command, root / f"{variant}_seed{seed}.log")
        rep = json.loads(out.read_text())
        every = rep["config"]["mpc"]["replan_every"]
        per_seed.append({"seed": seed, "final": rep["success_rate"], "first_hit": rep["success_rate_first_hit"],
                         "ms_per_action": rep["ms_per_replan_per_env"] / every})

    def mean(key: str) -> float:
        return sum(s[key] for s in per_seed) / len(per_seed)

    return {"success_final": mean("final"), "success_first_hit": mean("first_hit"),
            "ms_per_action": mean("ms_per_action"), "per_seed": per_seed}


def _same_eval(out: Path, episodes: int, seed: int) -> bool:
    """Whether ``out`` holds a finished evaluation of ``episodes`` episodes of episode seed ``seed`` (--reuse)."""
    if not out.is_file():
        return False
    rep = json.loads(out.read_text())
    return rep.get("episodes") == episodes and rep.get("config", {}).get("seed") == seed


def bench_cell(data: str, method: str, args: argparse.Namespace, runner: Runner) -> list[dict]:
    """Train ``method`` on data setting ``data`` and evaluate each of its variants: one row per variant."""
    train_extra, eval_extra = DATA[data]
    root = args.out / data / method
    base = {"data": data, "method": method}
    try:
        stage = train_stage(runner, PRESETS[args.env][method], root / "run", args.budget_min * 60, args.threads,
                            [*train_extra, *overrides_for(args.train_overrides, method)], args.reuse,
                            root / "train.log")
    except RuntimeError as e:
        return [{**base, "variant": method, "error": str(e)}]
    rows = []
    for variant, (planner, extra) in VARIANTS[method].items():
        if variant == "pixel-pixel" and data not in args.pixel_space_data:
            continue
        row = {**base, "variant": variant, "train_seconds": stage["seconds"], "steps": stage["step"],
               "run": str(root / "run")}
        try:
            row.update(evaluate(variant, root / "run", planner,
                                [*extra, *eval_extra, *overrides_for(args.eval_overrides, variant)], root, args,
                                runner))
        except RuntimeError as e:
            row["error"] = str(e)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """The readable summary printed to stderr."""
    head = f"{'data':<10} {'variant':<13} {'train s':>8} {'steps':>7} {'final':>6} {'1st-hit':>7} {'ms/act':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['data']:<10} {r['variant']:<13} error: {r['error'].splitlines()[0]}")
            continue
        lines.append(f"{r['data']:<10} {r['variant']:<13} {r['train_seconds']:>8.0f} {r['steps']:>7} "
                     f"{r['success_final']:>6.3f} {r['success_first_hit']:>7.3f} {r['ms_per_action']:>7.2f}")
    return "\n".join(lines)


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    """The table as Markdown: rows = variants, columns = data settings, cells = final / first-hit success."""
    data = list(dict.fromkeys(r["data"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    cell = {(r["data"], r["variant"]): r for r in rows}
    lines = ["| method | " + " | ".join(data) + " | steps reached | ms / action |",
             "|---|" + "---|" * (len(data) + 2)]
    for v in variants:
        got = [cell.get((d, v)) for d in data]
        text = ["error" if r is None or "error" in r else f"{r['success_final']:.2f} / {r['success_first_hit']:.2f}"
                for r in got]
        ok = [r for r in got if r is not None and "error" not in r]
        steps = ", ".join(str(r["steps"]) for r in ok)
        ms = f"{sum(r['ms_per_action'] for r in ok) / len(ok):.2f}" if ok else "-"
        lines.append(f"| {v} | " + " | ".join(text) + f" | {steps} | {ms} |")
    return "\n".join(lines) + (f"\n\n{args.env}; cells: success final / first-hit, {args.episodes} episodes x seeds "
                               f"{args.seeds}; {args.budget_min:g} min training per method.\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", choices=sorted(PRESETS), default="two_rooms")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {', '.join(METHODS)}")
    ap.add_argument("--data", default="good,few-doors,short", help=f"comma-separated, of {', '.join(DATA)}")
    ap.add_argument("--budget-min", type=float, default=10.0, help="training wall-clock minutes per method")
    ap.add_argument("--seeds", default="100,101,102", help="episode-set seeds (not the tuning seeds 0-2)")
    ap.add_argument("--episodes", type=int, default=100, help="episodes per seed")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-baselines"), help="run directories and logs")
    ap.add_argument("--reuse", action="store_true",
                    help="skip training where a finished run exists and evaluations whose JSON is there")
    ap.add_argument("--threads", type=int, default=0, help="OMP/torch threads of every command (0 = default)")
    ap.add_argument("--train-overrides", action="append", default=[], help='"[METHOD:]k=v ..." (repeatable)')
    ap.add_argument("--eval-overrides", action="append", default=[], help='"[VARIANT:]k=v ..." (repeatable)')
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    ap.add_argument("--pixel-space-data", default="good",
                    help="data settings where the pixel model also plans in pixel space (slow: it decodes every "
                         "predicted frame); comma-separated, empty for none")
    args = ap.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.data = [d.strip() for d in args.data.split(",") if d.strip()]
    for name, given, known in (("methods", args.methods, METHODS), ("data", args.data, tuple(DATA))):
        unknown = [x for x in given if x not in known]
        if unknown:
            ap.error(f"unknown {name} {unknown}; expected some of {', '.join(known)}")
    if args.env == "maze" and "held-out" in args.data:
        ap.error("--data held-out is a Two Rooms setting (door rows); the maze has no door split")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.pixel_space_data = [d.strip() for d in args.pixel_space_data.split(",") if d.strip()]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runner, rows, t0 = Runner(args.threads), [], time.perf_counter()
    for data in args.data:
        for method in args.methods:
            rows += bench_cell(data, method, args, runner)
            print(table(rows[-1:]), file=sys.stderr, flush=True)
    print(table(rows), file=sys.stderr, flush=True)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(rows, args))
    print(json.dumps({"env": args.env, "budget_min": args.budget_min, "seeds": args.seeds,
                      "episodes": args.episodes, "data": {d: DATA[d] for d in args.data},
                      "train_overrides": args.train_overrides, "eval_overrides": args.eval_overrides,
                      "threads": args.threads, "rows": rows, "commands": runner.commands,
                      "total_minutes": (time.perf_counter() - t0) / 60,
                      "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
