"""Benchmark: how hard the PointMaze protocol is without a model (state-based reference policies, no pixels).

Runs the evaluation's episode set (``PlanningEvalConfig(env="pointmaze")``: same seed, same episodes) through the
package envs with two policies that read the true state, outside any planning loop:
- ``random``: the exploration data's AR(1) forces (what a policy that ignores the goal achieves);
- ``greedy``: a PD controller straight at the goal, ignoring walls (what needs no planning around walls).
Prints one JSON line per (maze, policy) with success under both protocols ('final', 'first-hit').

Usage: MUJOCO_GL=egl python bench/pointmaze_floor.py [--episodes 100] [--seed 0] [--min-cell-distance 1]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch


def run(maze: str, policy: str, episodes: int, seed: int, min_cell_distance: int) -> dict:
    from jepa_world.data.pointmaze_gen import PointMazeDataConfig, correlated_actions
    from jepa_world.envs.pointmaze import MAZES, sample_episodes
    from jepa_world.envs.pointmaze.batch import SUCCESS_RADIUS, place
    from jepa_world.envs.pointmaze.package import acquire_envs
    from jepa_world.eval.protocols import final_success, first_hit_success

    steps = MAZES[maze].time_limit
    ep = sample_episodes(episodes, maze, generator=torch.Generator().manual_seed(seed),
                         min_cell_distance=min_cell_distance)
    forces = correlated_actions(episodes, steps, PointMazeDataConfig(), generator=torch.Generator().manual_seed(seed))
    env = acquire_envs(MAZES[maze].gym_id, 1)[0]
    distances = np.zeros((episodes, steps + 1))
    for i in range(episodes):
        goal = ep.goal[i].numpy()
        place(env, ep.start[i].numpy(), goal)
        distances[i, 0] = np.linalg.norm(env.data.qpos - goal)
        for t in range(steps):
            if policy == "greedy":
                a = np.clip(2.0 * (goal - env.data.qpos) - 0.5 * env.data.qvel, -1, 1)
            else:
                a = forces[i, t].numpy().astype(np.float64)
            env.step(a)
            distances[i, t + 1] = np.linalg.norm(env.data.qpos - goal)
    d = torch.from_numpy(distances)
    return {"maze": maze, "policy": policy, "episodes": episodes, "seed": seed, "budget": steps,
            "min_cell_distance": min_cell_distance,
            "success_final": round(float(final_success(d, radius=SUCCESS_RADIUS).float().mean()), 3),
            "success_first_hit": round(float(first_hit_success(d, radius=SUCCESS_RADIUS).float().mean()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--episodes", type=int, default=100, help="episodes per maze")
    ap.add_argument("--seed", type=int, default=0, help="seed of the episode set (as `eval ... seed=`)")
    ap.add_argument("--min-cell-distance", type=int, default=1, help="as `eval ... pointmaze.min_cell_distance=`")
    args = ap.parse_args()
    for maze in ("umaze", "medium"):
        for policy in ("random", "greedy"):
            print(json.dumps(run(maze, policy, args.episodes, args.seed, args.min_cell_distance)), flush=True)


if __name__ == "__main__":
    main()
