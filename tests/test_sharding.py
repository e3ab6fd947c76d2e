"""The sharding rule of every batch source (data/sharding.py): disjoint ranks, whole epochs, any world size."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from jepa_world.data.build import build_dataset
from jepa_world.data.feature_cache import FeatureCache
from jepa_world.data.images.augment import AugmentConfig
from jepa_world.data.images.source import TwoViewSource
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.maze_stream import MazeStream
from jepa_world.data.shard_prefetch import Prefetcher
from jepa_world.data.shard_stream import ShardWindowStream
from jepa_world.data.sharding import EpochStream, StreamShard
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.trajectory_dataset import TrajectoryWindows
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.data.video.moving_digits import MovingDigitsConfig
from jepa_world.data.video.source import VideoDataConfig, VideoSource


def sessions_chunks(plan: list[tuple[int, int]]) -> list[int]:
    """Chunks read by every rank of consecutive sessions ``(world_size, steps)``, resumed as the loop does."""
    seen, step, start = [], 0, 0
    for world, steps in plan:
        shards = [StreamShard(r, world, start_step=step, start_chunk=start) for r in range(world)]
        seen += [s.chunk(t) for t in range(step, step + steps) for s in shards]
        step, start = step + steps, shards[0].chunks_before(step + steps)
    return seen


@pytest.mark.parametrize("plan", [[(1, 5)], [(2, 3), (1, 4)], [(1, 3), (2, 3)], [(2, 3), (1, 4), (3, 2), (2, 1)]])
def test_every_chunk_is_read_once_whatever_the_world_size_of_each_session(plan):
    seen = sessions_chunks(plan)
    assert sorted(seen) == list(range(sum(w * s for w, s in plan)))


def test_shard_rule_one_process_is_the_step_and_bad_shards_are_refused():
    assert [StreamShard().chunk(s) for s in range(4)] == [0, 1, 2, 3]
    assert StreamShard(1, 2, start_step=4, start_chunk=8).chunk(5) == 11
    with pytest.raises(ValueError, match="rank"):
        StreamShard(2, 2)
    with pytest.raises(ValueError, match="earlier session"):
        StreamShard(0, 1, start_step=3, start_chunk=6).chunk(2)


def test_epoch_stream_is_a_permutation_per_epoch_with_the_remainder_carried_over():
    n, b = 7, 3  # 7 positions per epoch: chunk 2 takes epoch 0's last sample and epoch 1's first two
    stream = EpochStream(n, b, seed=5)
    flat = torch.cat([stream.indices(c) for c in range(7)]).tolist()  # 21 positions = 3 whole epochs
    for e in range(3):
        assert sorted(flat[e * n:(e + 1) * n]) == list(range(n))
    assert flat[:n] != flat[n:2 * n]  # epochs are reshuffled
    assert torch.equal(EpochStream(n, b, seed=5).indices(4), stream.indices(4))  # pure function of the chunk


# --- finite datasets: one epoch split over the ranks -------------------------------------------------------------


def _images(n: int, batch: int):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    src = TwoViewSource(images, None, batch_size=batch, augment=AugmentConfig(), mean=(0.0,), std=(1.0,), seed=2)
    return src, src.indices


def _features(n: int, batch: int):
    cache = FeatureCache(torch.arange(n, dtype=torch.float32).view(n, 1, 1), torch.zeros(n, 1, 2),
                         torch.zeros(n, 2, 2), batch_size=batch, seed=3, key="k")
    return cache, lambda step: cache(step)["features"][:, 0, 0].long()


def _moving_mnist(n: int, batch: int, tmp_path):
    frames = np.broadcast_to(np.arange(n, dtype=np.uint8)[None, :, None, None], (4, n, 12, 12))
    np.save(tmp_path / "mm.npy", np.ascontiguousarray(frames))
    config = VideoDataConfig(name="moving_mnist", path=str(tmp_path / "mm.npy"), num_frames=2,
                             digits=MovingDigitsConfig(image_size=12, sprite_size=8, speed=(1.0, 2.0)))
    src = VideoSource(config, batch_size=batch, seed=4)
    return src, lambda step: src(step)["frames"][:, 0, 0, 0, 0].long()


def _shards(n: int, batch: int, tmp_path):
    assert n == 18  # 6 trajectories of 4 steps in shards of 4 and 2 -> 18 windows of 2 steps
    out = tmp_path / "d"
    if not out.exists():
        build_dataset(out, num=6, config=TwoRoomsDataConfig(length=5), shard_size=4, progress=False)
    src = ShardWindowStream(out, window=2, batch_size=batch, seed=1, prefetch=1)
    return src, src.indices


def _pusht(n: int, batch: int):
    from jepa_world.data.pusht_gen import PushTTrajectories
    from jepa_world.data.pusht_stream import PushTWindows

    assert n == 18  # 6 trajectories of 4 frames -> 3 windows of 2 frames each; states[r, t, 0] = 10 r + t
    states = np.zeros((6, 4, 5), np.float32)
    states[..., 0] = 10 * np.arange(6)[:, None] + np.arange(4)
    data = PushTTrajectories(np.zeros((6, 4, 3, 2, 2), np.uint8), np.zeros((6, 3, 2), np.float32), states)
    src = PushTWindows(data, batch_size=batch, length=2, seed=6)

    def ids(step):
        first = src(step)["states"][:, 0, 0].long()  # 10 r + t0
        return first // 10 * 3 + first % 10
    return src, ids


@pytest.mark.parametrize("make", ["images", "features", "moving_mnist", "shards", "pusht"])
@pytest.mark.parametrize("world", [2, 3])
def test_no_sample_is_seen_by_two_ranks_in_an_epoch_and_each_is_seen_once(make, world, tmp_path):
    n, batch = 18, 3 if world == 2 else 2  # 18 = world * batch * 3 steps: one epoch in three steps
    build = {"images": _images, "features": _features, "pusht": _pusht}.get(make)
    made = [build(n, batch) if build else {"moving_mnist": _moving_mnist, "shards": _shards}[make](n, batch, tmp_path)
            for _ in range(world)]
    for rank, (src, _) in enumerate(made):
        src.set_shard(StreamShard(rank, world))
    per_rank = [torch.cat([ids(step) for step in range(3)]).tolist() for _, ids in made]
    for a in range(world):
        for b in range(a + 1, world):
            assert not set(per_rank[a]) & set(per_rank[b]), (a, b)
    assert sorted(sum(per_rank, [])) == list(range(n))
    second = Counter(i for _, ids in made for step in range(3, 6) for i in ids(step).tolist())
    assert set(second.values()) == {1} and len(second) == n  # the next epoch again holds each sample once
    for src, _ in made:
        if isinstance(src, ShardWindowStream):
            src.close()


def test_shard_stream_serves_the_windows_of_the_in_memory_dataset_with_bounded_read_ahead(tmp_path):
    out = build_dataset(tmp_path / "d", num=7, config=TwoRoomsDataConfig(length=6), shard_size=2, progress=False)
    memory = TrajectoryWindows.from_dir(out, window=3)
    stream = ShardWindowStream(out, window=3, batch_size=5, seed=0, prefetch=1)
    assert len(stream) == len(memory) == 7 * 3
    for step in range(9):  # a bit over two epochs: batches cross shard and epoch boundaries
        got, want = stream(step), memory.batch(stream.indices(step))
        for key in ("obs", "actions", "positions"):
            assert torch.equal(got[key], want[key]), (step, key)
        assert len(stream.reader.resident()) <= 3  # the shard(s) in use + one read ahead
    stream.close()
    with pytest.raises(ValueError, match="window"):
        ShardWindowStream(out, window=6, batch_size=2)


def test_prefetcher_loads_in_the_background_and_reports_errors_in_the_reader():
    import threading

    threads = []

    def load(i):
        threads.append(threading.current_thread().name)
        if i == 9:
            raise OSError("disk gone")
        return i

    reader = Prefetcher(load, capacity=3)
    reader.ahead([1, 2])
    assert reader.get(1) == 1 and reader.get(2) == 2
    assert all(name.startswith("shard-prefetch") for name in threads)
    with pytest.raises(OSError, match="disk gone"):
        reader.get(9)
    assert len(reader.resident()) == 3
    reader.close()


# --- generated streams: rank-distinct seeds, world-size independent ---------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: TwoRoomsStream(2, TwoRoomsDataConfig(length=3), seed=1),
    lambda: MazeStream(2, MazeDataConfig(length=3), seed=1),
    lambda: VideoSource(VideoDataConfig(num_frames=2, digits=MovingDigitsConfig(image_size=16, sprite_size=8,
                                                                                speed=(1.0, 2.0))),
                        batch_size=2, seed=1),
], ids=["two_rooms", "maze", "moving_digits"])
def test_generated_streams_give_each_rank_its_own_draws_and_match_one_process(make):
    key = "frames" if isinstance(make(), VideoSource) else "positions"
    single, ranks = make(), [make(), make()]
    for r, src in enumerate(ranks):
        src.set_shard(StreamShard(r, 2))
    for step in range(2):
        a, b = ranks[0](step)[key], ranks[1](step)[key]
        assert not torch.equal(a, b)  # no two ranks draw the same stream
        assert torch.equal(a, single(2 * step)[key]) and torch.equal(b, single(2 * step + 1)[key])
