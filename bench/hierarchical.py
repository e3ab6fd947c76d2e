"""Benchmark: flat vs hierarchical latent MPC on maze episodes whose start and goal are >= 3 doors apart.

Usage: python bench/hierarchical.py [--episodes 100] [--seed 0] [--max-steps 80] [--threads 1]
                                    [--png maze.png] [--run RUN_DIR] [--no-match] [flat.KEY=V ...] [hier.KEY=V ...]
Both planners run the same episodes (3x3 perfect mazes, the env's step budget, success < 4.5 px under
protocol 'final' -- the distance after the whole budget, the agent acting until the end -- with 'first-hit'
reported beside it; docs/evaluation.md) on
the same model: the exact maze oracle by default, or the world model of a training run with --run
(its probe decodes the subgoals; ``hier.planner.high_level=model`` plans with the model's own
``high_level`` attribute, a learned HighLevelModel). KEY is a PlanningEvalConfig field
(``flat.mpc.replan_every=5``) or ``planner.FIELD`` of the planner's config (``hier.planner.depth=16``).
The hierarchical planner runs at its measured defaults (planning/hierarchical.py); the flat one is
the project's default (MPPI, 10 macro-actions of 10 steps, replan every 10 steps) and, unless
--no-match, gets at least the hierarchical planner's planning time: its samples are scaled by the
time ratio until its planning seconds per episode are no lower (every flat run is reported). Reports success overall,
by door distance and by step budget, steps to success against the shortest path (envs/maze/paths.py),
SPL (success weighted by shortest / taken steps) and planning seconds per episode, checks the
issue's bars and prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch

from jepa_world.config import apply_overrides
from jepa_world.envs.maze.batch import MazeConfig
from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.envs.maze.paths import shortest_steps
from jepa_world.eval.planning import PlanningReport, default_eval_config, evaluate_planning, save_paths_png

BUDGETS = (40, 60, 80, 100, 120, 150, 200)
MAX_TRIES = 4


def episode_shortest_steps(report: PlanningReport) -> torch.Tensor:
    """Shortest-path steps of a report's episodes, in order (at least 1): (episodes,) int64."""
    return torch.cat([shortest_steps(r.episodes.doors, r.episodes.start, r.episodes.goal)
                      for r in report.results]).clamp_min(1)


