"""Two Rooms offline data: distribution, collisions, seeding, rendering, shards, dataset."""

import math

import numpy as np
import pytest
import torch

from jepa_world.data.build import build_dataset
from jepa_world.data.sampling import truncated_normal, von_mises
from jepa_world.data.shards import DatasetError, iter_shard_obs, load_trajectories
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.trajectory_dataset import TrajectoryWindows
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, crossed_wall, generate
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.render import render, render_trajectories


@pytest.fixture(scope="module")
def big():
    return generate(20_000, TwoRoomsDataConfig(), generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def big_strict():
    return generate(20_000, TwoRoomsDataConfig(physics="strict", walls="arena"),
                    generator=torch.Generator().manual_seed(0))


def test_shapes_and_dtypes(big):
    assert big.positions.shape == (20_000, 17, 2) and big.actions.shape == (20_000, 16, 2)
    assert big.positions.dtype == torch.float32 and big.wall_x.dtype == torch.int64


def test_step_lengths_in_range(big):
    lengths = big.actions.norm(dim=-1)
    assert lengths.min() >= 0.2 - 1e-5 and lengths.max() <= 1.8 + 1e-5
    assert lengths.mean().item() == pytest.approx(1.0, abs=0.02)


def test_door_crossing_rate(big):
    rate = crossed_wall(big.positions, big.wall_x).float().mean().item()
    assert rate == pytest.approx(0.35, abs=0.03)
    assert big.steered.float().mean().item() == pytest.approx(0.35, abs=0.015)


def test_no_trajectory_enters_or_crosses_a_wall(big_strict):
    """The strict rule: the agent's centre never leaves free space (the EB-JEPA rule: test_two_rooms_ebjepa.py)."""
    big = big_strict
    n, t = big.positions.shape[:2]
    flat = big.positions.reshape(-1, 2)
    wx, dy = big.wall_x.repeat_interleave(t), big.door_y.repeat_interleave(t)
    assert geo.is_free(flat, wx, dy, tol=1e-4).all()
    # every transition from one side of the wall to the other happens inside the door rows
    x, y = big.positions[..., 0], big.positions[..., 1]
    side = (x > big.wall_x.unsqueeze(1).float())
    switch = side[:, 1:] != side[:, :-1]
    mid_y = 0.5 * (y[:, 1:] + y[:, :-1])
    in_door = (mid_y - big.door_y.unsqueeze(1).float()).abs() <= 4.0 + 1e-4
    assert switch.any() and in_door[switch].all()
    # pixel test: the pixel under the agent's centre is never a wall pixel
    walls = render_trajectories(big.positions[:500], big.wall_x[:500], big.door_y[:500])[:, :, 1]
    px = big.positions[:500].round().long()
    under = walls.gather(-1, px[..., 0, None, None].expand(-1, -1, 65, 1)).squeeze(-1)
    under = under.gather(-1, px[..., 1, None]).squeeze(-1)
    assert (under == 0).all()


def test_positions_follow_actions_when_free(big_strict):
    big = big_strict
    step = big.positions[:, 1:] - big.positions[:, :-1]
    moved_fully = (step - big.actions).norm(dim=-1) < 1e-4
    assert moved_fully.float().mean() > 0.8  # most steps are unobstructed
    assert (step.norm(dim=-1) <= big.actions.norm(dim=-1) + 1e-4).all()


def test_seeding():
    cfg = TwoRoomsDataConfig()
    a = generate(64, cfg, generator=torch.Generator().manual_seed(7))
    b = generate(64, cfg, generator=torch.Generator().manual_seed(7))
    c = generate(64, cfg, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.positions, b.positions) and torch.equal(a.actions, b.actions)
    assert not torch.equal(a.positions, c.positions)


def test_von_mises_moments():
    x = von_mises(200_000, 5.0, generator=torch.Generator().manual_seed(0))
    # E[cos X] = I1(k)/I0(k) for von Mises(0, k)
    from scipy.special import i0, i1  # scikit-learn depends on scipy

    assert x.abs().max() <= math.pi
    assert torch.cos(x).mean().item() == pytest.approx(i1(5.0) / i0(5.0), abs=3e-3)
    assert x.mean().item() == pytest.approx(0.0, abs=5e-3)


def test_truncated_normal_moments():
    x = truncated_normal((200_000,), mean=1.0, std=0.4, low=0.2, high=1.8,
                         generator=torch.Generator().manual_seed(0))
    from scipy.stats import truncnorm

    ref = truncnorm((0.2 - 1) / 0.4, (1.8 - 1) / 0.4, loc=1.0, scale=0.4)
    assert x.mean().item() == pytest.approx(ref.mean(), abs=3e-3)
    assert x.std().item() == pytest.approx(ref.std(), abs=3e-3)


def test_uint8_render_matches_float_render(big):
    pos, wx, dy = big.positions[:200], big.wall_x[:200], big.door_y[:200]
    u8 = render_trajectories(pos, wx, dy, dtype=torch.uint8)
    f32 = render_trajectories(pos, wx, dy)
    assert (u8.float() - (f32 * 255).round()).abs().max() <= 1  # round-half ties only
    assert torch.equal(f32[:, 3], render(pos[:, 3], wx, dy))


def test_disk_round_trip(tmp_path):
    cfg = TwoRoomsDataConfig(length=9)
    out = build_dataset(tmp_path / "ds", num=250, config=cfg, seed=3, shard_size=100, store_obs=True,
                        progress=False)
    traj, meta = load_trajectories(out)
    ref = [generate(n, cfg, generator=torch.Generator().manual_seed(3 * 1_000_003 + i))
           for i, n in enumerate([100, 100, 50])]
    assert meta["num"] == 250 and len(meta["shards"]) == 3
    assert torch.equal(traj.positions, torch.cat([r.positions for r in ref]))
    assert torch.equal(traj.actions, torch.cat([r.actions for r in ref]))
    assert torch.equal(traj.wall_x, torch.cat([r.wall_x for r in ref]))
    stored = torch.from_numpy(np.concatenate(list(iter_shard_obs(out))))
    assert torch.equal(stored, render_trajectories(traj.positions, traj.wall_x, traj.door_y, dtype=torch.uint8))
    # same seed -> same dataset; nothing left behind
    out2 = build_dataset(tmp_path / "ds2", num=250, config=cfg, seed=3, shard_size=100, progress=False)
    assert torch.equal(load_trajectories(out2)[0].positions, traj.positions)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "ds2"]


