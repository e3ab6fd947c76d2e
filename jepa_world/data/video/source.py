"""Video training data: the config a preset exposes and the deterministic batch source ``source(step)``.

The batch of step ``s`` depends only on ``(seed, c)``, ``c`` the step's chunk of ``data/sharding.py`` (``c = s``
for one process), so a resumed run sees the batches an uninterrupted one would have seen (also with another
number of processes) and DDP ranks see different clips.

* ``moving_digits`` (default): fresh clips from :class:`~jepa_world.data.video.moving_digits.MovingDigits`
  every step (train-split digits); batch ``{"frames": (B, T, 1, H, W) uint8, "positions": (B, T, K, 2)}``.
* ``moving_mnist``: random windows of ``num_frames`` frames from the sequences of a Moving-MNIST
  ``.npy`` file (:func:`~jepa_world.data.video.moving_mnist.load_moving_mnist`); batch ``{"frames"}`` only.
  The sequences are read in shuffled epochs (:class:`~jepa_world.data.sharding.EpochStream`): within an
  epoch no sequence is read twice, by one rank or by two.

Examples:
    >>> src = VideoSource(VideoDataConfig(num_frames=5), batch_size=2, seed=0)
    >>> batch = src(7)
    >>> batch["frames"].shape, bool(torch.equal(batch["frames"], src(7)["frames"]))
    (torch.Size([2, 5, 1, 64, 64]), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from jepa_world.data.seeds import mixed_seed
from jepa_world.data.sharding import EpochStream, StreamShard
from jepa_world.data.video.moving_digits import MovingDigits, MovingDigitsConfig
from jepa_world.data.video.moving_mnist import VideoArray, load_moving_mnist

VIDEO_DATASETS = ("moving_digits", "moving_mnist")


@dataclass
class VideoDataConfig:
    """Which clips a video run trains on."""

    name: Literal["moving_digits", "moving_mnist"] = "moving_digits"
    """moving_digits (generated from scikit-learn's digits, with positions) | moving_mnist (a .npy file)."""
    path: str = ""
    """The Moving-MNIST .npy file, (T, N, 64, 64) uint8 (name=moving_mnist only)."""
    num_frames: int = 10
    """Frames T per training clip."""
    digits: MovingDigitsConfig = field(default_factory=MovingDigitsConfig)
    """The moving-digits generator (also what evaluation clips are made of)."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if self.name not in VIDEO_DATASETS:
            raise ValueError(f"data.name must be one of {list(VIDEO_DATASETS)}, got {self.name!r}")
        if self.num_frames < 2:
            raise ValueError(f"data.num_frames must be >= 2, got {self.num_frames}")
        if self.name == "moving_mnist" and not self.path:
            raise ValueError("data.name=moving_mnist needs data.path=FILE.npy (the (T, N, 64, 64) uint8 array)")
        self.digits.validate()

    @property
    def image_size(self) -> int:
        """Height = width of a frame (the Moving-MNIST file must match it)."""
        return self.digits.image_size


class VideoSource:
    """``source(step) -> {"frames": (B, T, 1, H, W) uint8[, "positions": (B, T, K, 2)]}``."""

    def __init__(self, config: VideoDataConfig, *, batch_size: int, seed: int = 0) -> None:
        config.validate()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.config, self.batch_size, self.seed = config, batch_size, seed
        self.shard = StreamShard()
        self.digits: MovingDigits | None = None
        self.video: VideoArray | None = None
        self.epochs: EpochStream | None = None
        if config.name == "moving_digits":
            self.digits = MovingDigits(config.digits, split="train")
        else:
            self.video = _checked_video(config)
            self.epochs = EpochStream(self.video.num_sequences, batch_size, seed)

    def set_shard(self, shard: StreamShard) -> None:
        """Read this rank's chunks of the stream (``data/sharding.py``)."""
        self.shard = shard

    def __call__(self, step: int) -> dict[str, Tensor]:
        chunk = self.shard.chunk(step)
        g = torch.Generator().manual_seed(mixed_seed(self.seed, chunk, 0))
        t = self.config.num_frames
        if self.digits is not None:
            clips = self.digits.sample(self.batch_size, num_frames=t, generator=g)
            return {"frames": clips.frames, "positions": clips.positions}
        video, epochs = self.video, self.epochs
        assert video is not None and epochs is not None
        index = epochs.indices(chunk)
        start = int(torch.randint(0, video.num_frames - t + 1, (), generator=g))
        return {"frames": video.clips(index, start=start, length=t)}


def _checked_video(config: VideoDataConfig) -> VideoArray:
    video = load_moving_mnist(config.path)
    if video.num_frames < config.num_frames:
        raise ValueError(f"{video.path}: sequences have {video.num_frames} frames, fewer than "
                         f"data.num_frames={config.num_frames}")
    if video.image_size != config.image_size:
        raise ValueError(f"{video.path}: frames are {video.image_size}px, but data.digits.image_size is "
                         f"{config.image_size}; set data.digits.image_size={video.image_size}")
    return video
