"""PointMaze adapter (optional extra ``pointmaze``) against gymnasium-robotics' own env, and its protocol.

Oracles: the package's env stepped with the same actions (same states, same frames), the package's own goal
test (``compute_reward``), the camera's map geometry (cell -> pixels), invariance of frames to the goal.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

from jepa_world.envs.pointmaze.episodes import POSITION_NOISE, PointMazeEpisodes, sample_from_grid
from jepa_world.envs.pointmaze.layout import cell_centres, cell_distances, cells_of, free_cells, to_pixels
from jepa_world.errors import UserError

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless rendering
pytest.importorskip("gymnasium_robotics", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')
pytest.importorskip("mujoco", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')

import gymnasium as gym  # noqa: E402
import gymnasium_robotics  # noqa: E402

from jepa_world.envs.pointmaze import PointMazeBatch, PointMazeConfig, sample_episodes  # noqa: E402
from jepa_world.envs.pointmaze.camera import TopDownCamera  # noqa: E402
from jepa_world.envs.pointmaze.layout import maze_map  # noqa: E402

gym.register_envs(gymnasium_robotics)


def ball_centre(frame: torch.Tensor) -> torch.Tensor:
    """(3, S, S) float frame -> (row, col) centroid of the green ball's pixels."""
    r, g, b = frame
    mask = (g > r + 0.08) & (g > b + 0.08)
    assert mask.any(), "no ball pixels"
    return torch.nonzero(mask).float().mean(0)


def expected_pixel(xy: torch.Tensor, shape: tuple[int, int], size: int) -> torch.Tensor:
    """The camera's map geometry: the maze's max(rows, cols) units span the image, centred on the origin."""
    extent = max(shape)
    col = (xy[0] + extent / 2) / extent * size - 0.5
    row = (extent / 2 - xy[1]) / extent * size - 0.5
    assert torch.allclose(to_pixels(xy, shape, size), torch.stack([col, row]).double())
    return torch.tensor([row, col], dtype=torch.float32)


@pytest.mark.parametrize("maze,gym_id", [("umaze", "PointMaze_UMaze-v3"), ("medium", "PointMaze_Medium-v3")])
def test_adapter_matches_package_env_on_same_actions(maze, gym_id):
    used = PointMazeBatch(1, PointMazeConfig(maze=maze))  # a used env, handed back: the adapter below reuses it
    used.reset(seed=9)
    for _ in range(20):
        used.step(torch.ones(1, 2))
    used_env = used.envs[0]
    used.close()
    ref = gym.make(gym_id)
    obs_ref, _ = ref.reset(seed=3)
    episodes = PointMazeEpisodes(start=torch.from_numpy(obs_ref["observation"][None, :2]).clone(),
                                 goal=torch.from_numpy(obs_ref["desired_goal"][None]).clone())
    env = PointMazeBatch(1, PointMazeConfig(maze=maze))
    assert env.envs[0] is used_env
    obs, info = env.reset(episodes=episodes)
    assert torch.equal(env.state()[0], torch.from_numpy(obs_ref["observation"]))
    camera = TopDownCamera(ref.unwrapped.model, (len(env.grid), len(env.grid[0])), 64)
    actions = torch.from_numpy(np.random.default_rng(0).uniform(-1.2, 1.2, (60, 2)))  # some outside [-1, 1]
    for a in actions:
        obs_ref, _, _, _, info_ref = ref.step(a.numpy())
        obs, info = env.step(a[None])
        assert torch.equal(env.state()[0], torch.from_numpy(obs_ref["observation"]))
        frame_ref = torch.from_numpy(camera.render(ref.unwrapped.data)).permute(2, 0, 1).float() / 255
        assert torch.equal(obs[0], frame_ref)
        d = float(np.linalg.norm(obs_ref["achieved_goal"] - obs_ref["desired_goal"]))
        assert info["distance"][0].item() == pytest.approx(d, abs=1e-6)
    assert float(np.abs(env.state()[0, :2].numpy() - episodes.start[0].numpy()).max()) > 0.1  # it moved
    env.close()
    camera.close()


