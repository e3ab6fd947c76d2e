"""Learning-rate schedule: linear warm-up, then cosine decay to ``base_lr * min_ratio``.

``step`` is the 0-based index of the optimizer step about to be taken, which is what
``torch.optim.lr_scheduler.LambdaLR`` passes (its ``last_epoch``):

* warm-up, ``step < warmup``: ``base_lr * (step + 1) / warmup`` (reaches ``base_lr`` at ``warmup - 1``);
* cosine, ``warmup <= step <= total``: with ``t = (step - warmup) / (total - warmup)``,
  ``lr = base_lr * (min_ratio + (1 - min_ratio) * (1 + cos(pi * t)) / 2)``;
* past ``total`` the rate stays at ``base_lr * min_ratio``.

Examples:
    >>> lr_at(10, base_lr=1.0, warmup=10, total=110, min_ratio=0.1)
    1.0
    >>> round(lr_at(60, base_lr=1.0, warmup=10, total=110, min_ratio=0.1), 6)
    0.55
    >>> round(lr_at(110, base_lr=1.0, warmup=10, total=110, min_ratio=0.1), 6)
    0.1
"""

from __future__ import annotations

import math
from collections.abc import Callable


def lr_factor(step: int, *, warmup: int, total: int, min_ratio: float) -> float:
    """The schedule as a multiplier of the base learning rate (see the module docstring)."""
    _check(step, warmup=warmup, total=total, min_ratio=min_ratio)
    if step < warmup:
        return (step + 1) / warmup
    span = total - warmup
    t = 1.0 if span <= 0 else min(1.0, (step - warmup) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def lr_at(step: int, *, base_lr: float, warmup: int, total: int, min_ratio: float) -> float:
    """The learning rate of optimizer step ``step`` (0-based)."""
    return base_lr * lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)


def warmup_cosine(*, warmup: int, total: int, min_ratio: float) -> Callable[[int], float]:
    """A ``lr_lambda`` for ``torch.optim.lr_scheduler.LambdaLR``.

    It is a plain function, so ``LambdaLR.state_dict()`` does not store it: a resumed run rebuilds
    the schedule from its config.

    Examples:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2.0)
        >>> sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(warmup=4, total=8, min_ratio=0.0))
        >>> opt.param_groups[0]["lr"]
        0.5
    """
    _check(0, warmup=warmup, total=total, min_ratio=min_ratio)

    def factor(step: int) -> float:
        return lr_factor(step, warmup=warmup, total=total, min_ratio=min_ratio)

    return factor


class ClockedSchedule:
    """The warm-up + cosine multiplier whose cosine progress is the larger of the steps taken and the time spent.

    ``time_fraction`` (the share of the run's time budget spent so far) is set by the training loop between
    steps; with it at 0 this is :func:`lr_factor`. A callable object rather than a function, so
    ``LambdaLR.state_dict()`` saves ``time_fraction`` and a resumed run continues the decay where it was.

    Examples:
        >>> clock = ClockedSchedule(warmup=0, total=100, min_ratio=0.0)
        >>> clock(10) == lr_factor(10, warmup=0, total=100, min_ratio=0.0)
        True
        >>> clock.time_fraction = 0.5   # half the budget spent after 10 of 100 steps: the decay is half done
        >>> round(clock(10), 6)
        0.5
        >>> clock.time_fraction = 2.0   # past the budget: the floor
        >>> clock(10)
        0.0
    """

    def __init__(self, *, warmup: int, total: int, min_ratio: float) -> None:
        _check(0, warmup=warmup, total=total, min_ratio=min_ratio)
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio
        self.time_fraction = 0.0

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return lr_factor(step, warmup=self.warmup, total=self.total, min_ratio=self.min_ratio)
        span = self.total - self.warmup
        by_steps = 1.0 if span <= 0 else (step - self.warmup) / span
        t = min(1.0, max(by_steps, self.time_fraction))
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def _check(step: int, *, warmup: int, total: int, min_ratio: float) -> None:
    if step < 0 or warmup < 0 or total < 1 or not 0.0 <= min_ratio <= 1.0:
        raise ValueError(
            "schedule needs step >= 0, warmup >= 0, total >= 1 and 0 <= min_ratio <= 1; got "
            f"step={step}, warmup={warmup}, total={total}, min_ratio={min_ratio}"
        )