def summary(report: PlanningReport, shortest: torch.Tensor) -> dict:
    """The numbers of one planner: success overall, by door distance and by step budget, path efficiency (against
    the episodes' ``shortest`` steps), timings."""
    steps = torch.tensor(report.steps_to_success)
    distance = torch.cat([r.episodes.room_distance for r in report.results])
    reached = steps >= 0  # protocol 'first-hit'
    final = torch.tensor(report.success)  # protocol 'final'
    by_distance = {int(d): round(final[distance == d].float().mean().item(), 3) for d in distance.unique()}
    by_budget = {b: round((reached & (steps <= b)).float().mean().item(), 3) for b in BUDGETS
                 if b <= report.results[0].distances.shape[1] - 1}
    ratio = steps[reached].float() / shortest[reached]
    spl = torch.where(reached, shortest / torch.maximum(steps, shortest).clamp_min(1), torch.zeros(()))
    return {
        "success_rate": report.success_rate, "success_rate_first_hit": reached.float().mean().item(),
        "goal_energy": report.goal_energy, "success_by_door_distance": by_distance,
        "episodes_by_door_distance": {int(d): int((distance == d).sum()) for d in distance.unique()},
        "first_hit_by_step_budget": by_budget, "mean_steps_to_success": report.mean_steps_to_success,
        "shortest_steps_mean": shortest.float().mean().item(), "shortest_steps_max": int(shortest.max()),
        "steps_over_shortest_median": ratio.median().item() if reached.any() else None,
        "spl": spl.float().mean().item(),
        "mean_final_distance": report.mean_final_distance, "plan_s_per_episode": report.plan_s_per_episode,
        "s_per_episode": report.s_per_episode, "ms_per_replan": report.ms_per_replan,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=100, help="maze episodes per planner")
    ap.add_argument("--num-envs", type=int, default=100, help="episodes planned at once")
    ap.add_argument("--seed", type=int, default=0, help="seed of the episode set")
    ap.add_argument("--max-steps", type=int, default=MazeConfig().max_steps, help="step budget of an episode")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch default)")
    ap.add_argument("--png", type=Path, default=None, help="write the first episodes' paths and subgoals here")
    ap.add_argument("--run", type=Path, default=None, help="plan with this run's world model instead of the oracle")
    ap.add_argument("--no-match", action="store_true", help="run the flat planner at its defaults only")
    ap.add_argument("overrides", nargs="*", help="flat.KEY=V / hier.KEY=V overrides of the PlanningEvalConfigs")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, probe = _model(args.run)
    common = {"env": "maze", "episodes": args.episodes, "num_envs": min(args.num_envs, args.episodes),
              "seed": args.seed}
    steps = [f"maze.max_steps={args.max_steps}"]
    hier_cfg = _apply(default_eval_config("hierarchical", **common), steps + _for("hier", args.overrides))
    hier, hier_report = _run("hierarchical", model, hier_cfg, probe, None)
    shortest = episode_shortest_steps(hier_report)  # both planners run the same episodes
    flat_runs, flat_report = [], None
    flat_cfg = _apply(default_eval_config("mppi", **common), steps + _for("flat", args.overrides))
    for _ in range(MAX_TRIES + 1):
        flat, flat_report = _run("flat", model, flat_cfg, probe, shortest)
        flat_runs.append(flat)
        if args.no_match or flat["plan_s_per_episode"] >= hier["plan_s_per_episode"]:
            break
        samples = _matched_samples(flat_cfg.planner_config().num_samples, flat["plan_s_per_episode"],
                                   hier["plan_s_per_episode"])
        flat_cfg.planner_overrides = {**flat_cfg.planner_overrides, "num_samples": samples}
    if args.png:
        save_paths_png({"flat": flat_report.results[0], "hierarchical": hier_report.results[0]}, str(args.png),
                       episodes=[0, 1, 2, 3])
    flat = flat_runs[-1]
    bars = {"hier_success_ge_0.8": hier["success_rate"] >= 0.8,
            "hier_ge_2x_flat": hier["success_rate"] >= 2 * flat["success_rate"],
            "hier_plan_time_le_flat": hier["plan_s_per_episode"] <= flat["plan_s_per_episode"]}
    print(json.dumps({"flat": flat, "hierarchical": hier, "flat_runs": flat_runs, "bars": bars,
                      "model": str(args.run or "oracle"), "episodes": args.episodes, "seed": args.seed,
                      "max_steps": args.max_steps, "threads": torch.get_num_threads(),
                      "machine": platform.processor() or platform.machine()}))


def _matched_samples(samples: int, flat_s: float, hier_s: float) -> int:
    """The flat planner's next sample count: scaled by the time ratio (+5 %), rounded up to a multiple of 16 and
    at least 16 more, so its planning time reaches the hierarchical planner's in a few tries.

    >>> _matched_samples(64, 0.014, 0.025), _matched_samples(128, 0.024, 0.025)
    (128, 144)
    """
    return max(samples + 16, 16 * math.ceil(samples * hier_s / flat_s * 1.05 / 16))


def _run(name: str, model, cfg, probe, shortest: torch.Tensor | None) -> tuple[dict, PlanningReport]:
    """Evaluate one planner config; print and return its summary (``shortest``: the episodes' shortest-path steps,
    computed from this report when None)."""
    start = time.perf_counter()
    report = evaluate_planning(model, cfg, probe=probe)
    shortest = episode_shortest_steps(report) if shortest is None else shortest
    out = {**summary(report, shortest), "wall_s": time.perf_counter() - start, "planner": cfg.planner,
           "planner_overrides": dict(cfg.planner_overrides), "cost": cfg.cost, "path_weight": cfg.path_weight,
           "mpc": vars(cfg.mpc)}
    print(name, json.dumps(out), flush=True)
    return out, report


def _model(run: Path | None):
    """The oracle and its probe, or a run's world model and its position probe."""
    if run is None:
        oracle = MazeOracle()
        return oracle, oracle.probe
    from jepa_world.runs.load import load_method

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