def test_success_rule_matches_package_threshold():
    grid = maze_map("umaze")
    goal = cell_centres(torch.tensor([[1, 1]]), (len(grid), len(grid[0])))  # (1, 2), a free corner cell
    env = PointMazeBatch(1)
    ref = env.envs[0]
    for dx, expected in [(0.0, True), (0.3, True), (0.449, True), (0.451, False), (0.8, False)]:
        start = goal + torch.tensor([[dx, 0.0]], dtype=torch.float64)
        _, info = env.reset(episodes=PointMazeEpisodes(start=start, goal=goal))
        assert bool(info["success"][0]) is expected
        assert info["distance"][0].item() == pytest.approx(dx, abs=1e-6)
        package_says = ref.compute_reward(ref.data.qpos.copy(), ref.goal.copy(), {}) == 1.0
        assert package_says == expected
    env.close()


def test_reset_places_ball_and_goal_where_asked():
    cfg = PointMazeConfig(maze="medium", image_size=64)
    env = PointMazeBatch(3, cfg)
    episodes = sample_episodes(3, "medium", generator=torch.Generator().manual_seed(5))
    obs, info = env.reset(episodes=episodes)
    shape = (len(env.grid), len(env.grid[0]))
    assert torch.equal(env.state()[:, :2], episodes.start)
    assert torch.equal(env.state()[:, 2:], torch.zeros(3, 2, dtype=torch.float64))
    assert torch.allclose(torch.from_numpy(np.stack([e.goal for e in env.envs])), episodes.goal)
    for i in range(3):
        assert torch.allclose(ball_centre(obs[i]), expected_pixel(episodes.start[i], shape, 64), atol=0.75)
        assert torch.allclose(ball_centre(info["goal_obs"][i]), expected_pixel(episodes.goal[i], shape, 64),
                              atol=0.75)
    env.close()


def test_frames_do_not_show_the_goal():
    env = PointMazeBatch(1)
    grid = maze_map("umaze")
    start = cell_centres(torch.tensor([[1, 2]]), (5, 5))
    far, near = cell_centres(torch.tensor([[3, 1]]), (5, 5)), cell_centres(torch.tensor([[1, 3]]), (5, 5))
    obs_far, info_far = env.reset(episodes=PointMazeEpisodes(start=start, goal=far))
    obs_near, info_near = env.reset(episodes=PointMazeEpisodes(start=start, goal=near))
    assert torch.equal(obs_far, obs_near)
    assert not torch.equal(info_far["goal_obs"], info_near["goal_obs"])
    assert len(grid) == 5
    env.close()


def test_frame_stack_concatenates_the_last_frames_oldest_first():
    env = PointMazeBatch(2, PointMazeConfig(frame_stack=2))
    obs0, info = env.reset(seed=1)
    assert obs0.shape == (2, 6, 64, 64) and info["goal_obs"].shape == (2, 6, 64, 64)
    assert torch.equal(obs0[:, :3], obs0[:, 3:])
    assert torch.equal(info["goal_obs"][:, :3], info["goal_obs"][:, 3:])
    obs1, _ = env.step(torch.ones(2, 2))
    obs2, _ = env.step(torch.ones(2, 2))
    assert torch.equal(obs1[:, :3], obs0[:, 3:]) and torch.equal(obs2[:, :3], obs1[:, 3:])
    assert not torch.equal(obs2[:, :3], obs2[:, 3:])  # the ball moved between the two frames
    env.close()


