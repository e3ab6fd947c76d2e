"""gymnasium conventions: ids registered by `import jepa_world`, a time limit, and vector envs over the batched
cores that match the single envs step for step."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import jepa_world  # noqa: F401  (registers the ids)
from jepa_world.envs.vector import MazeVectorEnv, TwoRoomsVectorEnv
from jepa_world.gym_registration import MAZE_ID, TWO_ROOMS_ID

IDS = {TWO_ROOMS_ID: (TwoRoomsVectorEnv, 200), MAZE_ID: (MazeVectorEnv, 80)}


def test_make_after_importing_only_the_package():
    code = ("import gymnasium as gym, jepa_world; env = gym.make('jepa_world/TwoRooms-v0'); env.reset(seed=0); "
            "env = gym.make('jepa_world/Maze-v0'); env.reset(seed=0); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("env_id", sorted(IDS))
def test_registered_time_limit_truncates(env_id):
    steps = IDS[env_id][1]
    env = gym.make(env_id)
    assert env.spec.max_episode_steps == steps
    env.reset(seed=0)
    for t in range(steps):
        *_, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
        assert truncated == (t == steps - 1) and not terminated


@pytest.mark.parametrize("env_id", sorted(IDS))
def test_single_env_passes_gymnasium_checks(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", sorted(IDS))
def test_make_vec_uses_the_batched_core(env_id):
    cls, steps = IDS[env_id]
    env = gym.make_vec(env_id, num_envs=3)
    assert isinstance(env, cls) and env.num_envs == 3
    assert env.single_observation_space == gym.make(env_id).observation_space
    assert env.observation_space.shape == (3, 2, 65, 65) and env.action_space.shape == (3, 2)
    assert env._core.config.max_steps == steps


@pytest.mark.parametrize("env_id", sorted(IDS))
def test_vector_env_matches_single_envs_step_for_step(env_id):
    """Env i of the vector env reset with seed s is the single env reset with seed s + i, through an autoreset."""
    n, steps = 3, 6
    vec = gym.make_vec(env_id, num_envs=n, max_steps=steps)
    singles = [gym.make(env_id, max_steps=steps) for _ in range(n)]
    rng = np.random.default_rng(0)
    obs, info = vec.reset(seed=7)
    assert vec.observation_space.contains(obs)
    for i, env in enumerate(singles):
        o, inf = env.reset(seed=7 + i)
        np.testing.assert_array_equal(obs[i], o)
        np.testing.assert_array_equal(info["goal_obs"][i], inf["goal_obs"])
    for t in range(2 * steps + 1):
        actions = rng.uniform(-2.5, 2.5, (n, 2)).astype(np.float32)
        obs, reward, terminated, truncated, info = vec.step(actions)
        assert obs.dtype == np.float32 and reward.shape == truncated.shape == terminated.shape == (n,)
        for i, env in enumerate(singles):
            if t == steps:  # the step after truncation: next-step autoreset, as SyncVectorEnv does
                o, inf = env.reset()
                r, term, trunc = 0.0, False, False
            else:
                o, r, term, trunc, inf = env.step(actions[i])
            np.testing.assert_array_equal(obs[i], o)
            assert (reward[i], terminated[i], truncated[i]) == (r, term, trunc), t
            assert info["distance"][i] == pytest.approx(inf["distance"]) and info["_distance"][i]


def test_vector_env_is_a_proper_vector_env():
    env = gym.make_vec(TWO_ROOMS_ID, num_envs=2, render_mode="rgb_array")
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    env.reset(seed=[3, None])
    frames = env.render()
    assert len(frames) == 2 and frames[0].shape == (260, 260, 3)
    with pytest.raises(ValueError, match="actions must be"):
        env.step(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full((2, 2), np.nan, np.float32))
    env.close()
