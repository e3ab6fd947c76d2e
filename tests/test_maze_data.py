"""The maze offline data: short random walks under the environment's rule, never a start-to-goal path."""

import pytest
import torch

from jepa_world.data.maze_gen import MazeDataConfig, generate
from jepa_world.data.maze_stream import MazeStream
from jepa_world.envs.maze import geometry as geo
from jepa_world.envs.maze.layout import maze_grid, room_distances
from jepa_world.envs.maze.render import render_trajectories


@pytest.fixture(scope="module")
def traj():
    return generate(3000, MazeDataConfig(), generator=torch.Generator().manual_seed(0))


def test_shapes_and_seeding(traj):
    assert traj.positions.shape == (3000, 17, 2) and traj.actions.shape == (3000, 16, 2)
    assert traj.doors.shape == (3000, 12) and traj.steered.dtype == torch.bool and len(traj) == 3000
    again = generate(3000, MazeDataConfig(), generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.positions, traj.positions) and torch.equal(again.doors, traj.doors)
    other = generate(3000, MazeDataConfig(), generator=torch.Generator().manual_seed(1))
    assert not torch.equal(other.positions, traj.positions)


def test_motion_follows_the_environment_rule(traj):
    n, t = traj.actions.shape[:2]
    pos = traj.positions[:, :-1].reshape(-1, 2).double()
    doors = traj.doors.repeat_interleave(t, dim=0)
    moved = geo.move(pos, traj.actions.reshape(-1, 2).double(), doors).float()
    torch.testing.assert_close(moved, traj.positions[:, 1:].reshape(-1, 2), atol=1e-4, rtol=0)
    assert geo.is_free(traj.positions.reshape(-1, 2), traj.doors.repeat_interleave(t + 1, dim=0), tol=1e-4).all()
    lengths = traj.actions.norm(dim=-1)
    assert lengths.min() >= 0.2 - 1e-5 and lengths.max() <= 1.8 + 1e-5
    blocked = (traj.positions[:, 1:] - traj.positions[:, :-1]).norm(dim=-1) < lengths - 1e-3
    assert 0.05 < blocked.float().mean() < 0.5  # walls are hit, but most steps are free


def test_door_steering_crosses_and_no_path_reaches_three_doors(traj):
    grid = maze_grid(3)
    rooms = geo.room_of(traj.positions.double(), grid)  # (N, T+1)
    crossed = rooms[:, 0] != rooms[:, -1]
    assert crossed[traj.steered].float().mean() > 0.8
    assert crossed[~traj.steered].float().mean() < 0.4
    assert 0.25 < traj.steered.float().mean() < 0.45
    dist = room_distances(traj.doors)[torch.arange(len(traj)), rooms[:, 0], rooms[:, -1]]
    assert dist.max() <= 2  # the maze episodes start >= 3 doors from their goal


def test_stream_is_a_pure_function_of_the_step():
    stream = MazeStream(4, MazeDataConfig(length=5), seed=3)
    a, b = stream(7), stream(7)
    assert torch.equal(a["obs"], b["obs"]) and not torch.equal(stream(8)["positions"], a["positions"])
    assert a["obs"].shape == (4, 5, 2, 65, 65) and a["obs"].dtype == torch.float32
    torch.testing.assert_close(a["obs"], render_trajectories(a["positions"], a["doors"]))
    first = next(iter(stream))
    assert torch.equal(first["positions"], stream(0)["positions"])


def test_bad_configs_name_the_field():
    with pytest.raises(ValueError, match="length"):
        MazeDataConfig(length=1).validate()
    with pytest.raises(ValueError, match="door_prob"):
        MazeDataConfig(door_prob=1.5).validate()
    with pytest.raises(ValueError, match="rooms per side"):
        MazeDataConfig(rooms=7).validate()
    with pytest.raises(ValueError, match="batch_size"):
        MazeStream(0)
