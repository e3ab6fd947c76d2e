"""Two Rooms: geometry, collision rule, episodes, gymnasium API."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import jepa_world.envs  # noqa: F401  (registers the env)
from jepa_world.envs import ENV_ID, TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.render import render, render_walls


def wall_pixels(wall_x: int, door_y: int, style: str = "arena") -> np.ndarray:
    """Independent construction of the wall mask from the written specification (docs/two_rooms.md)."""
    m = np.zeros((65, 65), bool)
    span = slice(4, 61) if style == "arena" else slice(0, 65)
    m[4, span] = m[60, span] = m[span, 4] = m[span, 60] = True
    rows = range(5, 60) if style == "arena" else range(65)
    for c in (wall_x - 1, wall_x, wall_x + 1):
        for r in rows:
            if not door_y - 4 <= r <= door_y + 4:
                m[r, c] = True
    return m


@pytest.mark.parametrize("style", ["arena", "ebjepa"])
@pytest.mark.parametrize("wall_x,door_y", [(20, 10), (32, 18), (44, 54), (27, 33)])
def test_wall_channel_matches_spec(wall_x, door_y, style):
    walls = render_walls(torch.tensor([wall_x]), torch.tensor([door_y]), walls=style)[0].numpy()
    assert (walls.astype(bool) == wall_pixels(wall_x, door_y, style)).all()
    assert walls.sum() == (362 if style == "arena" else 418)
    assert walls[door_y - 4 : door_y + 5, wall_x - 1 : wall_x + 2].sum() == 0  # 9-px door
    assert walls[door_y + 5, wall_x - 1 : wall_x + 2].all() and walls[door_y - 5, wall_x].all()


def test_agent_blob_is_gaussian_at_subpixel_position():
    pos = torch.tensor([[30.3, 17.8]])
    obs = render(pos, torch.tensor([44]), torch.tensor([30]))
    r, c = 20, 33
    expected = np.exp(-((c - 30.3) ** 2 + (r - 17.8) ** 2) / (2 * 1.3**2))
    assert obs.shape == (1, 2, 65, 65) and obs.dtype == torch.float32
    assert obs[0, 0, r, c].item() == pytest.approx(expected, rel=1e-5)
    peak = torch.nonzero(obs[0, 0] == obs[0, 0].max())[0].tolist()
    assert peak == [18, 30]


def test_layouts_cover_the_grid():
    g = torch.Generator().manual_seed(0)
    wx, dy = geo.sample_layouts(50_000, generator=g)
    assert wx.min() == 20 and wx.max() == 44 and dy.min() == 10 and dy.max() == 54
    assert (wx * 100 + dy).unique().numel() == 25 * 45
    fx, fy = geo.sample_layouts(3, generator=g, fixed=True)
    assert fx.tolist() == [32] * 3 and fy.tolist() == [18] * 3


def _crosses_wall_outside_door(p0, p1, wall_x, door_y) -> bool:
    """Independent check: sample the segment densely; any point in a wall pixel's square is a crossing."""
    ts = np.linspace(0, 1, 200)[:, None]
    pts = p0 + ts * (p1 - p0)
    in_cols = np.abs(pts[:, 0] - wall_x) < 1.5 + 1e-9
    in_door = np.abs(pts[:, 1] - door_y) <= 4.0 + 1e-9
    return bool((in_cols & ~in_door).any())


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.5, 3.0))
def test_collision_rule_property(seed, scale):
    """Random actions from random free points never enter a wall pixel nor cross the wall outside the door."""
    g = torch.Generator().manual_seed(seed)
    n = 256
    wall_x, door_y = geo.sample_layouts(n, generator=g)
    pos = geo.sample_in_room(n, (torch.rand(n, generator=g) < 0.5).long(), wall_x, generator=g, margin=1.0)
    for _ in range(25):
        a = geo.clip_action_norm(torch.randn(n, 2, generator=g, dtype=torch.float64) * scale)
        new = geo.move(pos, a, wall_x, door_y)
        assert geo.is_free(new, wall_x, door_y, tol=1e-9).all()
        px = new.round().long()
        for i in range(0, n, 16):  # pixel check against the rendered wall channel
            walls = wall_pixels(int(wall_x[i]), int(door_y[i]))
            assert not walls[px[i, 1], px[i, 0]]
            assert not _crosses_wall_outside_door(pos[i].numpy(), new[i].numpy(), int(wall_x[i]), int(door_y[i]))
        assert ((new - pos).norm(dim=-1) <= a.norm(dim=-1) + 1e-9).all()
        pos = new


