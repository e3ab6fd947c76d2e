"""Metric logging of a run: ``metrics.jsonl`` always, TensorBoard event files when available.

Each log event is one JSON line ``{"step": int, "time": unix_seconds, "metrics": {name: float}}``;
non-finite values are written as ``null`` so every line is strict JSON. Metric names use
``group/name`` (``train/loss``, ``diag/effective_rank``, ``eval/success``), which TensorBoard groups.

On resume, ``purge_step=k`` drops the events logged after step ``k`` by the interrupted session
(they are about to be logged again), so the file reads like one uninterrupted run.

Examples:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run_dir = pathlib.Path(tmp)
    ...     with RunLogger(run_dir, tensorboard=False) as logger:
    ...         logger.log(10, {"train/loss": 0.5})
    ...     read_metrics(run_dir / "metrics.jsonl")[0]["metrics"]
    {'train/loss': 0.5}
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from jepa_world.train.checkpoint import atomic_write

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tb"


class RunLogger:
    """Append metric events to ``run_dir/metrics.jsonl`` and, optionally, ``run_dir/tb``."""

    def __init__(
        self,
        run_dir: Path | str,
        *,
        tensorboard: bool = True,
        purge_step: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / METRICS_FILE
        self._clock = clock
        if purge_step is not None:
            _purge_after(self.path, purge_step)
        self._file = self.path.open("a", encoding="utf-8")
        self._writer = _summary_writer(self.run_dir / TENSORBOARD_DIR, purge_step) if tensorboard else None

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        """Write one event; values must be convertible to float."""
        values = {name: _as_float(name, value) for name, value in metrics.items()}
        record = {"step": int(step), "time": self._clock(), "metrics": _json_safe(values)}
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(name, value, global_step=int(step))

    def close(self) -> None:
        """Flush and close the files (idempotent)."""
        if not self._file.closed:
            self._file.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_metrics(path: Path | str) -> list[dict[str, Any]]:
    """All events of a ``metrics.jsonl`` file, in order."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"metric {name!r} must be a float, got {type(value).__name__} {value!r}") from e


def _json_safe(values: Mapping[str, float]) -> dict[str, float | None]:
    return {name: (v if math.isfinite(v) else None) for name, v in values.items()}


def _purge_after(path: Path, step: int) -> None:
    """Rewrite ``path`` keeping only events with ``step <= step``; drop a torn last line."""
    if not path.exists():
        return
    kept: list[str] = []
    torn = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            torn += 1
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    if torn:
        log.warning("%s: dropped %d unreadable line(s) left by an interrupted run", path, torn)
    text = "".join(line + "\n" for line in kept)
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _summary_writer(log_dir: Path, purge_step: int | None) -> Any:
    """A TensorBoard SummaryWriter, or None (with a warning) when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        log.warning("TensorBoard logging off (%s); metrics still go to %s", e, METRICS_FILE)
        return None
    # TensorBoard hides events at steps >= purge_step from earlier sessions.
    return SummaryWriter(log_dir=str(log_dir), purge_step=None if purge_step is None else purge_step + 1)
