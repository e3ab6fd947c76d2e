"""The contract between the training loop and what it trains: methods, batch sources, callbacks.

A *method* is an ``nn.Module`` with a ``training_step``; everything else is an optional hook that the
loop calls when present. A *batch source* is a callable ``source(step) -> batch`` that is
deterministic given its own seed and the step, so a resumed run sees exactly the batches an
uninterrupted run would have seen.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> class Regression(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.lin = nn.Linear(3, 1)
    ...     def training_step(self, batch, step):
    ...         x, y = batch
    ...         loss = (self.lin(x) - y).pow(2).mean()
    ...         return loss, {"mse": loss.item()}
    >>> isinstance(Regression(), Method)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from jepa_world.data.sharding import StreamShard


@runtime_checkable
class Method(Protocol):
    """A trainable system. Implementations are ``nn.Module`` subclasses."""

    def training_step(self, batch: Any, step: int) -> tuple[Tensor, dict[str, float]]:
        """Return the scalar loss (with a graph) and float metrics (already detached)."""
        ...


@runtime_checkable
class HasAfterOptimizerStep(Protocol):
    """Optional hook run after every optimizer step (e.g. an EMA teacher update)."""

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """``step`` is the 0-based index of the step just taken; ``total_steps`` the run length."""
        ...


@runtime_checkable
class HasParamGroups(Protocol):
    """Optional: custom AdamW parameter groups (else all parameters that require grad).

    Each group is a dict with ``params`` and any AdamW option (e.g. ``weight_decay=0.0`` for norms
    and biases). A group may set ``lr_scale``: its learning rate is then ``lr_scale * TrainConfig.lr``.
    """

    def param_groups(self) -> list[dict[str, Any]]:
        """The groups handed to ``torch.optim.AdamW``."""
        ...


@runtime_checkable
class HasDiagnostics(Protocol):
    """Optional: metrics computed every ``diag_every`` steps (collapse diagnostics and the like).

    Called under ``torch.no_grad()`` with the method in eval mode, on the current training batch.
    """

    def diagnostics(self, batch: Any) -> dict[str, float]:
        """Float metrics about the current state of the method."""
        ...


@runtime_checkable
class HasDiagnosticEmbeddings(Protocol):
    """Optional: the embeddings (N, D) whose collapse diagnostics the loop logs every ``diag_every`` steps.

    The loop computes the diagnostics (``objectives.collapse``) itself, so a method needs no import from eval/.
    Called like :meth:`HasDiagnostics.diagnostics`: under ``torch.no_grad()``, in eval mode, on the training batch.
    """

    def diagnostic_embeddings(self, batch: Any) -> Tensor:
        """(N, D) embeddings of the batch, N >= 2 rows (e.g. one per image, or one per spatial cell)."""
        ...


@runtime_checkable
class BatchSource(Protocol):
    """``source(step) -> batch``: deterministic given the source's own seed and ``step``."""

    def __call__(self, step: int) -> Any:
        """The batch for 0-based optimizer step ``step``."""
        ...


@runtime_checkable
class StatefulSource(Protocol):
    """A batch source with state; the loop saves and restores it with each checkpoint.

    Under DDP only rank 0's state is saved and every rank restores it, so the state should not
    depend on the rank (derive rank-specific behaviour from :class:`RankAware` instead).
    """

    def state_dict(self) -> dict[str, Any]:
        """A picklable snapshot of the source."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot taken by :meth:`state_dict`."""
        ...


@runtime_checkable
class RankAware(Protocol):
    """A batch source that serves a different shard on each DDP rank (the rule of ``data/sharding.py``).

    The shard says which chunk of the global stream the rank reads at each step; its start is the
    global stream position of the resumed checkpoint, so the stream continues without repeats when the
    number of processes changes between sessions.
    """

    def set_shard(self, shard: StreamShard) -> None:
        """Called once before training (also with ``StreamShard()`` for a fresh single process)."""
        ...


CallbackFn = Callable[[int, nn.Module], Mapping[str, float] | None]
"""``fn(step, method) -> metrics | None``; ``step`` counts the optimizer steps taken so far."""


@dataclass
class Callback:
    """A periodic function of the method (evaluation, probes, images), run on rank 0 only.

    It runs with the method in eval mode; training RNG streams and module modes are restored
    afterwards, so a callback never changes the training trajectory. Returned metrics are logged as
    ``{name}/{key}``.

    Examples:
        >>> cb = Callback(fn=lambda step, method: {"step_seen": float(step)}, every=100, name="eval")
        >>> cb.every
        100
    """

    fn: CallbackFn
    """Called as ``fn(step, method)``; returns float metrics or None."""
    every: int
    """Run after every ``every`` optimizer steps (must be >= 1)."""
    name: str = "eval"
    """Prefix of the logged metric names."""

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"Callback.fn must be callable, got {self.fn!r}")
        if self.every < 1:
            raise ValueError(f"Callback.every must be >= 1, got {self.every}")
        if not self.name or "/" in self.name:
            raise ValueError(f"Callback.name must be a non-empty name without '/', got {self.name!r}")
