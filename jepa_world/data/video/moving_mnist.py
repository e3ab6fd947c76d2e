"""The standard Moving-MNIST file (Srivastava et al. 2015): one ``.npy`` array of shape (T, N, H, W) uint8.

The public ``mnist_test_seq.npy`` is (20, 10000, 64, 64): 10,000 sequences of 20 frames, time first.
Nothing is downloaded: users who have the file pass its path. The array is memory-mapped, so only the
clips a batch asks for are read.

Examples:
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "mm.npy")
    ...     np.save(path, np.zeros((20, 3, 64, 64), np.uint8))
    ...     video = load_moving_mnist(path)
    >>> video.num_sequences, video.num_frames, video.clips(torch.tensor([0, 2]), start=5, length=4).shape
    (3, 20, torch.Size([2, 4, 1, 64, 64]))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass
class VideoArray:
    """Sequences stored time-first, as in the Moving-MNIST file."""

    path: Path
    """Where the array came from (named in errors)."""
    array: np.ndarray
    """(T, N, H, W) uint8, usually a read-only memory map."""

    @property
    def num_frames(self) -> int:
        return int(self.array.shape[0])

    @property
    def num_sequences(self) -> int:
        return int(self.array.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.array.shape[2])

    def clips(self, index: Tensor, *, start: int, length: int) -> Tensor:
        """Frames ``[start, start + length)`` of sequences ``index`` (B,): (B, length, 1, H, W) uint8."""
        if start < 0 or length < 1 or start + length > self.num_frames:
            raise ValueError(f"{self.path}: frames [{start}, {start + length}) are outside the "
                             f"{self.num_frames} frames of each sequence")
        rows = np.asarray(index, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_sequences):
            raise ValueError(f"{self.path}: sequence index out of range [0, {self.num_sequences})")
        block = self.array[start:start + length][:, rows]  # (L, B, H, W)
        return torch.from_numpy(np.ascontiguousarray(block.transpose(1, 0, 2, 3))).unsqueeze(2)


def load_moving_mnist(path: Path | str) -> VideoArray:
    """Open a Moving-MNIST ``.npy`` file; ValueError / FileNotFoundError naming the file when it is unusable.

    The file must hold a (T, N, H, W) uint8 array with H == W (time first, as the public file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Moving-MNIST file not found: {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable .npy array ({e})") from e
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path}: expected one .npy array, got a {type(array).__name__} archive")
    if array.ndim != 4 or array.dtype != np.uint8 or array.shape[2] != array.shape[3]:
        raise ValueError(f"{path}: expected a (T, N, H, W) uint8 array with H == W (Moving MNIST: "
                         f"(20, 10000, 64, 64)), got shape {tuple(array.shape)} dtype {array.dtype}")
    if min(array.shape) < 1:
        raise ValueError(f"{path}: the array is empty, shape {tuple(array.shape)}")
    return VideoArray(path, array)
