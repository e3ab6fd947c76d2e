"""Benchmark: a trained world model under a shift of Two Rooms, frozen vs adjusted online, on the same episodes.

Usage: python bench/online_adjustment.py RUN [--shift gain0.5] [--planner mppi] [--block 10] [--blocks 5]
                                         [--seed 0] [--forget-episodes 20] [--png docs/img/online_adjustment.png]
                                         [--adapt k=v ...] [--eval k=v ...] [--threads 2]

RUN is a trained world-model run (generic ``two-rooms-generic`` or keypoint ``two-rooms``). The episode sequence is
``--blocks`` blocks of ``--block`` episodes (``eval``'s episode set for the seed, in the shifted world), run twice
through eval/online.py: once with the model frozen, once adjusted after every block (``--adapt`` sets the
OnlineAdjustConfig fields, e.g. ``steps=20 lr=3e-4``) on the agent's own windows mixed with the run's offline data.
Reported: success per block (the learning curves), the wall seconds of the updates, and the success of the frozen
and of the adjusted model on ``--forget-episodes`` episodes of the UNSHIFTED world (forgetting). One JSON line to
stdout; the curves as a PNG. Not measured here (issue 15's optional rows): adjustment + critic, and a model
retrained from scratch on shifted data.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

import torch

from jepa_world.config import apply_overrides
from jepa_world.eval.online import OnlineAdjustConfig, OnlineReport, evaluate_online
from jepa_world.eval.planning import PlanningEvalConfig, default_eval_config, evaluate_planning, trained_env_overrides
from jepa_world.planning.registry import planner_config_cls
from jepa_world.runs.adapt_run import offline_source, training_window
from jepa_world.runs.load import load_method


def eval_config(run_config: dict, *, planner: str, episodes: int, num_envs: int, seed: int,
                overrides: list[str]) -> PlanningEvalConfig:
    """The evaluation config ``eval`` would build: the planner's tuned defaults, the run's env, the overrides
    (``planner.FIELD=V`` ones go to the planner's config)."""
    base = default_eval_config(planner, episodes=episodes, seed=seed, num_envs=num_envs)
    items = trained_env_overrides(run_config["model"].get("env"), overrides)
    planner_items = [o[len("planner."):] for o in items if o.startswith("planner.")]
    planner_cfg = apply_overrides(planner_config_cls(planner)(**base.planner_overrides), planner_items)
    keys = set(base.planner_overrides) | {o.split("=", 1)[0] for o in planner_items}
    base.planner_overrides = {k: getattr(planner_cfg, k) for k in keys}
    return apply_overrides(base, [o for o in items if not o.startswith("planner.")])


def curves_png(frozen: OnlineReport, adjusted: OnlineReport, unshifted: dict, path: Path, title: str) -> None:
    """Success per block (frozen vs adjusted), the agent's surprise per block, and the unshifted success."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax = fig.subplots(1, 3)
    blocks = range(1, len(frozen.success) + 1)
    for report, name in ((frozen, "frozen"), (adjusted, "adjusted online")):
        ax[0].plot(blocks, report.success, "o-", label=name)
        ax[1].plot(blocks, report.block_surprise, "o-", label=name)
    ax[0].set(xlabel="block of episodes", ylabel="success (final)", ylim=(-0.02, 1.02), title="shifted world")
    ax[1].set(xlabel="block of episodes", ylabel="mean surprise (latent energy)", yscale="log", title="surprise")
    ax[0].legend()
    for a in ax[:2]:
        a.set_xticks(list(blocks))
    ax[2].bar(["frozen", "adjusted"], [unshifted["frozen"], unshifted["adjusted"]], color=["tab:blue", "tab:orange"])
    ax[2].set(ylabel="success (final)", ylim=(0, 1), title="unshifted world (forgetting)")
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--shift", default="gain0.5")
    ap.add_argument("--planner", default="mppi")
    ap.add_argument("--block", type=int, default=10, help="episodes per block (num_envs)")
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--forget-episodes", type=int, default=20)
    ap.add_argument("--png", type=Path, default=Path("docs/img/online_adjustment.png"))
    ap.add_argument("--adapt", nargs="*", default=[], help="OnlineAdjustConfig overrides k=v")
    ap.add_argument("--eval", nargs="*", default=[], help="PlanningEvalConfig overrides k=v")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, run_config = load_method(args.run, expected_kind="world_model")
    shifted = eval_config(run_config, planner=args.planner, episodes=args.block * args.blocks, num_envs=args.block,
                          seed=args.seed, overrides=[f"shift={args.shift}", *args.eval])
    online = apply_overrides(OnlineAdjustConfig(), args.adapt)
    window = online.window or training_window(args.run, run_config["model"])
    offline = offline_source(args.run, run_config["model"], max(online.offline_rows, 1))
    start = time.perf_counter()
    frozen_model = copy.deepcopy(model)
    frozen = evaluate_online(frozen_model, shifted, OnlineAdjustConfig(every=0), offline=None, window=window)
    frozen_s = time.perf_counter() - start
    adjusted = evaluate_online(model, shifted, online, offline=offline if online.offline_rows else None, window=window)
    adjusted_s = time.perf_counter() - start - frozen_s
    plain = eval_config(run_config, planner=args.planner, episodes=args.forget_episodes, num_envs=args.block,
                        seed=args.seed + 1, overrides=args.eval)
    unshifted = {name: evaluate_planning(m, plain).success_rate for name, m in (("frozen", frozen_model),
                                                                                ("adjusted", model))}
    title = (f"{args.run.name}: shift {args.shift}, {args.planner}, {args.blocks} blocks x {args.block} episodes, "
             f"adjust {online.steps} steps/block")
    curves_png(frozen, adjusted, unshifted, args.png, title)
    out = {
        "bench": "online_adjustment", "run": str(args.run), "shift": args.shift, "planner": args.planner,
        "block": args.block, "blocks": args.blocks, "seed": args.seed, "window": window,
        "frozen_success": frozen.success, "adjusted_success": adjusted.success,
        "frozen_mean": sum(frozen.success) / len(frozen.success),
        "adjusted_mean": sum(adjusted.success) / len(adjusted.success),
        "frozen_surprise": frozen.block_surprise, "adjusted_surprise": adjusted.block_surprise,
        "update_s": adjusted.update_s, "update_s_total": sum(adjusted.update_s),
        "wall_s": {"frozen": round(frozen_s, 1), "adjusted": round(adjusted_s, 1)},
        "unshifted_success": unshifted, "unshifted_episodes": args.forget_episodes,
        "online": adjusted.config, "eval_overrides": args.eval, "png": str(args.png),
        "command": " ".join(["python", *sys.argv]), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
