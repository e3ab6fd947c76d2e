"""The maze: layouts, walls, the collision rule, episodes, the batched env against the gymnasium env, the oracle."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import jepa_world.envs  # noqa: F401  (registers the envs)
from jepa_world.envs import MAZE_ENV_ID, MazeBatch, MazeConfig
from jepa_world.envs.free_space import last_free_point
from jepa_world.envs.maze import geometry as geo
from jepa_world.envs.maze.batch import sample_episodes
from jepa_world.envs.maze.layout import maze_grid, room_distances, sample_layouts, spanning_tree
from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.envs.maze.render import render, render_walls
from jepa_world.envs.two_rooms.geometry import clip_action_norm


def wall_pixels(doors: list[int], n: int) -> np.ndarray:
    """Independent construction of the wall mask from the written specification (docs/hierarchical.md)."""
    walls = [round(4 + 56 * k / n) for k in range(1, n)]
    lines = [4, *walls, 60]
    spans = [(lines[k] + (1 if k == 0 else 2), lines[k + 1] - (1 if k == n - 1 else 2)) for k in range(n)]
    m = np.zeros((65, 65), bool)
    m[4, 4:61] = m[60, 4:61] = m[4:61, 4] = m[4:61, 60] = True
    for w in walls:
        m[5:60, w - 1:w + 2] = True
        m[w - 1:w + 2, 5:60] = True
    slot = 0
    for r in range(n):  # vertical walls: the door runs along row r's span
        for c in range(n - 1):
            d = doors[slot]
            slot += 1
            if d:
                assert spans[r][0] <= d - 4 and d + 4 <= spans[r][1]
                m[d - 4:d + 5, walls[c] - 1:walls[c] + 2] = False
    for r in range(n - 1):  # horizontal walls: the door runs along column c's span
        for c in range(n):
            d = doors[slot]
            slot += 1
            if d:
                assert spans[c][0] <= d - 4 and d + 4 <= spans[c][1]
                m[walls[r] - 1:walls[r] + 2, d - 4:d + 5] = False
    return m


@pytest.mark.parametrize("n", [2, 3, 4])
def test_wall_channel_matches_spec(n):
    doors = sample_layouts(20, maze_grid(n), generator=torch.Generator().manual_seed(n), extra_door_prob=0.3)
    walls = render_walls(doors).numpy().astype(bool)
    for i in range(20):
        assert (walls[i] == wall_pixels(doors[i].tolist(), n)).all()


def test_grid_geometry():
    grid = maze_grid(3)
    assert grid.walls == (23, 41) and grid.room_span == ((5, 21), (25, 39), (43, 59))
    assert grid.num_edges == 12 and grid.edge_rooms[0].tolist() == [0, 1] and grid.edge_rooms[6].tolist() == [0, 3]
    assert grid.neighbours[4].tolist() == [5, 3, 7, 1] and grid.neighbours[0].tolist() == [1, -1, 3, -1]
    with pytest.raises(ValueError, match="rooms per side"):
        maze_grid(5)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_every_room_is_reachable_and_trees_have_r_minus_1_doors(n):
    grid = maze_grid(n)
    g = torch.Generator().manual_seed(0)
    tree = spanning_tree(500, grid, generator=g)
    assert (tree.sum(1) == grid.num_rooms - 1).all()
    doors = sample_layouts(500, grid, generator=g)
    assert ((doors > 0).sum(1) == grid.num_rooms - 1).all()
    assert (room_distances(doors) >= 0).all()  # connected
    assert ((sample_layouts(50, grid, generator=g, extra_door_prob=1.0) > 0).all())
    assert (doors[doors > 0] >= grid.door_min.expand_as(doors)[doors > 0]).all()
    assert (doors[doors > 0] <= grid.door_max.expand_as(doors)[doors > 0]).all()
    # many different trees: the 2x2 grid (a 4-cycle) has exactly 4, the 3x3 grid 192
    distinct = tree.unique(dim=0).shape[0]
    assert distinct == 4 if n == 2 else distinct > {3: 100, 4: 400}[n]


def test_room_distances_closed_form():
    doors = torch.zeros(1, 12, dtype=torch.long)
    doors[0, [0, 1]] = 13  # row 0: rooms 0 - 1 - 2
    doors[0, [8, 11]] = 51  # column 2 down: rooms 2 - 5 - 8
    dist = room_distances(doors)[0]
    assert dist[0, 8] == 4 and dist[8, 0] == 4 and dist[0, 2] == 2 and dist[0, 0] == 0
    assert dist[0, 3] == -1 and dist[3, 4] == -1  # rooms 3, 4 not connected to anything
    assert (dist == dist.T).all()


def _crosses_wall(p0: np.ndarray, p1: np.ndarray, walls: np.ndarray) -> bool:
    """Independent check: a segment point rounding to a wall pixel."""
    pts = p0 + np.linspace(0, 1, 100)[:, None] * (p1 - p0)
    px = np.round(pts).astype(int)
    return bool(walls[px[:, 1], px[:, 0]].any())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.5, 3.0), n=st.sampled_from([2, 3, 4]))
def test_collision_rule_property(seed, scale, n):
    """Random actions from free points never cross or enter a wall; the local rule equals the all-rectangles rule."""
    g = torch.Generator().manual_seed(seed)
    m = 128
    config = MazeConfig(rooms=n, extra_door_prob=0.3, min_room_distance=0)
    eps = sample_episodes(m, config, generator=g)
    pos = eps.start.double()
    lo, hi = geo.all_rectangles(eps.doors)
    masks = render_walls(eps.doors).numpy().astype(bool)
    for _ in range(20):
        a = clip_action_norm(torch.randn(m, 2, generator=g, dtype=torch.float64) * scale)
        new = geo.move(pos, a, eps.doors)
        brute = last_free_point(pos, a, lo, hi, hops=lo.shape[1] - 1)
        torch.testing.assert_close(new, brute, atol=1e-9, rtol=0)
        assert geo.is_free(new, eps.doors, tol=1e-9).all()
        assert ((new - pos).norm(dim=-1) <= a.norm(dim=-1) + 1e-9).all()
        for i in range(0, m, 8):
            assert not _crosses_wall(pos[i].numpy(), new[i].numpy(), masks[i])
        pos = new


def test_a_step_from_a_door_into_the_next_rooms_door():
    """Found by the property test: from inside the door between rooms 10 and 11 of a 4x4 maze, one step
    crosses room 11's corner into room 11's own door upwards (a door room 10 does not have)."""
    doors = torch.zeros(1, 24, dtype=torch.long)
    doors[0, 8] = 38  # rooms 10 | 11: x 44..48, y 34..42
    doors[0, 19] = 52  # rooms 7 / 11: x 48..56, y 30..34
    pos = torch.tensor([[45.831049272044815, 34.691062219364255]], dtype=torch.float64)
    a = torch.tensor([[2.3478706073642104, -0.7000025793346859]], dtype=torch.float64)
    lo, hi = geo.all_rectangles(doors)
    brute = last_free_point(pos, a, lo, hi, hops=lo.shape[1] - 1)
    assert brute[0, 1] < 34.0  # it does enter the upper door
    torch.testing.assert_close(geo.move(pos, a, doors), brute, atol=1e-9, rtol=0)


def test_move_stops_at_last_free_point():
    doors = torch.zeros(1, 12, dtype=torch.long)
    doors[0, 0] = 13  # vertical wall at column 23 between rooms 0 and 1, open on rows 9..17
    p = torch.tensor([[20.0, 13.0]], dtype=torch.float64)
    assert geo.move(p, torch.tensor([[2.4, 0.0]]), doors)[0].tolist() == pytest.approx([22.4, 13.0])
    p = torch.tensor([[20.0, 19.0]], dtype=torch.float64)  # below the door: stop on the wall's free edge x = 21
    assert geo.move(p, torch.tensor([[2.4, 0.0]]), doors)[0].tolist() == pytest.approx([21.0, 19.0])
    p = torch.tensor([[20.0, 18.0]], dtype=torch.float64)  # diagonal: y advances in proportion
    assert geo.move(p, torch.tensor([[2.0, -2.0]]), doors)[0].tolist() == pytest.approx([22.0, 16.0])
    p = torch.tensor([[10.0, 20.0]], dtype=torch.float64)  # solid horizontal wall at row 23
    assert geo.move(p, torch.tensor([[0.0, 2.4]]), doors)[0].tolist() == pytest.approx([10.0, 21.0])


def test_held_action_in_one_segment_equals_stepping():
    eps = sample_episodes(300, MazeConfig(extra_door_prob=0.3, min_room_distance=0),
                          generator=torch.Generator().manual_seed(3))
    oracle = MazeOracle()
    z0 = torch.cat([eps.start, eps.doors.float()], 1)
    a = 3 * torch.randn(300, 2, generator=torch.Generator().manual_seed(4))
    z = z0
    for _ in range(12):
        z = oracle.step(z, a)
    torch.testing.assert_close(oracle.hold(z0, a, 12), z, atol=1e-3, rtol=0)


def test_episodes_are_far_apart_and_inside_their_rooms():
    config = MazeConfig()
    eps = sample_episodes(2000, config, generator=torch.Generator().manual_seed(1))
    grid = maze_grid(3)
    dist = room_distances(eps.doors)
    rows = torch.arange(2000)
    s_room, g_room = geo.room_of(eps.start.double(), grid), geo.room_of(eps.goal.double(), grid)
    assert torch.equal(dist[rows, s_room, g_room], eps.room_distance)
    assert (eps.room_distance >= 3).all() and eps.room_distance.max() >= 6
    for p, room in ((eps.start, s_room), (eps.goal, g_room)):
        lo, hi = geo.room_bounds(room, grid, margin=config.start_margin)
        assert (p >= lo - 1e-4).all() and (p <= hi + 1e-4).all()
        assert geo.is_free(p, eps.doors).all()
    with pytest.raises(ValueError, match="min_room_distance"):
        MazeConfig(min_room_distance=5, rooms=2)


def test_batched_env_matches_gymnasium_env():
    env = gym.make(MAZE_ENV_ID)
    obs, info = env.reset(seed=7)
    episode = env.unwrapped._core.ep
    others = sample_episodes(2, generator=torch.Generator().manual_seed(0))
    both = type(episode)(*(torch.cat([getattr(others, f)[:1], getattr(episode, f), getattr(others, f)[1:]])
                           for f in ("doors", "start", "goal", "room_distance")))
    batch = MazeBatch(3)
    bobs, binfo = batch.reset(episodes=both)
    np.testing.assert_array_equal(bobs[1].numpy(), obs)
    np.testing.assert_array_equal(binfo["goal_obs"][1].numpy(), info["goal_obs"])
    g = np.random.default_rng(0)
    for _ in range(40):
        a = g.normal(size=(3, 2)).astype(np.float32) * 2
        obs, reward, terminated, truncated, info = env.step(a[1])
        bobs, binfo = batch.step(torch.from_numpy(a))
        np.testing.assert_array_equal(bobs[1].numpy(), obs)
        assert info["distance"] == pytest.approx(float(binfo["distance"][1]))
        assert reward == float(binfo["success"][1]) and not terminated
    assert info["room_distance"] >= 3 and info["doors"].shape == (12,)


def test_gymnasium_api():
    env = gym.make(MAZE_ENV_ID, max_steps=5, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    again, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs, again)
    assert obs.shape == (2, 65, 65) and obs.dtype == np.float32 and env.render().shape == (260, 260, 3)
    for _ in range(5):
        *_, truncated, _ = env.step(env.action_space.sample())
    assert truncated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_oracle_encode_recovers_state_and_rollout_matches_env(n):
    config = MazeConfig(rooms=n, extra_door_prob=0.3, min_room_distance=1)
    eps = sample_episodes(64, config, generator=torch.Generator().manual_seed(n))
    oracle = MazeOracle(rooms=n)
    z = oracle.encode(render(eps.start + torch.rand(64, 2) - 0.5, eps.doors))
    assert torch.equal(z[:, 2:], eps.doors.float())
    env = MazeBatch(64, config)
    obs, _ = env.reset(episodes=eps)
    z = oracle.encode(obs)
    assert (z[:, :2] - eps.start).abs().max() < 0.01
    actions = 3 * torch.randn(64, 25, 2, generator=torch.Generator().manual_seed(0))
    predicted = oracle.rollout(z, actions)
    for t in range(25):
        _, info = env.step(actions[:, t])
        assert (predicted[:, t, :2] - info["pos"]).abs().max() < 0.05  # the encoding error (< 0.004 px) grows at walls
    with pytest.raises(ValueError, match="rooms"):
        oracle.step(torch.zeros(2, 5), torch.zeros(2, 2))
