"""Frames of the environments' random-walk trajectories as a labelled image dataset: ``two_rooms``, ``maze``.

The frames a world model sees, for pretraining its encoder with an image-SSL method (the DINO-WM recipe
with our own SSL). Each trajectory of the offline generator (:mod:`jepa_world.data.two_rooms_gen`,
:mod:`jepa_world.data.maze_gen`; random layouts) gives :data:`FRAMES_PER_TRAJECTORY` frames,
:data:`FRAME_GAP` steps apart, rendered as the environment renders them (2 channels: agent blob, walls)
and stored as uint8 (x 255).

Label = a coarse position class of the agent: its cell in a :data:`GRID` x :data:`GRID` grid of the
65 px canvas (row-major), so the SSL runs' online linear probe says how well the representation
locates the agent, the quantity a world model must predict. Labels are never used for training.

Size: frames are centre-cropped or zero-padded to ``image_size`` (:func:`~jepa_world.data.images.dataset.crop_or_pad`,
no resampling): 64 px suits a ViT with 8 or 16 px patches; the frozen-encoder world model applies the
same crop to the environment's 65 px observations.

Fixed split: train frames from ``seed``, test frames from ``seed + 1``. Generation is vectorised
(about a second for 10,000 frames).

Examples:
    >>> splits = load_trajectory_frame_splits("two_rooms", image_size=64, train=32, test=16, seed=0)
    >>> splits.image_shape, len(splits.train), splits.train.num_classes, splits.train.images.dtype
    ((2, 64, 64), 32, 16, torch.uint8)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from jepa_world.data.images.dataset import ImageDataset, ImageSplits, crop_or_pad

GRID = 4
"""Cells per side of the position classes."""
CANVAS = 65
"""Side of the environments' observations (px)."""
FRAMES_PER_TRAJECTORY = 4
"""Frames kept from each generated trajectory."""
FRAME_GAP = 5
"""Steps between kept frames."""
ENVIRONMENTS = ("two_rooms", "maze")
"""The names this module renders."""
CLASSES = tuple(f"cell_r{r}c{c}" for r in range(GRID) for c in range(GRID))
"""Class names: the agent's grid cell, row-major (row = y)."""


def position_class(positions: Tensor) -> Tensor:
    """Agent centres (..., 2) (x, y) px -> cell index (...,) int64 in [0, GRID**2), row-major."""
    cell = (positions / (CANVAS / GRID)).floor().long().clamp(0, GRID - 1)  # (..., 2) as (col, row)
    return cell[..., 1] * GRID + cell[..., 0]


def render_frames(env: str, n: int, *, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` frames (n, 2, 65, 65) float32 in [0, 1] and agent positions (n, 2) px of ``env``'s random walks."""
    if env not in ENVIRONMENTS:
        raise ValueError(f"trajectory frames: env must be one of {list(ENVIRONMENTS)}, got {env!r}")
    if n < 1:
        raise ValueError(f"trajectory frames: need n >= 1 frames, got {n}")
    trajectories = math.ceil(n / FRAMES_PER_TRAJECTORY)
    length = 1 + FRAME_GAP * (FRAMES_PER_TRAJECTORY - 1)
    keep = torch.arange(FRAMES_PER_TRAJECTORY) * FRAME_GAP
    if env == "two_rooms":
        from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
        from jepa_world.envs.two_rooms.render import render_trajectories

        traj = generate(trajectories, TwoRoomsDataConfig(length=length), generator=generator)
        pos = traj.positions[:, keep]  # (N, F, 2)
        obs = render_trajectories(pos, traj.wall_x, traj.door_y, walls=traj.walls)  # (N, F, 2, 65, 65)
    else:
        from jepa_world.data.maze_gen import MazeDataConfig, generate
        from jepa_world.envs.maze.render import render_trajectories

        traj = generate(trajectories, MazeDataConfig(length=length), generator=generator)
        pos = traj.positions[:, keep]
        obs = render_trajectories(pos, traj.doors)
    return obs.flatten(0, 1)[:n], pos.flatten(0, 1)[:n]


def trajectory_frames(env: str, n: int, *, image_size: int, seed: int) -> ImageDataset:
    """An :class:`ImageDataset` of ``n`` frames (n, 2, S, S) uint8 labelled by position class."""
    obs, pos = render_frames(env, n, generator=torch.Generator().manual_seed(seed))
    images = crop_or_pad((obs.clamp(0, 1) * 255).round().to(torch.uint8), image_size)
    return ImageDataset(images, position_class(pos), CLASSES)


def load_trajectory_frame_splits(env: str, *, image_size: int = 64, train: int = 8_000, test: int = 2_000,
                                 seed: int = 0) -> ImageSplits:
    """Train frames from ``seed``, test frames from ``seed + 1``."""
    if train < 2 or test < 2:
        raise ValueError(f"trajectory frames: need at least 2 train and 2 test frames, got {train}, {test}")
    return ImageSplits.from_datasets(trajectory_frames(env, train, image_size=image_size, seed=seed),
                                     trajectory_frames(env, test, image_size=image_size, seed=seed + 1))
