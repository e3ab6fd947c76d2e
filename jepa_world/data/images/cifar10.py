"""Load CIFAR-10 from its python-pickle distribution (``cifar-10-batches-py``); nothing is downloaded.

The folder (or its parent) must hold ``data_batch_1`` ... ``data_batch_5`` (the train split, the
batches that exist are used, at least one), ``test_batch`` (the test split) and optionally
``batches.meta`` (class names). Each batch is a pickled dict with ``b"data"`` (N, 3072) uint8 rows
(1024 red, 1024 green, 1024 blue values, row-major 32x32) and ``b"labels"`` (N ints).

Loading foreign files: these are pickles, and a pickle can name any Python callable to run while it
loads. They are read with a restricted unpickler that resolves only the globals a CIFAR-10 batch
needs (numpy's array reconstruction, ``numpy.dtype``, ``_codecs.encode`` for byte strings), so a
tampered file fails with a ValueError naming it and the disallowed global instead of running code.
See docs/safety.md.

Examples:
    >>> import pickle, tempfile, pathlib
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for name, n in (("data_batch_1", 6), ("test_batch", 4)):
    ...         batch = {b"data": np.zeros((n, 3072), np.uint8), b"labels": [i % 10 for i in range(n)]}
    ...         _ = (root / name).write_bytes(pickle.dumps(batch))
    ...     splits = load_cifar10_splits(root)
    >>> len(splits.train), len(splits.test), splits.image_shape
    (6, 4, (3, 32, 32))
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from jepa_world.data.images.dataset import ImageDataset, ImageSplits, resize_uint8

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"


SAFE_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})
"""The (module, name) globals a CIFAR-10 batch pickle may use: numpy arrays and byte strings, nothing else."""


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`SAFE_GLOBALS` (the "restricting globals" recipe of the
    ``pickle`` docs): data builds, code never runs."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name} (not part of a CIFAR-10 batch)")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            obj = _CifarUnpickler(f, encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError) as e:
        raise ValueError(f"{path}: not a readable CIFAR-10 pickle ({type(e).__name__}: {e})") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file -> images (N, 3, 32, 32) uint8, labels (N,) int64; ValueError naming the file."""
    obj = _unpickle(path)
    data = obj.get(b"data", obj.get("data"))
    labels = obj.get(b"labels", obj.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path}: a CIFAR-10 batch needs b'data' and b'labels', got keys {sorted(map(str, obj))}")
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: b'data' must be (N, 3072) uint8, got {data.shape} {data.dtype}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (data.shape[0],) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"{path}: b'labels' must be {data.shape[0]} ints in [0, 9]")
    images = torch.from_numpy(data.copy()).view(-1, 3, 32, 32)
    return images, torch.from_numpy(labels)


def _find_root(path: Path) -> Path:
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / TEST_BATCH).is_file():
            return candidate
    if not path.exists():
        raise FileNotFoundError(f"{path}: CIFAR-10 folder not found")
    raise FileNotFoundError(f"{path}: no {TEST_BATCH} file (expected the cifar-10-batches-py folder)")


def _class_names(root: Path) -> tuple[str, ...]:
    meta = root / "batches.meta"
    if not meta.is_file():
        return CIFAR10_CLASSES
    names = _unpickle(meta).get(b"label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"{meta}: b'label_names' must be a list of 10 names")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10_splits(path: Path | str, *, image_size: int = 32) -> ImageSplits:
    """The official CIFAR-10 train (data_batch_*) and test (test_batch) splits, resized to ``image_size``."""
    root = _find_root(Path(path))
    train_files = [root / name for name in TRAIN_BATCHES if (root / name).is_file()]
    if not train_files:
        raise FileNotFoundError(f"{root}: no data_batch_1..5 files (the CIFAR-10 train split)")
    parts = [read_cifar_batch(f) for f in train_files]
    classes = _class_names(root)
    xtr, ytr = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    xte, yte = read_cifar_batch(root / TEST_BATCH)
    if image_size != 32:
        xtr, xte = resize_uint8(xtr, image_size), resize_uint8(xte, image_size)
    return ImageSplits.from_datasets(ImageDataset(xtr, ytr, classes), ImageDataset(xte, yte, classes))
