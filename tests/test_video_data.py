"""Moving digits (physics, rendering, seeding), the Moving-MNIST loader and the video batch source."""

import doctest

import numpy as np
import pytest
import torch

import jepa_world.data.video.bounce as bounce_mod
import jepa_world.data.video.moving_digits as moving_digits_mod
import jepa_world.data.video.moving_mnist as moving_mnist_mod
import jepa_world.data.video.source as source_mod
import jepa_world.data.video.sprites as sprites_mod
from jepa_world.data.video.bounce import bounce, random_start
from jepa_world.data.video.moving_digits import MovingDigits, MovingDigitsConfig
from jepa_world.data.video.moving_mnist import load_moving_mnist
from jepa_world.data.video.source import VideoDataConfig, VideoSource
from jepa_world.data.video.sprites import paste


def folded(x: torch.Tensor, limit: float) -> torch.Tensor:
    """Closed form of bouncing motion: free motion folded into [0, limit] (a triangle wave)."""
    r = torch.remainder(x, 2 * limit)
    return limit - (r - limit).abs()


@pytest.mark.parametrize("module", [bounce_mod, sprites_mod, moving_digits_mod, moving_mnist_mod, source_mod])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


def test_bounce_equals_the_folded_free_trajectory():
    g = torch.Generator().manual_seed(0)
    limit = 36.0
    p0, v0 = random_start(64, 3, limit=limit, speed=(0.5, 9.0), generator=g)
    p, v = bounce(p0.double(), v0.double(), steps=60, limit=limit)  # (N, T, K, 2)
    t = torch.arange(60, dtype=torch.float64).view(1, -1, 1, 1)
    expected = folded(p0.double().unsqueeze(1) + t * v0.double().unsqueeze(1), limit)
    assert torch.allclose(p, expected, atol=1e-9)
    assert bool(((p >= 0) & (p <= limit)).all())


def test_bounce_reflects_velocity_at_walls_only():
    g = torch.Generator().manual_seed(1)
    limit = 20.0
    p0, v0 = random_start(32, 2, limit=limit, speed=(2.0, 6.0), generator=g)
    p, v = bounce(p0, v0, steps=40, limit=limit)
    free = p[:, :-1] + v[:, :-1]  # where each coordinate would be without walls
    hit = (free < 0) | (free > limit)
    flipped = torch.isclose(v[:, 1:], -v[:, :-1])
    kept = torch.isclose(v[:, 1:], v[:, :-1])
    assert bool(hit.any()), "the test needs bounces"
    assert bool(flipped[hit].all()) and bool(kept[~hit].all())
    assert torch.allclose(v.abs(), v0.abs().unsqueeze(1).expand_as(v))  # speed per axis is conserved


def test_bounce_hand_example_and_errors():
    p, v = bounce(torch.tensor([9.0]), torch.tensor([3.0]), steps=3, limit=10.0)
    assert p.tolist() == [[9.0, 8.0, 5.0]] and v.tolist() == [[3.0, -3.0, -3.0]]
    with pytest.raises(ValueError, match="must lie in"):
        bounce(torch.tensor([11.0]), torch.tensor([1.0]), steps=2, limit=10.0)
    with pytest.raises(ValueError, match="velocity"):
        bounce(torch.tensor([1.0]), torch.tensor([12.0]), steps=2, limit=10.0)


def test_single_digit_pixels_are_the_sprite_at_the_reported_position():
    cfg = MovingDigitsConfig(num_digits=1)
    gen = MovingDigits(cfg)
    clips = gen.sample(16, num_frames=12, generator=torch.Generator().manual_seed(2))
    s = cfg.sprite_size
    corner = clips.positions - s / 2  # (N, T, 1, 2) top-left (x, y)
    assert torch.equal(corner, corner.round()) and bool((corner >= 0).all()) and bool((corner <= 64 - s).all())
    for i in range(16):
        for t in range(12):
            x, y = (int(c) for c in corner[i, t, 0])
            frame = clips.frames[i, t, 0]
            crop = frame[y:y + s, x:x + s]
            sprite_sum = crop.sum()
            assert int(frame.sum()) == int(sprite_sum)  # nothing drawn outside the box
            assert torch.equal(crop, clips.frames[i, 0, 0][int(corner[i, 0, 0, 1]):int(corner[i, 0, 0, 1]) + s,
                                                             int(corner[i, 0, 0, 0]):int(corner[i, 0, 0, 0]) + s])


def test_pixel_centroid_follows_positions():
    cfg = MovingDigitsConfig(num_digits=1)
    clips = MovingDigits(cfg).sample(8, num_frames=10, generator=torch.Generator().manual_seed(3))
    f = clips.frames[:, :, 0].double()  # (N, T, H, W)
    coords = torch.arange(64, dtype=torch.float64) + 0.5  # pixel centres
    mass = f.sum(dim=(-1, -2))
    cx = (f.sum(-2) * coords).sum(-1) / mass
    cy = (f.sum(-1) * coords).sum(-1) / mass
    # the sprite's own centroid offset is the same in every frame of a clip: centroid - position is constant
    off = torch.stack([cx, cy], -1) - clips.positions[:, :, 0].double()  # (N, T, 2)
    assert torch.allclose(off, off[:, :1].expand_as(off), atol=1e-9)
    assert bool((off.abs() < cfg.sprite_size / 2).all())


