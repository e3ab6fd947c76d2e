"""Benchmark: train the default Two Rooms world model from scratch, then plan with every planner.

Usage: python bench/two_rooms_wm.py [--minutes 20] [--episodes 100] [--planners mppi,cem,gradient]
                                    [--run-dir runs/bench-two-rooms] [--threads 0] [--skip-train]
Trains `--preset two-rooms` under a wall-clock budget (resuming the run dir if it holds a
checkpoint; --fresh deletes it first), evaluates random-wall episodes (start and goal in opposite
rooms, 200 steps, success < 4.5 px) with each planner, batched (--num-envs) and, for the latency
figure, one environment at a time on a few episodes. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from run_args import add_run_arguments, prepare_run

from jepa_world.config import apply_overrides
from jepa_world.eval.planning import default_eval_config, evaluate_planning
from jepa_world.presets import get_preset
from jepa_world.runs.load import load_method
from jepa_world.train import train


def train_default(run_dir: Path, minutes: float, overrides: list[str]) -> dict:
    """Train the default preset for at most ``minutes``; returns what the run reported."""
    preset = get_preset("two-rooms")
    cfg = apply_overrides(preset.config(), [f"train.time_budget_s={minutes * 60}", *overrides])
    spec = preset.build(cfg)
    result = train(spec.method, spec.source, spec.train, run_dir=run_dir, kind=spec.kind,
                   model_config=spec.model_config, batch_size=spec.batch_size)
    return {"train_minutes": result.wall_s / 60, "train_steps": result.step, "train_status": result.status,
            "probe_px": result.last_metrics.get("train/probe_px")}


def plan_all(model, planners: list[str], episodes: int, num_envs: int, latency_episodes: int, seed: int = 0) -> dict:
    """Success and timings per planner: batched over num_envs, and single-env latency."""
    out = {}
    for name in planners:
        cfg = default_eval_config(name, episodes=episodes, num_envs=num_envs, seed=seed)
        cfg.planner_overrides = {k: v for k, v in cfg.planner_overrides.items()
                                 if k in cfg.planner_config().__dataclass_fields__}
        rep = evaluate_planning(model, cfg).as_dict()
        single = evaluate_planning(model, apply_overrides(cfg, [f"episodes={latency_episodes}", "num_envs=1"]))
        out[name] = {k: rep[k] for k in ("success_rate", "mean_final_distance", "mean_steps_to_success",
                                          "ms_per_replan", "ms_per_replan_per_env", "s_per_episode")}
        out[name]["single_env_ms_per_replan"] = single.ms_per_replan
        out[name]["single_env_s_per_episode"] = single.s_per_episode
        print(name, json.dumps(out[name]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget")
    ap.add_argument("--episodes", type=int, default=100, help="evaluation episodes per planner")
    ap.add_argument("--num-envs", type=int, default=100, help="episodes planned at once")
    ap.add_argument("--latency-episodes", type=int, default=3, help="episodes for the single-env latency")
    ap.add_argument("--planners", default="hierarchical,mppi,cem", help="comma-separated planner names")
    ap.add_argument("--seed", type=int, default=0, help="seed of the evaluation episode set")
    add_run_arguments(ap, "runs/bench-two-rooms")
    args = ap.parse_args()
    prepare_run(args)
    info = {} if args.skip_train else train_default(args.run_dir, args.minutes, args.overrides)
    model, _ = load_method(args.run_dir, expected_kind="world_model")
    t0 = time.perf_counter()
    planners = plan_all(model, args.planners.split(","), args.episodes, args.num_envs, args.latency_episodes,
                        args.seed)
    print(json.dumps({**info, "planners": planners, "eval_minutes": (time.perf_counter() - t0) / 60,
                      "episodes": args.episodes, "threads": torch.get_num_threads(),
                      "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