def test_move_stops_at_last_free_point():
    wx, dy = torch.tensor([32]), torch.tensor([18])
    # heading right into the wall, far from the door: stop on the wall's free boundary x = 30
    new = geo.move(torch.tensor([[29.0, 40.0]], dtype=torch.float64), torch.tensor([[2.0, 0.0]]), wx, dy)
    assert new[0].tolist() == pytest.approx([30.0, 40.0])
    # diagonal: stops at x = 30 with y advanced proportionally
    new = geo.move(torch.tensor([[29.0, 40.0]], dtype=torch.float64), torch.tensor([[2.0, 1.0]]), wx, dy)
    assert new[0].tolist() == pytest.approx([30.0, 40.5])
    # through the door: free all the way
    new = geo.move(torch.tensor([[29.5, 18.0]], dtype=torch.float64), torch.tensor([[2.4, 0.0]]), wx, dy)
    assert new[0].tolist() == pytest.approx([31.9, 18.0])
    # border
    new = geo.move(torch.tensor([[6.0, 6.0]], dtype=torch.float64), torch.tensor([[-2.0, 0.0]]), wx, dy)
    assert new[0].tolist() == pytest.approx([5.0, 6.0])


def test_actions_are_clipped_to_norm():
    a = geo.clip_action_norm(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    assert a[0].norm().item() == pytest.approx(2.45)
    assert a[1].tolist() == [1.0, 0.0]


def test_episode_starts_and_goals_in_opposite_rooms():
    g = torch.Generator().manual_seed(1)
    ep = sample_episodes(4000, generator=g)
    rs, rg = geo.room_of(ep.start, ep.wall_x), geo.room_of(ep.goal, ep.wall_x)
    assert (rs != rg).all()
    assert 0.45 < rs.float().mean().item() < 0.55
    for p in (ep.start, ep.goal):
        assert p[:, 1].min() >= 6.6 - 1e-5 and p[:, 1].max() <= 57.4 + 1e-5
        left = p[:, 0] < ep.wall_x
        assert (p[left, 0] >= 6.6 - 1e-5).all() and (p[left, 0] <= ep.wall_x[left] - 3.6 + 1e-4).all()
        assert (p[~left, 0] >= ep.wall_x[~left] + 3.6 - 1e-4).all() and (p[~left, 0] <= 57.4 + 1e-5).all()


def test_success_criterion_and_distance_info():
    from jepa_world.envs import Episodes

    env = TwoRoomsBatch(2, TwoRoomsConfig(max_steps=3))
    layout = torch.tensor([32, 32]), torch.tensor([18, 18])
    goal = torch.tensor([[45.0, 40.0], [45.0, 40.0]])
    ep = Episodes(*layout, start=torch.tensor([[40.6, 40.0], [40.4, 40.0]]), goal=goal)
    obs, info = env.reset(episodes=ep)
    assert info["distance"].tolist() == pytest.approx([4.4, 4.6], abs=1e-4)
    assert info["success"].tolist() == [True, False]
    for _ in range(3):
        obs, info = env.step(torch.tensor([[0.0, 0.0], [0.3, 0.0]]))
    assert info["success"].tolist() == [True, True]
    assert env.done and info["t"] == 3
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 2))


def test_goal_observation_draws_agent_at_goal():
    env = TwoRoomsBatch(3)
    _, info = env.reset(seed=5)
    expected = render(info["goal_pos"], info["wall_x"], info["door_y"])
    assert torch.equal(info["goal_obs"], expected)


def test_seeding_is_reproducible():
    a, b, c = TwoRoomsBatch(5), TwoRoomsBatch(5), TwoRoomsBatch(5)
    oa, ia = a.reset(seed=3)
    ob, ib = b.reset(seed=3)
    oc, ic = c.reset(seed=4)
    assert torch.equal(oa, ob) and torch.equal(ia["goal_pos"], ib["goal_pos"])
    assert not torch.equal(ia["goal_pos"], ic["goal_pos"])


def test_bad_actions_shape():
    env = TwoRoomsBatch(2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        env.step(torch.zeros(3, 2))


def test_gymnasium_api():
    env = gym.make(ENV_ID)
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2, 65, 65) and obs.dtype == np.float32
    assert {"goal_obs", "goal_pos", "distance", "pos"} <= set(info)
    steps = 0
    truncated = False
    while not truncated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
    assert steps == 200 and not terminated
    env2 = gym.make(ENV_ID, render_mode="rgb_array")
    env2.reset(seed=0)
    frame = env2.render()
    assert frame.shape == (260, 260, 3) and frame.dtype == np.uint8


def test_make_vec():
    envs = gym.make_vec(ENV_ID, num_envs=3)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (3, 2, 65, 65)
    obs, reward, term, trunc, info = envs.step(np.zeros((3, 2), np.float32))
    assert info["distance"].shape == (3,)
    envs.close()
