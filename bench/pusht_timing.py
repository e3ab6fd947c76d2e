"""Benchmark: PushT (gym-pusht) adapter timings and exploration-data generation speed, one process.

Measures, per env and step: the package's physics step, our reset to a state, the frame at 64 px (goal region
hidden), a PushTBatch step of N envs (physics + frames), gymnasium's SyncVectorEnv over the package env with
pixel observations (for comparison), data generation (frames + actions + states) per 1000 steps, and how far
the goals of evaluation episodes (goal 25 steps along an exploration trajectory) are from their starts.
Usage: OMP_NUM_THREADS=1 python bench/pusht_timing.py [--steps 300] [--envs 8]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch


def per_call_ms(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return round((time.perf_counter() - start) / calls * 1e3, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300, help="calls timed per measurement")
    ap.add_argument("--envs", type=int, default=8, help="N of the batched env and of the vector env")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--episodes", type=int, default=100, help="DINO-WM-protocol episodes sampled (seed 0)")
    args = ap.parse_args()

    import gymnasium as gym

    from jepa_world.data.pusht_gen import PushTDataConfig, generate
    from jepa_world.envs.pusht.batch import PushTBatch, PushTConfig, sample_episodes
    from jepa_world.envs.pusht.package import make_pusht_env
    from jepa_world.envs.pusht.render import render_frame
    from jepa_world.envs.pusht.state import reset_to_state

    env, rng = make_pusht_env(), np.random.default_rng(0)
    reset_to_state(env, np.array([100.0, 100.0, 300.0, 300.0, 0.5]))
    out = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "omp_threads": os.environ.get("OMP_NUM_THREADS"), "image_size": args.image_size, "n_envs": args.envs}
    out["package_step_ms"] = per_call_ms(lambda: env.step(rng.uniform(50, 450, 2)), args.steps)
    out["reset_to_state_ms"] = per_call_ms(lambda: reset_to_state(env, np.array([80.0, 90.0, 250.0, 260.0, 1.0])),
                                           args.steps)
    out["frame_ms"] = per_call_ms(lambda: render_frame(env, args.image_size), args.steps)
    out["frame_with_goal_ms"] = per_call_ms(lambda: render_frame(env, args.image_size, show_goal=True), args.steps)

    batch = PushTBatch(args.envs, PushTConfig(image_size=args.image_size, max_steps=10**9))
    batch.reset(episodes=sample_episodes(args.envs, batch.config, generator=torch.Generator().manual_seed(0)))
    calls = max(args.steps // args.envs, 5)
    ms = per_call_ms(lambda: batch.step(torch.randn(args.envs, 2) * 0.2), calls)
    out["batch_step_ms_per_env"] = round(ms / args.envs, 3)

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("gym_pusht/PushT-v0", obs_type="pixels",
                                                     observation_width=args.image_size,
                                                     observation_height=args.image_size)
                                    for _ in range(args.envs)])
    vec.reset(seed=0)
    ms = per_call_ms(lambda: vec.step(rng.uniform(50, 450, (args.envs, 2)).astype(np.float32)), calls)
    out["sync_vector_env_step_ms_per_env"] = round(ms / args.envs, 3)

    cfg = PushTDataConfig(length=101, image_size=args.image_size)
    start = time.perf_counter()
    n = max(args.steps // 100, 2)
    generate(n, cfg, seed=0)
    out["generation_s_per_1000_steps"] = round((time.perf_counter() - start) / (n * 100) * 1000, 3)

    from jepa_world.envs.pusht.success import pusht_distance

    episodes = sample_episodes(args.episodes, PushTConfig(), generator=torch.Generator().manual_seed(0))
    start_distance = pusht_distance(episodes.start, episodes.goal)
    out["episodes"] = args.episodes
    out["episode_start_distance_median"] = round(float(start_distance.median()), 3)
    out["episodes_solved_at_start"] = round(float((start_distance < 1).float().mean()), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