def test_dataset_windows(tmp_path):
    out = build_dataset(tmp_path / "ds", num=20, config=TwoRoomsDataConfig(length=9), progress=False)
    ds = TrajectoryWindows.from_dir(out, window=4)
    assert len(ds) == 20 * 5
    item = ds[7]  # trajectory 1, start 2
    assert item["obs"].shape == (5, 2, 65, 65) and item["actions"].shape == (4, 2)
    assert torch.equal(item["positions"], ds.traj.positions[1, 2:7])
    assert torch.equal(item["actions"], ds.traj.actions[1, 2:6])
    expected = render(ds.traj.positions[1, 2:7], ds.traj.wall_x[1].repeat(5), ds.traj.door_y[1].repeat(5))
    assert torch.equal(item["obs"], expected)
    with pytest.raises(ValueError, match="window"):
        TrajectoryWindows(ds.traj, window=9)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_stream_is_deterministic_per_step():
    s = TwoRoomsStream(8, TwoRoomsDataConfig(length=5), seed=1)
    a, b, c = s(3), s(3), s(4)
    assert a["obs"].shape == (8, 5, 2, 65, 65)
    assert torch.equal(a["obs"], b["obs"]) and not torch.equal(a["positions"], c["positions"])


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="--num"):
        build_dataset(tmp_path / "x", num=0, config=TwoRoomsDataConfig(), progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="length"):
        generate(3, TwoRoomsDataConfig(length=1), generator=torch.Generator())
    with pytest.raises(DatasetError, match="not a jepa-world dataset"):
        load_trajectories(tmp_path)


def test_corrupt_shard_is_named(tmp_path):
    out = build_dataset(tmp_path / "ds", num=30, config=TwoRoomsDataConfig(length=5), shard_size=10,
                        progress=False)
    bad = out / "shard-00001.npz"
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(DatasetError, match="shard-00001.npz"):
        load_trajectories(out)


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatasetError, match="cannot write"):
        build_dataset(blocker / "ds", num=5, config=TwoRoomsDataConfig(length=5), progress=False)


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    import jepa_world.data.build as build

    calls = {"n": 0}
    real = build.generate

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "generate", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(tmp_path / "ds", num=30, config=TwoRoomsDataConfig(length=5), shard_size=10,
                      progress=False)
    assert list(tmp_path.iterdir()) == []
