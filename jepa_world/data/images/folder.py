"""Load an image folder: one sub-folder per class (``ROOT/<class>/<image>``), read with Pillow.

Layouts:

* ``ROOT/train/<class>/...`` and ``ROOT/test/<class>/...``: those are the splits;
* ``ROOT/<class>/...``: every 5th image of each class (in sorted file order) is a test image.

Images are converted to RGB (``channels=3``) or greyscale (``channels=1``), centre-cropped to a
square and resized to ``image_size`` (bilinear, antialiased). A file that cannot be decoded raises
``ValueError`` naming it; files with other extensions are ignored.

Examples:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for cls in ("a", "b"):
    ...         (root / cls).mkdir()
    ...         for i in range(5):
    ...             Image.new("RGB", (12, 10), (i * 40, 0, 0)).save(root / cls / f"{i}.png")
    ...     splits = load_folder_splits(root, image_size=8)
    >>> len(splits.train), len(splits.test), splits.train.classes
    (8, 2, ('a', 'b'))
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from jepa_world.data.images.dataset import ImageDataset, ImageSplits, every_kth_per_class, resize_uint8

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif", ".tiff")
"""File extensions read as images (case-insensitive)."""


def _class_dirs(root: Path) -> list[Path]:
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise ValueError(f"{root}: no class sub-folders (expected ROOT/<class>/<image files>)")
    return dirs


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def read_image(path: Path, *, image_size: int, channels: int) -> Tensor:
    """One image file -> (channels, image_size, image_size) uint8; ValueError naming the file if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB" if channels == 3 else "L")
            w, h = img.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            img = img.crop((left, top, left + side, top + side))
            data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"{path}: unreadable image ({type(e).__name__}: {e})") from e
    x = data.view(side, side, channels).permute(2, 0, 1).unsqueeze(0)  # (1, C, side, side)
    return resize_uint8(x, image_size)[0]


def _load(folder: Path, classes: list[str], *, image_size: int, channels: int) -> ImageDataset:
    images, labels = [], []
    for label, name in enumerate(classes):
        class_dir = folder / name
        files = _image_files(class_dir) if class_dir.is_dir() else []
        images += [read_image(f, image_size=image_size, channels=channels) for f in files]
        labels += [label] * len(files)
    if not images:
        raise ValueError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in its class folders")
    return ImageDataset(torch.stack(images), torch.tensor(labels, dtype=torch.int64), tuple(classes))


def load_folder_splits(root: Path | str, *, image_size: int = 32, channels: int = 3) -> ImageSplits:
    """The splits of an image folder (layouts in the module docstring)."""
    root = Path(root)
    if channels not in (1, 3):
        raise ValueError(f"image folder: channels must be 1 or 3, got {channels}")
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: image folder not found")
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = [d.name for d in _class_dirs(root / "train")]
        train = _load(root / "train", classes, image_size=image_size, channels=channels)
        test = _load(root / "test", classes, image_size=image_size, channels=channels)
        return ImageSplits.from_datasets(train, test)
    classes = [d.name for d in _class_dirs(root)]
    full = _load(root, classes, image_size=image_size, channels=channels)
    test = every_kth_per_class(full.labels, 5)
    if not test.any():
        raise ValueError(f"{root}: too few images for a test split (every 5th image of a class is a test image)")
    return ImageSplits.from_datasets(full.subset(~test), full.subset(test))
