"""Benchmark: a world model's planning success under both protocols, per planner, with and without the goal stop.

Usage: python bench/evaluation_protocol.py --run RUN_DIR [--seeds 0,1,2] [--episodes 100]
                                           [--planners hierarchical,mppi] [--stops off,on] [--oracle]
                                           [--threads 1] [key=value ...]

For every planner and goal-stop setting it evaluates the same episode sets (one per seed, sampled from the
seed alone) in the environment the run was trained in, the agent acting for the whole budget with no
privileged information, and reports success under protocol 'final' (distance after the budget < 4.5 px:
EB-JEPA, PLDM) and 'first-hit' (reached at some step: gymnasium-robotics, OGBench), per seed and pooled,
with planning timings. ``--oracle`` plans with the true dynamics of the run's environment instead (the
planners' upper bound). Extra key=value items override the evaluation config (e.g. ``path_weight=0.3``).
Prints one line per row and one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from jepa_world.config import apply_overrides
from jepa_world.eval.planning import default_eval_config, evaluate_planning, trained_env_overrides
from jepa_world.runs.load import load_method


def oracle_of(cfg):
    """The true-dynamics model of the configured environment."""
    if cfg.env == "maze":
        from jepa_world.envs.maze.oracle import MazeOracle

        return MazeOracle(cfg.maze.rooms)
    from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle

    return TwoRoomsOracle(physics=cfg.physics)


def evaluate_row(model, env: dict | None, planner: str, stop: bool, seeds: list[int], episodes: int,
                 overrides: list[str], oracle: bool) -> dict:
    """One planner x goal-stop setting over every seed's episode set."""
    per_seed, final, first, plan_s, ms = [], [], [], [], []
    for seed in seeds:
        cfg = default_eval_config(planner, episodes=episodes, num_envs=min(100, episodes), seed=seed)
        cfg = apply_overrides(cfg, trained_env_overrides(env, [f"goal_stop={str(stop).lower()}", *overrides]))
        rep = evaluate_planning(oracle_of(cfg) if oracle else model, cfg)
        per_seed.append({"seed": seed, "final": rep.success_rate, "first_hit": rep.success_rate_first_hit})
        final += rep.success
        first += rep.success_first_hit
        plan_s.append(rep.plan_s_per_episode)
        ms.append(rep.ms_per_replan_per_env)
    return {"planner": planner, "goal_stop": stop, "oracle": oracle, "episodes": len(final),
            "success_final": sum(final) / len(final), "success_first_hit": sum(first) / len(first),
            "per_seed": per_seed, "goal_energy": rep.goal_energy, "plan_s_per_episode": sum(plan_s) / len(plan_s),
            "ms_per_replan_per_env": sum(ms) / len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a world-model run directory")
    ap.add_argument("--seeds", default="0,1,2", help="episode-set seeds (report these; tune on others)")
    ap.add_argument("--episodes", type=int, default=100, help="episodes per seed")
    ap.add_argument("--planners", default="hierarchical,mppi")
    ap.add_argument("--stops", default="off,on", help="goal-stop settings to run: off, on or both")
    ap.add_argument("--oracle", action="store_true", help="plan with the true dynamics instead")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("overrides", nargs="*", help="evaluation config overrides key=value")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, config = load_method(args.run, expected_kind="world_model")
    env = config["model"].get("env")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, t0 = [], time.perf_counter()
    for planner in args.planners.split(","):
        for stop in args.stops.split(","):
            row = evaluate_row(model, env, planner, stop == "on", seeds, args.episodes, args.overrides, args.oracle)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(json.dumps({"run": str(args.run), "env": env, "rows": rows, "overrides": args.overrides,
                      "eval_minutes": (time.perf_counter() - t0) / 60, "threads": args.threads,
                      "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
