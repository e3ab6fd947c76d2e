"""EMA target networks: the stop-gradient / exponential-moving-average teacher of BYOL and I-JEPA.

``target <- m * target + (1 - m) * online`` after each optimiser step (Grill et al. 2020, BYOL;
Assran et al. 2023, I-JEPA), with ``m`` usually raised from 0.996 to 1 on a cosine schedule.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn


def _check_momentum(momentum: float) -> None:
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, *, momentum: float) -> None:
    """In place ``target = momentum * target + (1 - momentum) * online`` (Grill et al. 2020, BYOL).

    Applies to every parameter and every floating-point buffer (e.g. BatchNorm running stats);
    non-float buffers (``num_batches_tracked``) are copied from ``online``. Both modules must have
    the same parameter and buffer names and shapes.

    Args:
        target: the EMA (teacher) module, modified in place.
        online: the module trained by gradient descent (student).
        momentum: m in [0, 1]; 0 copies ``online``, 1 leaves ``target`` unchanged.

    Examples:
        >>> online, target = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> ema_update(target, online, momentum=0.0)
        >>> bool(torch.equal(target.weight, online.weight))
        True
    """
    _check_momentum(momentum)
    pairs = _paired(dict(target.named_parameters()), dict(online.named_parameters()), "parameters")
    pairs += _paired(dict(target.named_buffers()), dict(online.named_buffers()), "buffers")
    for t, o in pairs:
        if t.is_floating_point():
            t.lerp_(o.to(t), 1.0 - momentum)  # t + (1 - m) (o - t) = m t + (1 - m) o
        else:
            t.copy_(o)


def _paired(target: dict[str, Tensor], online: dict[str, Tensor], kind: str) -> list[tuple[Tensor, Tensor]]:
    if target.keys() != online.keys():
        diff = sorted(set(target) ^ set(online))
        raise ValueError(f"ema_update: target and online {kind} differ by name: {diff[:5]}")
    for name, t in target.items():
        if t.shape != online[name].shape:
            raise ValueError(f"ema_update: {kind[:-1]} {name!r} has shape {tuple(t.shape)} in target "
                             f"and {tuple(online[name].shape)} in online")
    return [(t, online[name]) for name, t in target.items()]


def cosine_momentum(step: int, total_steps: int, *, base: float = 0.996, final: float = 1.0) -> float:
    """Cosine schedule from ``base`` at step 0 to ``final`` at ``total_steps`` (Grill et al. 2020, BYOL).

    ``m(k) = final - (final - base) * (1 + cos(pi * k / K)) / 2``, with ``k`` clamped to ``[0, K]``.

    Examples:
        >>> cosine_momentum(0, 100), cosine_momentum(100, 100), cosine_momentum(50, 100)
        (0.996, 1.0, 0.998)
    """
    if total_steps <= 0:
        raise ValueError(f"cosine_momentum: total_steps must be > 0, got {total_steps}")
    progress = min(max(step, 0), total_steps) / total_steps
    return final - (final - base) * (1.0 + math.cos(math.pi * progress)) / 2.0


class EMATarget(nn.Module):
    """A frozen deep copy of a module, updated by EMA; calling it runs the copy under ``no_grad``.

    The copy has ``requires_grad=False`` on every parameter and stays in eval mode (``train()``
    is a no-op for it), so it is a stop-gradient teacher. Being an ``nn.Module`` it follows its
    owner through ``.to(device)`` and ``state_dict()``.

    Examples:
        >>> online = nn.Linear(4, 4)
        >>> target = EMATarget(online)
        >>> target.update(online, momentum=0.99)
        >>> target(torch.randn(2, 4)).requires_grad
        False
    """

    def __init__(self, online: nn.Module) -> None:
        super().__init__()
        self.module = copy.deepcopy(online)
        self.module.requires_grad_(False)
        self.module.eval()

    def train(self, mode: bool = True) -> EMATarget:
        """Keep the teacher in eval mode whatever the owner's mode."""
        super().train(False)
        return self

    def update(self, online: nn.Module, momentum: float) -> None:
        """EMA step towards ``online`` (see :func:`ema_update`)."""
        ema_update(self.module, online, momentum=momentum)

    def forward(self, *args, **kwargs):
        with torch.no_grad():
            return self.module(*args, **kwargs)
