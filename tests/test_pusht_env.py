"""The PushT adapter against gym-pusht itself: same actions, same states and pixels; resets; errors."""

import math

import numpy as np
import pytest
import torch

pytest.importorskip("gym_pusht", reason="PushT needs the extra: pip install 'jepa-world[pusht]'")

import gymnasium as gym  # noqa: E402

from jepa_world.envs.pusht.batch import (  # noqa: E402
    PushTBatch,
    PushTConfig,
    PushTEpisodes,
    explore_trajectories,
    random_states,
    sample_episodes,
)
from jepa_world.envs.pusht.package import make_pusht_env  # noqa: E402
from jepa_world.envs.pusht.render import render_frame  # noqa: E402
from jepa_world.envs.pusht.state import reset_to_state  # noqa: E402

START = np.array([[100.0, 120.0, 300.0, 280.0, 0.7], [400.0, 420.0, 200.0, 200.0, 4.0]])
GOAL = np.array([[380.0, 90.0, 250.0, 300.0, 2.0], [60.0, 60.0, 320.0, 220.0, 5.5]])
LIGHT_GREEN = (144, 238, 144)  # the package's goal region colour


def episodes(start=START, goal=GOAL):
    return PushTEpisodes(torch.from_numpy(start), torch.from_numpy(goal))


def package_env(obs_type, **kwargs):
    return gym.make("gym_pusht/PushT-v0", obs_type=obs_type, disable_env_checker=True, **kwargs)


def as_uint8(obs):
    return (obs * 255).round().to(torch.uint8).numpy()


def test_same_actions_same_states_and_pixels_as_the_package():
    """Absolute targets stepped through our batch and through gym.make(PushT-v0) give the same states and, at
    512 px with the goal region drawn, the same pixels as the package's own pixel observation. The package is
    reset with raw states; ours with the states the package reached (so our reset's correction is tested too)."""
    actions = np.array([[[300, 250], [150, 150]], [[310, 265], [210, 205]], [[320, 280], [260, 230]],
                        [[250, 400], [300, 260]], [[250, 400], [300, 260]]], dtype=np.float32)
    states = [package_env("state") for _ in range(2)]
    pixels = [package_env("pixels", observation_width=512, observation_height=512) for _ in range(2)]
    reached = np.stack([env.reset(options={"reset_to_state": START[i]})[0] for i, env in enumerate(states)])
    first = [env.reset(options={"reset_to_state": START[i]})[0] for i, env in enumerate(pixels)]
    ours = PushTBatch(2, PushTConfig(image_size=512, show_goal_region=True, relative_actions=False, max_steps=5))
    obs, info = ours.reset(episodes=episodes(start=reached))
    assert np.allclose(info["state"].numpy(), reached, atol=1e-6)
    for i in range(2):
        assert np.array_equal(as_uint8(obs[i]), first[i].transpose(2, 0, 1))
    for t in range(len(actions)):
        obs, info = ours.step(torch.from_numpy(actions[t]))
        for i in range(2):
            s = states[i].step(actions[t, i])[0]
            p = pixels[i].step(actions[t, i])[0]
            assert np.allclose(info["state"][i].numpy(), s, atol=1e-6), (t, i, info["state"][i], s)
            assert np.array_equal(as_uint8(obs[i]), p.transpose(2, 0, 1)), (t, i)
    assert not np.allclose(info["state"][:, 2:].numpy(), reached[:, 2:], atol=1.0), "the actions must push a block"


def test_small_frames_are_the_full_drawing_averaged():
    """At 64 px a frame is the 512 px drawing averaged over 8 x 8 blocks (up to the filter's rounding)."""
    env = make_pusht_env()
    reset_to_state(env, START[0])
    full = render_frame(env, 512).astype(np.float64)
    box = full.reshape(3, 64, 8, 64, 8).mean(axis=(2, 4))
    assert np.abs(render_frame(env, 64) - box).max() <= 2.0


def test_goal_region_is_hidden_unless_asked():
    env = make_pusht_env()
    reset_to_state(env, START[0])
    for show, expect in ((True, True), (False, False)):
        frame = render_frame(env, 512, show_goal=show)
        green = np.all(frame == np.array(LIGHT_GREEN)[:, None, None], axis=0)
        assert bool(green.sum() > 1000) == expect


