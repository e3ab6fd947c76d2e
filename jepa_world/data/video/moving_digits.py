"""Moving digits: Moving-MNIST-style clips made offline from scikit-learn's real handwritten digits.

Each clip shows ``num_digits`` digit sprites (``sprite_size`` px, upsampled from 8x8) moving with
constant velocity on a black ``image_size`` px canvas and bouncing off its borders
(:mod:`~jepa_world.data.video.bounce`); overlapping digits keep the brighter pixel. The motion is
simulated in continuous coordinates and drawn at the rounded corner, and the ground truth reported
per frame is the centre of the drawn sprite box, so it matches the pixels exactly.

Everything is batched tensor code: one call makes N clips. A clip depends only on the generator, so a
seeded ``torch.Generator`` reproduces it.

Examples:
    >>> gen = MovingDigits(MovingDigitsConfig())
    >>> clips = gen.sample(3, num_frames=4, generator=torch.Generator().manual_seed(0))
    >>> clips.frames.shape, clips.frames.dtype, clips.positions.shape
    (torch.Size([3, 4, 1, 64, 64]), torch.uint8, torch.Size([3, 4, 2, 2]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.data.video.bounce import bounce, random_start
from jepa_world.data.video.sprites import Split, digit_sprites, paste


@dataclass
class MovingDigitsConfig:
    """What a moving-digits clip looks like."""

    image_size: int = 64
    """Height = width of the canvas (px)."""
    sprite_size: int = 28
    """Height = width of a digit sprite (px); the 8x8 digits are upsampled to it (Moving MNIST: 28)."""
    num_digits: int = 2
    """Digits K per clip."""
    speed: tuple[float, float] = (2.0, 4.0)
    """(low, high) speed of a digit in px per frame, uniform; the direction is uniform."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        room = self.image_size - self.sprite_size
        lo, hi = (float(s) for s in self.speed)
        checks = [
            (self.num_digits >= 1, f"num_digits must be >= 1, got {self.num_digits}"),
            (self.sprite_size >= 8, f"sprite_size must be >= 8 (the digits are 8x8), got {self.sprite_size}"),
            (room >= 1, f"sprite_size {self.sprite_size} must be smaller than image_size {self.image_size}"),
            (0 <= lo <= hi, f"speed must be (low, high) with 0 <= low <= high, got {self.speed}"),
            (hi <= max(room, 0), f"speed high {hi} must be <= image_size - sprite_size = {room} px per frame"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ValueError("invalid MovingDigitsConfig: " + "; ".join(problems))


@dataclass
class VideoClips:
    """A batch of clips with their ground truth."""

    frames: Tensor
    """(N, T, 1, H, W) uint8."""
    positions: Tensor
    """(N, T, K, 2) float32: (x, y) centre of each digit's drawn sprite box, px (pixel i spans [i, i+1))."""
    velocities: Tensor
    """(N, T, K, 2) float32: the velocity (px per frame) carrying each digit from frame t to t+1."""
    labels: Tensor
    """(N, K) int64: which digit (0-9) each sprite shows."""

    def __len__(self) -> int:
        return self.frames.shape[0]


class MovingDigits:
    """A seedable generator of moving-digit clips: ``sample(n, num_frames=T, generator=g) -> VideoClips``."""

    def __init__(self, config: MovingDigitsConfig | None = None, *, split: Split = "train",
                 sprites: tuple[Tensor, Tensor] | None = None) -> None:
        """``split`` picks the digit images; ``sprites`` = (images (M, S, S) uint8, labels (M,)) overrides it."""
        self.config = config or MovingDigitsConfig()
        self.config.validate()
        self.sprites, self.sprite_labels = sprites or digit_sprites(self.config.sprite_size, split)
        s = self.config.sprite_size
        if self.sprites.ndim != 3 or self.sprites.shape[1:] != (s, s) or self.sprites.dtype != torch.uint8:
            raise ValueError(f"MovingDigits: sprites must be (M, {s}, {s}) uint8, got "
                             f"{tuple(self.sprites.shape)} {self.sprites.dtype}")

    @property
    def limit(self) -> float:
        """The largest top-left coordinate: image_size - sprite_size."""
        return float(self.config.image_size - self.config.sprite_size)

    def sample(self, n: int, *, num_frames: int, generator: torch.Generator | None = None) -> VideoClips:
        """``n`` clips of ``num_frames`` frames (see :class:`VideoClips`)."""
        if n < 1 or num_frames < 1:
            raise ValueError(f"MovingDigits.sample: n and num_frames must be >= 1, got {n} and {num_frames}")
        cfg = self.config
        pick = torch.randint(0, self.sprites.shape[0], (n, cfg.num_digits), generator=generator)  # (N, K)
        p0, v0 = random_start(n, cfg.num_digits, limit=self.limit, speed=cfg.speed, generator=generator)
        p, v = bounce(p0, v0, steps=num_frames, limit=self.limit)  # (N, T, K, 2)
        corner = p.round().long().clamp_(0, int(self.limit))
        frames = paste(self.sprites[pick], corner, image_size=cfg.image_size)  # (N, T, H, W)
        centres = corner.float() + cfg.sprite_size / 2
        return VideoClips(frames.unsqueeze(2), centres, v, self.sprite_labels[pick])
