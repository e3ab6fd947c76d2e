"""Image data for SSL: mask-sampler invariants, augmentations, batch sources, loaders and their errors."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from jepa_world.data.images.augment import (
    AugmentConfig,
    augment,
    color_jitter,
    crop_boxes,
    gaussian_blur,
    random_grayscale,
    random_resized_crop,
)
from jepa_world.data.images.cifar10 import load_cifar10_splits
from jepa_world.data.images.dataset import ImageDataset, ImageSplits, normalize
from jepa_world.data.images.digits import load_digits_splits
from jepa_world.data.images.folder import load_folder_splits
from jepa_world.data.images.masks import MaskConfig, MultiBlockMaskSampler, block_size
from jepa_world.data.images.registry import ImageDataConfig, load_image_splits
from jepa_world.data.images.shapes import SHAPE_CLASSES, generate_shapes, load_shapes_splits
from jepa_world.data.images.source import MaskedImageSource, TwoViewSource
from jepa_world.data.sharding import StreamShard


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------- masks


@pytest.mark.parametrize("grid,seed", [(8, 0), (8, 1), (4, 2), (14, 3)])
def test_mask_invariants(grid, seed):
    cfg = MaskConfig()
    masks = MultiBlockMaskSampler(cfg, grid)(16, generator=_gen(seed))
    ctx, tgt = masks.context_idx, masks.target_idx
    n = grid * grid
    b, m, nt = tgt.shape
    assert (b, m) == (16, cfg.num_targets) and ctx.shape[0] == 16
    assert ctx.min() >= 0 and ctx.max() < n and tgt.min() >= 0 and tgt.max() < n
    # the block has the rounded sides of some area in target_scale and aspect in target_aspect
    achievable = {
        block_size(grid, s, a)
        for s in np.linspace(*cfg.target_scale, 101)
        for a in np.exp(np.linspace(np.log(cfg.target_aspect[0]), np.log(cfg.target_aspect[1]), 101))
    }
    assert nt in {h * w for h, w in achievable}
    for h, w in achievable:  # rounding keeps each side within half a patch of the exact side
        assert 1 <= h <= grid and 1 <= w <= grid
        assert h * w <= (math.sqrt(cfg.target_scale[1] * n * cfg.target_aspect[1]) + 0.5) * \
            (math.sqrt(cfg.target_scale[1] * n / cfg.target_aspect[0]) + 0.5)
    assert ctx.shape[1] >= cfg.min_context
    assert ctx.shape[1] <= math.ceil(cfg.context_scale[1] * n)
    for i in range(b):
        assert not torch.isin(tgt[i], ctx[i]).any(), "a target patch leaked into the context"
        assert ctx[i].unique().numel() == ctx.shape[1] and torch.equal(ctx[i], ctx[i].sort().values)
        for j in range(m):  # each target is a full rectangle of nt patches
            rows, cols = tgt[i, j] // grid, tgt[i, j] % grid
            h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
            assert h * w == nt and tgt[i, j].unique().numel() == nt


def test_masks_are_deterministic_under_a_seed_and_vary_across_seeds():
    sampler = MultiBlockMaskSampler(MaskConfig(), 8)
    a, b = sampler(8, generator=_gen(5)), sampler(8, generator=_gen(5))
    assert torch.equal(a.context_idx, b.context_idx) and torch.equal(a.target_idx, b.target_idx)
    c = sampler(8, generator=_gen(6))
    assert not (torch.equal(a.target_idx, c.target_idx) and torch.equal(a.context_idx, c.context_idx))


def test_mask_config_errors_are_clear():
    with pytest.raises(ValueError, match="target_scale"):
        MaskConfig(target_scale=(0.5, 0.2)).validate()
    with pytest.raises(ValueError, match="min_context 100 must be < 64"):
        MultiBlockMaskSampler(MaskConfig(min_context=100), 8)


# --------------------------------------------------------------------------------------------- augmentations


def test_augment_shapes_ranges_and_determinism():
    x = torch.rand(6, 3, 16, 16, generator=_gen(0))
    cfg = AugmentConfig()
    a, b = augment(x, cfg, generator=_gen(1)), augment(x, cfg, generator=_gen(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, b)
    assert not torch.equal(a, augment(x, cfg, generator=_gen(2)))


def test_full_crop_is_identity_and_flip_is_exact():
    x = torch.rand(4, 2, 8, 8, generator=_gen(3))
    same = random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0, generator=_gen(0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    flipped = random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=1.0, generator=_gen(0))
    torch.testing.assert_close(flipped, x.flip(-1), atol=1e-5, rtol=0)


def test_crop_boxes_lie_inside_the_image_with_area_in_range():
    boxes = crop_boxes(2000, scale=(0.2, 0.6), ratio=(0.5, 2.0), generator=_gen(4))
    cx, cy, w, h = boxes.unbind(1)
    assert bool(((cx - w / 2) >= -1e-9).all() and ((cx + w / 2) <= 1 + 1e-9).all())
    assert bool(((cy - h / 2) >= -1e-9).all() and ((cy + h / 2) <= 1 + 1e-9).all())
    area = w * h  # clipping a side to 1 can only shrink the area
    assert float(area.max()) <= 0.6 + 1e-9 and float(area.min()) >= 0.2 * 0.5 - 1e-9


def test_crop_resizes_to_the_requested_size():
    out = random_resized_crop(torch.rand(2, 1, 16, 16), size=8, generator=_gen(0))
    assert out.shape == (2, 1, 8, 8)


def test_blur_keeps_constant_images_and_mean():
    x = torch.full((3, 3, 12, 12), 0.3)
    torch.testing.assert_close(gaussian_blur(x, sigma=(0.5, 2.0), p=1.0, generator=_gen(0)), x)
    y = torch.rand(2, 1, 12, 12, generator=_gen(1))
    out = gaussian_blur(y, sigma=(1.0, 1.0), p=1.0, generator=_gen(0))
    assert out.var() < y.var()  # smoothing lowers the pixel variance


def test_grayscale_and_jitter():
    x = torch.rand(4, 3, 8, 8, generator=_gen(2))
    gray = random_grayscale(x, p=1.0, generator=_gen(0))
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    torch.testing.assert_close(gray[:, 0], lum)
    assert torch.equal(color_jitter(x, p=0.0, generator=_gen(0)), x)
    bright = color_jitter(x, brightness=0.5, contrast=0.0, saturation=0.0, hue=0.0, p=1.0, generator=_gen(0))
    ratio = bright / x  # brightness only: one factor per image in [0.5, 1.5] (before clamping at 1)
    unclamped = bright < 1
    per_image = [ratio[i][unclamped[i]] for i in range(4)]
    assert all(float(r.max() - r.min()) < 1e-4 and 0.5 <= float(r.mean()) <= 1.5 for r in per_image)


def test_augment_config_rejects_bad_values():
    with pytest.raises(ValueError, match="flip_p must be in"):
        AugmentConfig(flip_p=1.5).validate()


# --------------------------------------------------------------------------------------------- sources


def test_two_view_source_is_deterministic_and_covers_each_epoch():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 4, 4).contiguous()
    src = TwoViewSource(images, torch.arange(10) % 2, batch_size=5, augment=AugmentConfig(), mean=(0.0,), std=(1.0,))
    first = src(0)
    assert first["views"].shape == (2, 5, 1, 4, 4)
    assert torch.equal(src(0)["views"], first["views"])
    ids = torch.cat([src.indices(0), src.indices(1)])
    assert sorted(ids.tolist()) == list(range(10))  # one epoch = each image once
    other = TwoViewSource(images, None, batch_size=5, augment=AugmentConfig(), mean=(0.0,), std=(1.0,), seed=1)
    assert not torch.equal(other.indices(0), src.indices(0))


def test_sources_split_ranks_disjointly():
    images = torch.zeros(12, 1, 4, 4, dtype=torch.uint8)
    a = TwoViewSource(images, None, batch_size=3, augment=AugmentConfig(), mean=(0.0,), std=(1.0,))
    b = TwoViewSource(images, None, batch_size=3, augment=AugmentConfig(), mean=(0.0,), std=(1.0,))
    a.set_shard(StreamShard(0, 2))
    b.set_shard(StreamShard(1, 2))
    seen = torch.cat([a.indices(0), b.indices(0), a.indices(1), b.indices(1)])
    assert sorted(seen.tolist()) == list(range(12))


def test_masked_source_batch():
    images = torch.randint(0, 256, (6, 1, 16, 16), dtype=torch.uint8, generator=_gen(0))
    src = MaskedImageSource(images, torch.arange(6), batch_size=4, masks=MultiBlockMaskSampler(MaskConfig(), 4),
                            mean=(0.5,), std=(0.5,))
    batch = src(2)
    assert batch["images"].shape == (4, 1, 16, 16) and batch["target_idx"].shape[:2] == (4, 4)
    torch.testing.assert_close(batch["images"], normalize(images[src.indices(2)], (0.5,), (0.5,)))
    assert torch.equal(src(2)["context_idx"], batch["context_idx"])


# --------------------------------------------------------------------------------------------- datasets


def test_digits_split_is_fixed_stratified_and_disjoint():
    splits = load_digits_splits(16)
    assert (len(splits.train), len(splits.test)) == (1442, 355)
    assert splits.image_shape == (1, 16, 16) and splits.train.images.dtype == torch.uint8
    counts = torch.bincount(splits.test.labels, minlength=10)
    assert int(counts.min()) >= 34 and int(counts.max()) <= 37
    train_rows = {tuple(r.tolist()) for r in splits.train.images.flatten(1)}
    shared = sum(tuple(r.tolist()) in train_rows for r in splits.test.images.flatten(1))
    assert shared <= 2  # only exact duplicate images (the raw data has a few) can appear in both


def test_shapes_are_deterministic_balanced_and_visible():
    a, la = generate_shapes(24, image_size=16, generator=_gen(0))
    b, _ = generate_shapes(24, image_size=16, generator=_gen(0))
    assert torch.equal(a, b) and a.shape == (24, 3, 16, 16)
    assert torch.bincount(la).tolist() == [4] * len(SHAPE_CLASSES)
    assert float(a.float().std(dim=(1, 2, 3)).min()) > 5  # a shape on a background, never a flat image
    splits = load_shapes_splits(16, train=12, test=6)
    assert not torch.equal(splits.train.images[:6], splits.test.images)


# closed-form areas of the shapes in local coordinates (the rasteriser's definitions):
# circle r^2 = 0.85; square of side 1.5; regular triangle / hexagon of circumradius 1: (3 sqrt 3 / 4),
# (3 sqrt 3 / 2); cross of two 2 x 0.6 bars: 2 * 1.2 - 0.36; star r(t) = 0.6 + 0.4 cos 5t: pi (0.36 + 0.08)
SHAPE_AREAS = {"circle": math.pi * 0.85, "square": 1.5**2, "triangle": 3 * math.sqrt(3) / 4,
               "hexagon": 3 * math.sqrt(3) / 2, "cross": 2 * 1.2 - 0.36, "star": math.pi * (0.36 + 0.08)}


def test_shape_masks_have_their_closed_form_areas():
    from jepa_world.data.images.shapes import _inside

    n = 1200  # pixel centres of a fine grid on [-1.1, 1.1]^2
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / n * 2.2 - 1.1
    v, u = torch.meshgrid(t, t, indexing="ij")
    for label, name in enumerate(SHAPE_CLASSES):
        area = float(_inside(label, u, v).double().mean()) * 2.2**2
        assert area == pytest.approx(SHAPE_AREAS[name], rel=5e-3), name


def test_shapes_class_is_what_varies_with_the_label():
    # fraction of pixels that differ from the image's border colour tracks the class's area
    imgs, labels = generate_shapes(1200, image_size=32, generator=_gen(1))
    x = imgs.float()
    corners = torch.stack([x[:, :, 0, 0], x[:, :, 0, -1], x[:, :, -1, 0], x[:, :, -1, -1]]).median(dim=0).values
    fg = ((x - corners.view(-1, 3, 1, 1)).abs().amax(dim=1) > 40).float().mean(dim=(1, 2))  # (N,)
    mean_fg = {name: float(fg[labels == i].mean()) for i, name in enumerate(SHAPE_CLASSES)}
    assert sorted(mean_fg, key=mean_fg.get) == sorted(SHAPE_AREAS, key=SHAPE_AREAS.get), mean_fg


def test_folder_loader_layouts(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (20, 12), (200 if cls == "cat" else 10, i * 50, 0)).save(
                    tmp_path / split / cls / f"{i}.png")
    (tmp_path / "train" / "cat" / "notes.txt").write_text("ignored")
    splits = load_folder_splits(tmp_path, image_size=8, channels=3)
    assert (len(splits.train), len(splits.test)) == (6, 6)
    assert splits.train.classes == ("cat", "dog") and splits.image_shape == (3, 8, 8)
    assert int(splits.train.images[0, 0].float().mean()) == 200  # cat: red = 200, uniform image
    grey = load_folder_splits(tmp_path, image_size=8, channels=1)
    assert grey.image_shape == (1, 8, 8)


def test_folder_with_an_unreadable_image_names_the_file(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "a" / "ok.png")
    bad = tmp_path / "a" / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match=r"broken\.jpg: unreadable image"):
        load_folder_splits(tmp_path, image_size=8)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_folder_splits(tmp_path / "missing")
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_folder_splits(tmp_path)


def _write_cifar(root, n_train=(4, 3), n_test=5, meta=True):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i + 1}": n for i, n in enumerate(n_train)}
    batches["test_batch"] = n_test
    for name, n in batches.items():
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        (root / name).write_bytes(pickle.dumps({b"data": data, b"labels": [i % 10 for i in range(n)]}))
    if meta:
        names = [f"c{i}".encode() for i in range(10)]
        (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    return root


def test_cifar10_pickle_format(tmp_path):
    root = _write_cifar(tmp_path / "cifar-10-batches-py")
    splits = load_cifar10_splits(tmp_path)  # the parent folder is accepted too
    assert (len(splits.train), len(splits.test)) == (7, 5) and splits.image_shape == (3, 32, 32)
    assert splits.train.classes[3] == "c3"
    raw = pickle.loads((root / "data_batch_1").read_bytes())[b"data"]
    # channel-major rows: the first 1024 values are the red plane, row-major
    assert torch.equal(splits.train.images[0, 0].flatten(), torch.from_numpy(raw[0, :1024].copy()))
    small = load_cifar10_splits(root, image_size=16)
    assert small.image_shape == (3, 16, 16)


def test_cifar10_errors_name_the_file(tmp_path):
    root = _write_cifar(tmp_path / "c")
    (root / "data_batch_2").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="data_batch_2: not a readable CIFAR-10 pickle"):
        load_cifar10_splits(root)
    (root / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"data_batch_2: b'data' must be \(N, 3072\)"):
        load_cifar10_splits(root)
    with pytest.raises(FileNotFoundError, match="no test_batch"):
        load_cifar10_splits(tmp_path)


def test_registry_and_dataset_validation():
    splits = load_image_splits(ImageDataConfig(name="digits", image_size=8))
    assert splits.image_shape == (1, 8, 8)
    with pytest.raises(ValueError, match="needs data.path"):
        ImageDataConfig(name="folder").validate()
    with pytest.raises(ValueError, match="must be one of"):
        ImageDataConfig(name="imagenet").validate()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 1, 4, 4), torch.zeros(2), ("a",))
    ds = ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), ("a",))
    assert ImageSplits.from_datasets(ds, ds).std == (1e-3,)
