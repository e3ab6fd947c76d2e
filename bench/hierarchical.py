"""Benchmark: flat vs hierarchical latent MPC on maze episodes whose start and goal are >= 3 doors apart.

Usage: python bench/hierarchical.py [--episodes 100] [--seed 0] [--max-steps 120] [--threads 1]
                                    [--png maze.png] [--run RUN_DIR] [flat.KEY=V ...] [hier.KEY=V ...]
Both planners run the same episodes (3x3 perfect mazes, 120 steps, success < 4.5 px) on the same
model: the exact maze oracle by default, or the world model of a training run with --run (its
probe decodes the subgoals; ``hier.planner.high_level=model`` plans with the model's own
``high_level`` attribute, a learned HighLevelModel). KEY is a PlanningEvalConfig field
(``flat.mpc.replan_every=5``) or ``planner.FIELD`` of the planner's config (``hier.planner.depth=16``). The flat
planner is the project's default (MPPI, 10 macro-actions of 10 steps, replan every 10 steps); the
hierarchical one its measured defaults (planning/hierarchical.py). Reports success overall, by
door distance and by step budget, steps to success and planning seconds per episode, checks the
issue's bars and prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from jepa_world.config import apply_overrides
from jepa_world.eval.planning import PlanningReport, default_eval_config, evaluate_planning, save_paths_png
from jepa_world.methods.maze_oracle import MazeOracle

BUDGETS = (60, 80, 100, 120, 150, 200)


def summary(report: PlanningReport) -> dict:
    """The numbers of one planner: success overall, by door distance and by step budget, timings."""
    steps = torch.tensor(report.steps_to_success)
    distance = torch.cat([r.episodes.room_distance for r in report.results])
    reached = steps >= 0
    by_distance = {int(d): round(reached[distance == d].float().mean().item(), 3) for d in distance.unique()}
    by_budget = {b: round((reached & (steps <= b)).float().mean().item(), 3) for b in BUDGETS
                 if b <= report.results[0].distances.shape[1] - 1}
    return {
        "success_rate": report.success_rate, "success_by_door_distance": by_distance,
        "episodes_by_door_distance": {int(d): int((distance == d).sum()) for d in distance.unique()},
        "success_by_step_budget": by_budget, "mean_steps_to_success": report.mean_steps_to_success,
        "mean_final_distance": report.mean_final_distance, "plan_s_per_episode": report.plan_s_per_episode,
        "s_per_episode": report.s_per_episode, "ms_per_replan": report.ms_per_replan,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=100, help="maze episodes per planner")
    ap.add_argument("--num-envs", type=int, default=100, help="episodes planned at once")
    ap.add_argument("--seed", type=int, default=0, help="seed of the episode set")
    ap.add_argument("--max-steps", type=int, default=120, help="step budget of an episode")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch default)")
    ap.add_argument("--png", type=Path, default=None, help="write the first episodes' paths and subgoals here")
    ap.add_argument("--run", type=Path, default=None, help="plan with this run's world model instead of the oracle")
    ap.add_argument("overrides", nargs="*", help="flat.KEY=V / hier.KEY=V overrides of the PlanningEvalConfigs")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, probe = _model(args.run)
    common = {"env": "maze", "episodes": args.episodes, "num_envs": min(args.num_envs, args.episodes),
              "seed": args.seed}
    configs = {
        "flat": default_eval_config("mppi", **common),
        "hierarchical": default_eval_config("hierarchical", **common),
    }
    out = {}
    for name, cfg in configs.items():
        cfg = _apply(cfg, [f"maze.max_steps={args.max_steps}"] + _for(name, args.overrides))
        start = time.perf_counter()
        report = evaluate_planning(model, cfg, probe=probe)
        out[name] = {**summary(report), "wall_s": time.perf_counter() - start, "planner": cfg.planner,
                     "planner_overrides": cfg.planner_overrides, "mpc": vars(cfg.mpc)}
        configs[name] = report
        print(name, json.dumps(out[name]), flush=True)
    if args.png:
        save_paths_png({k: r.results[0] for k, r in configs.items()}, str(args.png), episodes=[0, 1, 2, 3])
    flat, hier = out["flat"], out["hierarchical"]
    bars = {"hier_success_ge_0.8": hier["success_rate"] >= 0.8,
            "hier_ge_2x_flat": hier["success_rate"] >= 2 * flat["success_rate"],
            "hier_plan_time_le_flat": hier["plan_s_per_episode"] <= flat["plan_s_per_episode"]}
    print(json.dumps({**out, "bars": bars, "model": str(args.run or "oracle"), "episodes": args.episodes,
                      "seed": args.seed, "max_steps": args.max_steps, "threads": torch.get_num_threads(),
                      "machine": platform.processor() or platform.machine()}))


def _model(run: Path | None):
    """The oracle and its probe, or a run's world model and its position probe."""
    if run is None:
        oracle = MazeOracle()
        return oracle, oracle.probe
    from jepa_world.eval.runs import load_method

    model, _ = load_method(run, expected_kind="world_model")
    return model, model.decode_position


def _apply(cfg, overrides: list[str]):
    """PlanningEvalConfig overrides; ``planner.FIELD=V`` ones are parsed by the planner's config and kept in
    ``planner_overrides``."""
    planner_keys = [o[len("planner."):] for o in overrides if o.startswith("planner.")]
    if planner_keys:
        parsed = apply_overrides(cfg.planner_config(), planner_keys)
        names = [k.split("=", 1)[0] for k in planner_keys]
        cfg.planner_overrides = {**cfg.planner_overrides, **{k: getattr(parsed, k) for k in names}}
    return apply_overrides(cfg, [o for o in overrides if not o.startswith("planner.")])


def _for(name: str, overrides: list[str]) -> list[str]:
    """The overrides addressed to planner ``name`` ('flat.' or 'hier.' prefix), prefix removed."""
    prefix = "flat." if name == "flat" else "hier."
    bad = [o for o in overrides if not o.startswith(("flat.", "hier."))]
    if bad:
        raise SystemExit(f"overrides must start with 'flat.' or 'hier.', got {bad}")
    return [o[len(prefix):] for o in overrides if o.startswith(prefix)]


if __name__ == "__main__":
    main()
