"""The image probe as a training callback: linear-probe and k-NN accuracies logged while a method trains.

:func:`probe_callback` wraps :func:`~jepa_world.eval.image_probe.evaluate_encoder` (eval) as a
:class:`~jepa_world.train.protocol.Callback` (train); it lives in train/ because train sits above eval
in the layers (docs/architecture.md). The loop runs it in eval mode; the probe runs under ``no_grad``,
so nothing it does reaches the method's parameters or its RNG streams.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from jepa_world.data.images.dataset import ImageSplits
from jepa_world.eval.image_probe import evaluate_encoder
from jepa_world.train.protocol import Callback


def _device_of(module: nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def probe_callback(splits: ImageSplits, *, every: int, name: str = "probe", batch_size: int = 512) -> Callback:
    """A training callback logging ``{name}/linear_acc``, ``{name}/knn_acc``, ... every ``every`` steps.

    The method must have ``encode(images) -> (B, D)``.
    """
    def fn(step: int, method: Any) -> dict[str, float]:
        if not hasattr(method, "encode"):
            raise TypeError(f"probe_callback needs a method with encode(images); {type(method).__name__} has none")
        return evaluate_encoder(method.encode, splits, device=_device_of(method), batch_size=batch_size)

    return Callback(fn=fn, every=every, name=name)
