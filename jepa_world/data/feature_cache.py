"""Features of a frozen encoder, computed once over a fixed set of training windows, served as batches.

With a frozen encoder (pretrained or random) the world model's training only needs the encoder's
latents, not the images: :func:`build_feature_cache` draws ``windows`` training windows of
``1 + T * frameskip`` frames from a trajectory stream (fixed seed), encodes every ``frameskip``-th frame
once, and keeps features (N, T+1, D) float32 with the env-step actions (N, T*frameskip, A) and agent
positions (N, 1 + T*frameskip, 2). :class:`FeatureCache` then serves ``{"features", "actions",
"positions"}`` batches, the stream interface of the training loop: ``cache(step)`` reads the step's chunk
(``data/sharding.py``) of shuffled epochs over the windows, a pure function of (seed, chunk), so a resumed run
sees the batches an uninterrupted one would have, and within an epoch no window is read twice (by one rank or
by two).

On disk (:meth:`FeatureCache.save`, safetensors, read without unpickling) the cache carries a key:
:func:`cache_key`, the sha256 of the encoder's weights and buffers, the data config, the frameskip and
the window set. :func:`load_or_build` rebuilds a cache whose key differs from the current one (encoder
retrained, data or frameskip changed) and says so; a stale cache is never silently reused.

This module knows no model: the encoder is any function (B, C, H, W) -> (B, ...), hashed by its state dict.

Examples:
    >>> import torch
    >>> def windows(k):  # chunk k of 4 windows of 5 frames, 1 channel
    ...     g = torch.Generator().manual_seed(k)
    ...     return {"obs": torch.rand(4, 5, 1, 6, 6, generator=g), "actions": torch.rand(4, 4, 2, generator=g),
    ...             "positions": torch.rand(4, 5, 2, generator=g)}
    >>> cache = build_feature_cache(windows, lambda x: x.mean(dim=(1, 2, 3)).unsqueeze(1), windows=8,
    ...                             frameskip=2, batch_size=3, seed=0, key="k")
    >>> batch = cache(0)
    >>> batch["features"].shape, batch["actions"].shape, batch["positions"].shape
    (torch.Size([3, 3, 1]), torch.Size([3, 4, 2]), torch.Size([3, 5, 2]))
    >>> bool(torch.equal(cache(5)["features"], cache(5)["features"]))
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from jepa_world.data.sharding import EpochStream, StreamShard

log = logging.getLogger(__name__)

FORMAT = "jepa-world-feature-cache-1"
"""Format tag stored in the file's metadata."""


def cache_key(state: Mapping[str, Tensor], *, data: Mapping[str, Any], frameskip: int, windows: int,
              seed: int) -> str:
    """sha256 hex of an encoder's state dict (names, dtypes, shapes, bytes) and of the window set's definition.

    Examples:
        >>> import torch
        >>> a = cache_key({"w": torch.zeros(2)}, data={"length": 6}, frameskip=5, windows=8, seed=0)
        >>> a == cache_key({"w": torch.zeros(2)}, data={"length": 6}, frameskip=5, windows=8, seed=0)
        True
        >>> a == cache_key({"w": torch.ones(2)}, data={"length": 6}, frameskip=5, windows=8, seed=0)
        False
    """
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    spec = {"data": dict(data), "frameskip": frameskip, "windows": windows, "seed": seed, "format": FORMAT}
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    return h.hexdigest()