def test_bad_inputs_raise_one_clear_error():
    env = PointMazeBatch(2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must be \(2, 2\)"):
        env.step(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="finite"):
        env.step(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    wall = torch.tensor([[0.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)  # UMaze centre cell (2, 2) is a wall
    with pytest.raises(UserError, match=r"episodes.start\[0\].*not in a free cell"):
        env.reset(episodes=PointMazeEpisodes(start=wall, goal=wall.flip(0)))
    with pytest.raises(ValueError, match=r"episodes.start must be \(2, 2\)"):
        env.reset(episodes=PointMazeEpisodes(start=torch.zeros(3, 2), goal=torch.zeros(3, 2)))
    with pytest.raises(UserError, match="unknown PointMaze maze 'large'.*umaze, medium"):
        PointMazeConfig(maze="large")
    env.close()


def test_missing_extra_names_the_pip_command(monkeypatch):
    from jepa_world.envs.pointmaze.package import require

    monkeypatch.setitem(sys.modules, "gymnasium_robotics", None)
    with pytest.raises(UserError, match=r'pip install "jepa-world\[pointmaze\]"'):
        require()


def test_layout_matches_package_cell_convention():
    env = gym.make("PointMaze_Medium-v3").unwrapped
    grid = env.maze.maze_map
    cells = free_cells(grid)
    ours = cell_centres(cells, (len(grid), len(grid[0])))
    theirs = torch.tensor(np.stack([env.maze.cell_rowcol_to_xy(c) for c in cells.numpy()]))
    assert torch.allclose(ours, theirs)
    assert torch.equal(cells_of(ours + 0.49, (len(grid), len(grid[0]))), cells)


def test_episodes_are_in_distinct_free_cells_and_reproducible():
    grid = maze_map("medium")
    shape = (len(grid), len(grid[0]))
    ep = sample_from_grid(500, grid, generator=torch.Generator().manual_seed(0))
    again = sample_from_grid(500, grid, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ep.start, again.start) and torch.equal(ep.goal, again.goal)
    s, g = cells_of(ep.start, shape), cells_of(ep.goal, shape)
    assert not (s == g).all(-1).any()
    assert all(grid[i][j] != 1 for i, j in torch.cat([s, g]).tolist())
    assert ((ep.start - cell_centres(s, shape)).abs() <= POSITION_NOISE).all()
    assert len({tuple(c) for c in s.tolist()}) == len(free_cells(grid))  # every free cell is used as a start


def test_windowed_backend_without_display_is_one_clear_error(monkeypatch):
    from mujoco.rendering.classic import gl_context

    from jepa_world.envs.pointmaze.package import check_headless

    class GLFWLike:  # what mujoco selects when imported with MUJOCO_GL unset
        __module__ = "mujoco.glfw"

    monkeypatch.setattr(gl_context, "GLContext", GLFWLike)
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(UserError, match="set MUJOCO_GL=egl"):
        check_headless()


def test_cell_distances_and_far_pairs():
    grid = maze_map("umaze")  # the U: (1,1)-(1,2)-(1,3)-(2,3)-(3,3)-(3,2)-(3,1), one path
    cells = [tuple(c) for c in free_cells(grid).tolist()]
    dist = cell_distances(grid)
    assert dist[cells.index((1, 1)), cells.index((3, 1))] == 6 and dist[cells.index((1, 3)), cells.index((3, 3))] == 2
    assert torch.equal(dist, dist.T) and (dist.diagonal() == 0).all() and int(dist.max()) == 6
    shape = (len(grid), len(grid[0]))
    ep = sample_from_grid(300, grid, generator=torch.Generator().manual_seed(0), min_cell_distance=4)
    s, g = cells_of(ep.start, shape).tolist(), cells_of(ep.goal, shape).tolist()
    got = torch.tensor([dist[cells.index(tuple(a)), cells.index(tuple(b))] for a, b in zip(s, g, strict=True)])
    assert int(got.min()) >= 4 and set(got.tolist()) == {4, 5, 6}
    with pytest.raises(ValueError, match="no two free cells are 7 cell moves apart"):
        sample_from_grid(1, grid, generator=torch.Generator(), min_cell_distance=7)
