"""PushT offline data: shards round-trip, frames and states replay through the env, windows, CLI."""

import json
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

pytest.importorskip("gym_pusht", reason="PushT needs the extra: pip install 'jepa-world[pusht]'")

from jepa_world.cli import app  # noqa: E402
from jepa_world.data import pusht_build  # noqa: E402
from jepa_world.data.build import shard_seed  # noqa: E402
from jepa_world.data.pusht_build import build_pusht_dataset  # noqa: E402
from jepa_world.data.pusht_gen import PushTDataConfig, generate  # noqa: E402
from jepa_world.data.pusht_stream import PushTWindows, load_pusht_dataset  # noqa: E402
from jepa_world.data.sharding import StreamShard  # noqa: E402
from jepa_world.envs.pusht.batch import PushTBatch, PushTConfig, PushTEpisodes  # noqa: E402
from jepa_world.errors import DatasetError  # noqa: E402

CFG = PushTDataConfig(length=9, image_size=32)
runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return build_pusht_dataset(tmp_path_factory.mktemp("d") / "pusht", num=5, config=CFG, seed=3, shard_size=2,
                               progress=False)


def test_shards_round_trip_what_was_generated(dataset):
    traj, meta = load_pusht_dataset(dataset)
    assert meta["env"] == "pusht" and meta["num"] == 5 and [s["num"] for s in meta["shards"]] == [2, 2, 1]
    parts = [generate(n, CFG, seed=shard_seed(3, i)) for i, n in enumerate((2, 2, 1))]
    for key in ("obs", "actions", "states"):
        assert np.array_equal(getattr(traj, key), np.concatenate([getattr(p, key) for p in parts]))
    assert traj.obs.dtype == np.uint8 and traj.obs.shape == (5, 9, 3, 32, 32)


def test_stored_actions_replay_to_the_stored_states_and_frames(dataset):
    """The env (relative actions) replays each trajectory from its first state: data and eval agree."""
    traj, _ = load_pusht_dataset(dataset)
    env = PushTBatch(5, PushTConfig(image_size=32, max_steps=8))
    start = torch.from_numpy(traj.states[:, 0]).double()
    obs, _ = env.reset(episodes=PushTEpisodes(start, start.clone()))
    frames = [obs]
    for t in range(8):
        obs, info = env.step(torch.from_numpy(traj.actions[:, t]))
        frames.append(obs)
        assert np.allclose(info["state"].numpy(), traj.states[:, t + 1], atol=0.05), t
    replayed = (torch.stack(frames, 1) * 255).round().to(torch.uint8).numpy()
    assert np.abs(replayed.astype(int) - traj.obs).mean() < 0.05  # identical up to a rare edge pixel


def test_windows_are_contiguous_slices_and_reproducible(dataset):
    traj, _ = load_pusht_dataset(dataset)
    windows = PushTWindows(dataset, batch_size=6, length=4, seed=1)
    batch = windows(7)
    assert batch["obs"].shape == (6, 4, 3, 32, 32) and batch["actions"].shape == (6, 3, 2)
    assert batch["positions"].shape == (6, 4, 2) and batch["obs"].dtype == torch.float32
    for b in range(6):
        hits = [(r, t) for r in range(5) for t in range(6)
                if np.array_equal(traj.states[r, t:t + 4], batch["states"][b].numpy())]
        assert len(hits) == 1
        r, t = hits[0]
        assert np.array_equal(traj.actions[r, t:t + 3], batch["actions"][b].numpy())
        assert torch.equal((batch["obs"][b] * 255).round().to(torch.uint8), torch.from_numpy(traj.obs[r, t:t + 4]))
    assert torch.equal(windows(7)["states"], batch["states"])
    windows.set_shard(StreamShard(1, 2))
    assert not torch.equal(windows(7)["states"], batch["states"])
    with pytest.raises(ValueError, match="window length"):
        PushTWindows(traj, batch_size=2, length=10)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    real = pusht_build.generate
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pusht_build, "generate", failing)
    with pytest.raises(KeyboardInterrupt):
        build_pusht_dataset(tmp_path / "out", num=4, config=CFG, shard_size=2, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_shard_is_a_dataset_error(dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    (copy / "shard-00001.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="shard-00001.npz"):
        load_pusht_dataset(copy)


def test_cli_generate_and_show(tmp_path):
    out = tmp_path / "ds"
    r = runner.invoke(app, ["data", "generate", "--env", "pusht", "--num", "3", "--length", "6", "--image-size", "32",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["env"] == "pusht" and meta["config"]["length"] == 6 and meta["config"]["image_size"] == 32
    r = runner.invoke(app, ["data", "show", str(out), "--count", "2"])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output[:r.output.rindex("}") + 1])
    assert stats["trajectories"] == 3 and stats["frames_per_trajectory"] == 6
    assert 0.0 <= stats["block_moved_fraction"] <= 1.0
    assert (out / "preview" / "trajectories.png").stat().st_size > 1000
    assert (out / "preview" / "trajectories.gif").stat().st_size > 1000


def test_cli_without_the_extra_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gym_pusht.envs.pusht", None)
    r = runner.invoke(app, ["data", "generate", "--env", "pusht", "--num", "2", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and 'pip install "jepa-world[pusht]"' in r.output
    assert not (tmp_path / "x").exists()


def test_eval_episodes_from_a_held_out_dataset_are_states_goal_offset_apart(dataset):
    """pusht_episodes=DIR: each episode's start and goal are states t and t + goal_offset of one stored trajectory."""
    from jepa_world.eval.planning import PlanningEvalConfig, sample_eval_episodes

    traj, _ = load_pusht_dataset(dataset)
    cfg = PlanningEvalConfig(env="pusht", episodes=6, pusht=PushTConfig(goal_offset=3), pusht_episodes=str(dataset))
    episodes = sample_eval_episodes(cfg)
    assert episodes.start.shape == episodes.goal.shape == (6, 5)
    for start, goal in zip(episodes.start.float().numpy(), episodes.goal.float().numpy(), strict=True):
        hits = [(r, t) for r in range(5) for t in range(9 - 3)
                if np.array_equal(traj.states[r, t], start) and np.array_equal(traj.states[r, t + 3], goal)]
        assert len(hits) == 1
    assert torch.equal(sample_eval_episodes(cfg).start, episodes.start)  # a pure function of the seed
    with pytest.raises(ValueError, match="no start-goal pair 9 steps apart"):
        sample_eval_episodes(PlanningEvalConfig(env="pusht", pusht=PushTConfig(goal_offset=9),
                                                pusht_episodes=str(dataset)))