def test_two_digits_render_as_the_max_of_single_renders():
    sprites = torch.randint(0, 256, (3, 2, 5, 5), dtype=torch.uint8)
    corners = torch.randint(0, 12, (3, 4, 2, 2))
    frames = paste(sprites, corners, image_size=16)
    for n in range(3):
        for t in range(4):
            expected = torch.zeros(16, 16, dtype=torch.uint8)
            for k in range(2):
                x, y = corners[n, t, k].tolist()
                expected[y:y + 5, x:x + 5] = torch.maximum(expected[y:y + 5, x:x + 5], sprites[n, k])
            assert torch.equal(frames[n, t], expected)


def test_generator_is_seedable_and_positions_stay_inside():
    gen = MovingDigits(MovingDigitsConfig(num_digits=3, speed=(3.0, 5.0)))
    a = gen.sample(10, num_frames=30, generator=torch.Generator().manual_seed(7))
    b = gen.sample(10, num_frames=30, generator=torch.Generator().manual_seed(7))
    c = gen.sample(10, num_frames=30, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.frames, b.frames) and torch.equal(a.positions, b.positions)
    assert not torch.equal(a.frames, c.frames)
    half = 28 / 2
    assert bool(((a.positions >= half) & (a.positions <= 64 - half)).all())
    assert a.labels.shape == (10, 3) and int(a.labels.max()) <= 9


def test_train_and_test_sprites_differ():
    train, test = MovingDigits(split="train"), MovingDigits(split="test")
    assert train.sprites.shape[0] == 1442 and test.sprites.shape[0] == 355
    assert not torch.equal(train.sprites[:355], test.sprites)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="sprite_size 70 must be smaller than image_size 64"):
        MovingDigitsConfig(sprite_size=70).validate()
    with pytest.raises(ValueError, match="speed high 50"):
        MovingDigitsConfig(speed=(1.0, 50.0)).validate()


# --- Moving-MNIST loader ---------------------------------------------------------------------------

def test_moving_mnist_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(20, 7, 64, 64), dtype=np.uint8)  # (T, N, H, W) like the public file
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, array)
    video = load_moving_mnist(path)
    assert (video.num_frames, video.num_sequences, video.image_size) == (20, 7, 64)
    index = torch.tensor([6, 0, 3])
    clips = video.clips(index, start=4, length=10)
    assert clips.shape == (3, 10, 1, 64, 64) and clips.dtype == torch.uint8
    for b, n in enumerate(index.tolist()):
        for t in range(10):
            assert np.array_equal(clips[b, t, 0].numpy(), array[4 + t, n])


@pytest.mark.parametrize("content,match", [
    (b"this is not numpy", "not a readable .npy array"),
    (None, "expected a \\(T, N, H, W\\) uint8 array"),
])
def test_moving_mnist_bad_file_names_it(tmp_path, content, match):
    path = tmp_path / "bad.npy"
    if content is None:
        np.save(path, np.zeros((20, 5, 64), np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as err:
        load_moving_mnist(path)
    assert str(path) in str(err.value)


def test_moving_mnist_wrong_dtype_and_missing_file(tmp_path):
    path = tmp_path / "float.npy"
    np.save(path, np.zeros((20, 2, 64, 64), np.float32))
    with pytest.raises(ValueError, match="float32"):
        load_moving_mnist(path)
    with pytest.raises(FileNotFoundError, match="nothing.npy"):
        load_moving_mnist(tmp_path / "nothing.npy")


# --- batch source --------------------------------------------------------------------------------

def test_source_is_a_pure_function_of_seed_and_step():
    src = VideoSource(VideoDataConfig(num_frames=6), batch_size=3, seed=5)
    a, b = src(11), src(11)
    assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["positions"], b["positions"])
    assert not torch.equal(src(12)["frames"], a["frames"])
    assert a["frames"].shape == (3, 6, 1, 64, 64) and a["positions"].shape == (3, 6, 2, 2)


def test_source_reads_windows_of_a_moving_mnist_file(tmp_path):
    array = np.arange(20 * 4 * 64 * 64, dtype=np.int64).reshape(20, 4, 64, 64).astype(np.uint8)
    path = tmp_path / "mm.npy"
    np.save(path, array)
    src = VideoSource(VideoDataConfig(name="moving_mnist", path=str(path), num_frames=10), batch_size=5, seed=0)
    frames = src(3)["frames"]
    assert frames.shape == (5, 10, 1, 64, 64)
    flat = array.reshape(20, 4, -1)
    for clip in frames[:, :, 0].reshape(5, 10, -1).numpy():  # each clip is 10 consecutive frames of one sequence
        n = [j for j in range(4) if any(np.array_equal(clip[0], flat[t, j]) for t in range(20))]
        t0 = [t for t in range(20) if np.array_equal(clip[0], flat[t, n[0]])][0]
        assert np.array_equal(clip, flat[t0:t0 + 10, n[0]])


def test_source_config_errors():
    with pytest.raises(ValueError, match="data.path"):
        VideoSource(VideoDataConfig(name="moving_mnist"), batch_size=2)
    with pytest.raises(ValueError, match="data.name"):
        VideoDataConfig(name="kinetics").validate()