class FeatureCache:
    """Cached windows served as batches: ``cache(step) -> {"features" (B, T+1, D), "actions" (B, T*k, A),
    "positions" (B, 1+T*k, 2)}``, B windows of the step's chunk of shuffled epochs (``data/sharding.py``)."""

    def __init__(self, features: Tensor, actions: Tensor, positions: Tensor, *, batch_size: int, seed: int,
                 key: str) -> None:
        n = features.shape[0]
        if features.dim() != 3 or actions.dim() != 3 or positions.dim() != 3 or {actions.shape[0],
                                                                               positions.shape[0]} != {n}:
            raise ValueError(f"FeatureCache expects features (N, T+1, D), actions (N, T*k, A), positions "
                             f"(N, 1+T*k, 2), got {tuple(features.shape)}, {tuple(actions.shape)}, "
                             f"{tuple(positions.shape)}")
        if batch_size < 1 or n < 1:
            raise ValueError(f"FeatureCache needs >= 1 window and batch_size >= 1, got {n} and {batch_size}")
        self.features, self.actions, self.positions = features, actions, positions
        self.batch_size, self.seed, self.key = batch_size, seed, key
        self.shard = StreamShard()
        self.epochs = EpochStream(n, batch_size, seed)
        self.build_seconds = 0.0
        """Seconds the encoding took when this cache was built (0 when loaded from disk)."""

    def __len__(self) -> int:
        return self.features.shape[0]

    def set_shard(self, shard: StreamShard) -> None:
        """Read this rank's chunks of the stream (``data/sharding.py``)."""
        self.shard = shard

    def indices(self, step: int) -> Tensor:
        """The windows (B,) of batch ``step``."""
        return self.epochs.indices(self.shard.chunk(step))

    def __call__(self, step: int) -> dict[str, Tensor]:
        idx = self.indices(step)
        return {"features": self.features[idx], "actions": self.actions[idx], "positions": self.positions[idx]}

    def save(self, path: Path | str) -> Path:
        """Write the cache and its key to ``path`` (safetensors; atomically: a temporary file, then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent writers never share a temporary
        save_file({"features": self.features.contiguous(), "actions": self.actions.contiguous(),
                   "positions": self.positions.contiguous()}, str(tmp), metadata={"key": self.key, "format": FORMAT})
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path | str, *, key: str, batch_size: int, seed: int) -> FeatureCache:
        """The cache at ``path``; ValueError when its key is not ``key`` (a stale cache) or the file is unreadable."""
        path = Path(path)
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise ValueError(f"{path}: unreadable feature cache ({e})") from e
        if meta.get("format") != FORMAT or set(tensors) != {"features", "actions", "positions"}:
            raise ValueError(f"{path}: not a feature cache of format {FORMAT!r}")
        if meta.get("key") != key:
            raise ValueError(f"{path}: stale feature cache: its key {meta.get('key', '')[:12]}... is not the current "
                             f"encoder + data key {key[:12]}... (the encoder's weights, the data config or the "
                             f"frameskip changed)")
        return cls(tensors["features"], tensors["actions"], tensors["positions"], batch_size=batch_size, seed=seed,
                   key=key)


@torch.no_grad()
def build_feature_cache(windows_fn: Callable[[int], Mapping[str, Tensor]], encode: Callable[[Tensor], Tensor], *,
                        windows: int, frameskip: int, batch_size: int, seed: int, key: str) -> FeatureCache:
    """Encode ``windows`` windows once: chunks ``windows_fn(0), windows_fn(1), ...`` (obs (b, 1+T*k, C, H, W),
    actions, positions) until enough, every k-th frame through ``encode`` ((M, C, H, W) -> (M, ...), flattened to D).

    Logs how long it took (seconds, and ms per encoded frame).
    """
    if windows < 1 or frameskip < 1:
        raise ValueError(f"build_feature_cache needs windows >= 1 and frameskip >= 1, got {windows}, {frameskip}")
    start = time.perf_counter()
    feats, acts, poss, have, chunk, frames = [], [], [], 0, 0, 0
    while have < windows:
        batch = windows_fn(chunk)
        obs = batch["obs"][: windows - have]  # (b, 1+T*k, C, H, W)
        if (obs.shape[1] - 1) % frameskip:
            raise ValueError(f"windows of {obs.shape[1]} frames do not hold whole chunks of frameskip {frameskip}")
        sub = obs[:, ::frameskip]  # (b, T+1, C, H, W)
        z = encode(sub.flatten(0, 1))  # (b*(T+1), ...)
        feats.append(z.reshape(sub.shape[0], sub.shape[1], -1).float())  # (b, T+1, D)
        acts.append(batch["actions"][: obs.shape[0]])
        poss.append(batch["positions"][: obs.shape[0]])
        have, chunk, frames = have + obs.shape[0], chunk + 1, frames + sub.shape[0] * sub.shape[1]
    seconds = time.perf_counter() - start
    log.info("feature cache: %d windows (%d frames) encoded in %.1f s (%.2f ms per frame)", windows, frames, seconds,
             1000 * seconds / max(frames, 1))
    cache = FeatureCache(torch.cat(feats), torch.cat(acts), torch.cat(poss), batch_size=batch_size, seed=seed, key=key)
    cache.build_seconds = seconds
    return cache


def load_or_build(path: Path | str | None, build: Callable[[], FeatureCache], *, key: str, batch_size: int,
                  seed: int, write: bool = True) -> tuple[FeatureCache, str]:
    """(cache, status): the cache at ``path`` when its key is ``key`` ("loaded"), else ``build()`` saved there
    ("built", or "rebuilt: <why>" when a stale or unreadable cache was replaced). ``path=None``: memory only.
    ``write=False`` (the DDP ranks other than 0) builds without saving: one process writes a run's files."""
    if path is None:
        return build(), "built"
    path = Path(path)
    status = "built"
    if path.exists():
        try:
            return FeatureCache.load(path, key=key, batch_size=batch_size, seed=seed), "loaded"
        except ValueError as e:
            status = f"rebuilt: {e}"
            log.warning("%s; rebuilding it", e)
    cache = build()
    if write:
        cache.save(path)
    return cache, status
