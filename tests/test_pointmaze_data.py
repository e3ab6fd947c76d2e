"""PointMaze exploration data (optional extra ``pointmaze``): generation, shards round trip, training windows."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from jepa_world.data.pointmaze_gen import PointMazeDataConfig, correlated_actions

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless rendering
pytest.importorskip("gymnasium_robotics", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')
pytest.importorskip("mujoco", reason='PointMaze tests need the extra: pip install "jepa-world[pointmaze]"')

import gymnasium as gym  # noqa: E402
import gymnasium_robotics  # noqa: E402

from jepa_world.cli import app  # noqa: E402
from jepa_world.data import pointmaze_shards  # noqa: E402
from jepa_world.data.pointmaze_shards import PointMazeWindows, build_pointmaze_dataset, load_pointmaze_shards  # noqa: E402
from jepa_world.envs.pointmaze.layout import to_pixels  # noqa: E402
from jepa_world.errors import DatasetError  # noqa: E402

gym.register_envs(gymnasium_robotics)
runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("pm") / "ds"
    r = runner.invoke(app, ["data", "generate", "--env", "pointmaze", "--num", "6", "--length", "13",
                            "--shard-size", "4", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_generate_writes_shards_that_replay_in_the_package_env(dataset):
    meta = json.loads((dataset / "meta.json").read_text())
    assert meta["env"] == "pointmaze" and meta["num"] == 6 and [s["num"] for s in meta["shards"]] == [4, 2]
    shards, _ = load_pointmaze_shards(dataset)
    s = shards[0]
    assert s["obs"].shape == (4, 13, 3, 64, 64) and s["obs"].dtype == np.uint8
    assert s["actions"].shape == (4, 12, 2) and s["states"].shape == (4, 13, 4)
    assert np.abs(s["actions"]).max() <= 1.0 and (s["states"][:, 0, 2:] == 0).all()  # starts at rest
    ref = gym.make("PointMaze_UMaze-v3").unwrapped
    for i in range(4):
        ref.reset(seed=0)
        ref.point_env.set_state(s["states"][i, 0, :2].astype(np.float64), np.zeros(2))
        for t in range(12):
            ref.step(s["actions"][i, t].astype(np.float64))
            np.testing.assert_allclose(np.concatenate([ref.data.qpos, ref.data.qvel]), s["states"][i, t + 1],
                                       atol=1e-4)
    assert not np.array_equal(s["obs"][0, 0], s["obs"][0, -1])  # the ball moved on screen


def test_show_writes_pictures_and_stats(dataset):
    r = runner.invoke(app, ["data", "show", str(dataset), "--count", "6", "--out", str(dataset.parent / "prev")])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output[: r.output.rindex("}") + 1])
    assert stats["env"] == "pointmaze" and stats["trajectories"] == 6 and stats["frames_per_trajectory"] == 13
    assert stats["path_length_mean"] > 0
    assert (dataset.parent / "prev" / "trajectories.png").stat().st_size > 1000
    assert (dataset.parent / "prev" / "trajectories.gif").stat().st_size > 1000


def test_windows_cut_stored_trajectories_and_stack_frames(dataset):
    shards, _ = load_pointmaze_shards(dataset)
    states = np.concatenate([s["states"] for s in shards])
    obs_all = np.concatenate([s["obs"] for s in shards])
    windows = PointMazeWindows(dataset, 5, length=6, frame_stack=2, seed=0)
    batch = windows(3)
    assert batch["obs"].shape == (5, 6, 6, 64, 64) and batch["actions"].shape == (5, 5, 2)
    assert batch["positions"].shape == (5, 6, 2) and batch["obs"].dtype == torch.float32
    assert torch.equal(batch["obs"][:, 1:, :3], batch["obs"][:, :-1, 3:])  # frame t-1 then frame t
    pixels = to_pixels(torch.from_numpy(states[..., :2]), (5, 5), 64).float()  # UMaze: 5 x 5 cells
    for b in range(5):  # each window is a stored trajectory's frames, states and actions at some offset
        pos = batch["positions"][b]
        hits = [(i, t) for i in range(len(states)) for t in range(13 - 5) if torch.equal(pixels[i, t:t + 6], pos)]
        assert len(hits) == 1
        i, t = hits[0]
        assert torch.equal(batch["obs"][b, :, 3:], torch.from_numpy(obs_all[i, t:t + 6]).float() / 255)
        if t == 0:  # before the start, the first frame repeated (the ball is at rest)
            assert torch.equal(batch["obs"][b, 0, :3], batch["obs"][b, 0, 3:])
    assert torch.equal(windows(3)["obs"], batch["obs"])
    windows.set_rank(1, 2)
    assert not torch.equal(windows(3)["positions"], batch["positions"])


def test_ar1_forces_have_the_configured_correlation_and_spread():
    cfg = PointMazeDataConfig(action_corr=0.8, action_std=0.1)  # small spread: clipping never happens
    a = correlated_actions(400, 200, cfg, generator=torch.Generator().manual_seed(0))
    x, y = a[:, :-1].flatten(), a[:, 1:].flatten()
    corr = float(((x - x.mean()) * (y - y.mean())).mean() / (x.std() * y.std()))
    assert corr == pytest.approx(0.8, abs=0.01)
    assert float(a.std()) == pytest.approx(0.1, rel=0.02)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = pointmaze_shards.generate

    def failing(n, config, *, generator):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(n, config, generator=generator)

    monkeypatch.setattr(pointmaze_shards, "generate", failing)
    with pytest.raises(KeyboardInterrupt):
        build_pointmaze_dataset(tmp_path / "ds", num=4, config=PointMazeDataConfig(length=3), shard_size=2,
                                progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_give_one_line_errors(dataset, tmp_path):
    r = runner.invoke(app, ["data", "generate", "--env", "pointmaze", "--num", "2", "--fixed-wall",
                            "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "Two Rooms options" in r.output
    r = runner.invoke(app, ["data", "generate", "--env", "pointmaze", "--num", "2", "--maze", "large",
                            "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "unknown PointMaze maze 'large'" in r.output
    with pytest.raises(ValueError, match="window length must be in"):
        PointMazeWindows(dataset, 2, length=14)
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in dataset.iterdir():
        if f.is_file():
            (bad / f.name).write_bytes(f.read_bytes())
    (bad / "shard-00001-obs.npy").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="shard-00001"):
        load_pointmaze_shards(bad)
    r = runner.invoke(app, ["data", "show", str(bad)])
    assert r.exit_code == 2 and "shard-00001" in r.output


def test_stack_frames_puts_the_last_k_frames_on_channels_oldest_first():
    from jepa_world.data.pointmaze_gen import stack_frames

    frames = torch.arange(5.0).view(1, 5, 1, 1, 1).expand(2, 5, 3, 2, 2)  # frame t is filled with t
    stacked = stack_frames(frames, 3)  # (2, 5, 9, 2, 2)
    expected = [[max(t - 2 + j, 0) for j in range(3)] for t in range(5)]
    assert stacked.shape == (2, 5, 9, 2, 2)
    assert stacked[0, :, ::3, 0, 0].tolist() == expected and torch.equal(stacked[0], stacked[1])
    assert torch.equal(stack_frames(frames, 1), frames)


def test_goal_stop_calibration_clips_are_stacked_exploration_frames():
    from jepa_world.envs.pointmaze import PointMazeConfig
    from jepa_world.eval.planning import pointmaze_clips

    clips = pointmaze_clips(PointMazeConfig(frame_stack=2), clips=2, seed=0)
    assert clips.shape == (2, 9, 6, 64, 64) and float(clips.min()) >= 0.0 and float(clips.max()) <= 1.0
    assert torch.equal(clips[:, 1:, :3], clips[:, :-1, 3:])
