"""Benchmark: PointMaze adapter timings (make, reset, package step, render) and exploration-data generation.

Usage: MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/pointmaze_timing.py [--maze umaze] [--envs 16] [--steps 100]
Prints one JSON object: ms per env for making the package envs, reset (placement + goal render), the package's
step alone, one top-down render, the adapter's step (step + render), gymnasium's SyncVectorEnv step of the same
package envs (for comparison, no render), and seconds per 1000 generated data steps (frames stored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import torch


def _ms(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--maze", default="umaze", help="umaze or medium")
    ap.add_argument("--envs", type=int, default=16, help="envs stepped together")
    ap.add_argument("--steps", type=int, default=100, help="steps timed (and frames per generated trajectory - 1)")
    args = ap.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    import gymnasium as gym

    from jepa_world.data.pointmaze_gen import PointMazeDataConfig
    from jepa_world.data.pointmaze_shards import build_pointmaze_dataset
    from jepa_world.envs.pointmaze import MAZES, PointMazeBatch, PointMazeConfig

    n, steps = args.envs, args.steps
    start = time.perf_counter()
    env = PointMazeBatch(n, PointMazeConfig(maze=args.maze, max_steps=10 * steps + 10))
    make_ms = (time.perf_counter() - start) / n * 1e3
    reset_ms = _ms(lambda: env.reset(seed=0), 3) / n
    zeros = np.zeros(2)
    step_ms = _ms(lambda: [e.step(zeros) for e in env.envs], steps) / n
    render_ms = _ms(lambda: [env.camera.render(e.data) for e in env.envs], steps) / n
    env.reset(seed=0)
    actions = torch.rand(n, 2) * 2 - 1
    adapter_ms = _ms(lambda: env.step(actions), steps) / n
    env.close()
    gym_id = MAZES[args.maze].gym_id
    vec = gym.vector.SyncVectorEnv([lambda: gym.make(gym_id, continuing_task=True, reset_target=False,
                                                     max_episode_steps=10 * steps)] * n)
    vec.reset(seed=0)
    vec_ms = _ms(lambda: vec.step(np.zeros((n, 2))), steps) / n
    vec.close()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_pointmaze_dataset(f"{tmp}/ds", num=n, config=PointMazeDataConfig(maze=args.maze, length=steps + 1),
                                shard_size=n, progress=False)
        gen_s = (time.perf_counter() - start) / (n * steps) * 1000
    print(json.dumps({
        "maze": args.maze, "envs": n, "steps": steps, "image_size": 64, "mujoco_gl": os.environ["MUJOCO_GL"],
        "make_ms_per_env": round(make_ms, 2), "reset_ms_per_env": round(reset_ms, 2),
        "package_step_ms_per_env": round(step_ms, 4), "render_ms_per_env": round(render_ms, 3),
        "adapter_step_ms_per_env": round(adapter_ms, 3), "sync_vector_step_ms_per_env": round(vec_ms, 4),
        "generate_s_per_1000_steps": round(gen_s, 2), "threads": torch.get_num_threads(),
        "load_avg_1min": round(os.getloadavg()[0], 2), "machine": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