def test_reset_places_start_and_goal_and_renders_the_goal_state():
    env = PushTBatch(2, PushTConfig(image_size=64))
    obs, info = env.reset(episodes=episodes())
    assert np.allclose(info["state"].numpy(), _wrapped(START), atol=1e-6)
    assert np.allclose(info["goal_state"].numpy(), _wrapped(GOAL), atol=1e-6)
    fresh = make_pusht_env()
    for i in range(2):
        reset_to_state(fresh, GOAL[i])
        assert np.array_equal(as_uint8(info["goal_obs"][i]), render_frame(fresh, 64))
    assert obs.shape == (2, 3, 64, 64) and float(obs.min()) >= 0.0 and float(obs.max()) <= 1.0
    assert not torch.equal(obs, info["goal_obs"])
    same, info = env.reset(episodes=episodes(start=GOAL))
    assert torch.equal(same, info["goal_obs"]) and bool(info["success"].all())
    assert torch.allclose(info["distance"], torch.zeros(2), atol=1e-5)


def test_success_needs_both_block_pose_and_agent_near_the_goal():
    goal = GOAL[:1].copy()
    moved = goal.copy()
    moved[0, 2] += 25.0  # block 25 px away: not solved
    turned = goal.copy()
    turned[0, 4] += math.radians(10)  # 10 degrees: solved
    env = PushTBatch(1)
    for start, ok in ((moved, False), (turned, True)):
        _, info = env.reset(episodes=episodes(start=start, goal=goal))
        assert bool(info["success"][0]) == ok


def test_zero_relative_action_keeps_the_agent_in_place():
    env = PushTBatch(2, PushTConfig(max_steps=3))
    _, first = env.reset(episodes=episodes())
    for _ in range(3):
        _, info = env.step(torch.zeros(2, 2))
    assert torch.allclose(info["state"], first["state"], atol=1e-6)


def test_relative_actions_move_the_target_by_action_scale():
    env = PushTBatch(2, PushTConfig(action_scale=100.0))
    _, info = env.reset(episodes=episodes())
    targets = env.targets(torch.tensor([[0.5, -0.25], [0.0, 0.1]]))
    assert np.allclose(targets, info["state"][:, :2].numpy() + np.array([[50.0, -25.0], [0.0, 10.0]]))


def test_bad_actions_and_episodes_raise_clear_errors():
    env = PushTBatch(2, PushTConfig(max_steps=1))
    env.reset(episodes=episodes())
    with pytest.raises(ValueError, match=r"actions must be \(2, 2\), got \(2, 3\)"):
        env.step(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="finite"):
        env.step(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    env.step(torch.zeros(2, 2))
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"episodes.start must be \(2, 5\)"):
        env.reset(episodes=PushTEpisodes(torch.zeros(3, 5, dtype=torch.float64), torch.zeros(3, 5)))
    with pytest.raises(ValueError, match="image_size"):
        PushTConfig(image_size=4)


def test_sampled_episodes_follow_exploration_and_are_reproducible():
    cfg = PushTConfig(goal_offset=10)
    a = sample_episodes(3, cfg, generator=torch.Generator().manual_seed(5))
    b = sample_episodes(3, cfg, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.start, b.start) and torch.equal(a.goal, b.goal)
    assert a.start.shape == a.goal.shape == (3, 5) and not torch.allclose(a.start, a.goal)


def test_exploration_makes_contact():
    """The scripted policy moves the block in a good share of steps (measured ~49% on 40 x 100 steps)."""
    states, targets = explore_trajectories(random_states(4, generator=torch.Generator().manual_seed(0)), 40,
                                           rng=np.random.default_rng(0))
    step = np.linalg.norm(np.diff(states[:, :, 2:4], axis=1), axis=-1)
    assert targets.shape == (4, 40, 2) and (step > 0.5).mean() > 0.2


def _wrapped(states):
    out = states.copy()
    out[:, 4] %= 2 * math.pi
    return out
