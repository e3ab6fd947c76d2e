"""Progress display: step/total, loss, throughput and ETA.

On a terminal it is a tqdm bar. Elsewhere (CI logs, files) it prints at most ``lines`` short plain
lines per run, so logs stay readable.

Examples:
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressDisplay(total=4, stream=out, lines=2, clock=iter(range(100)).__next__)
    >>> for step in range(1, 5):
    ...     bar.update(step, {"train/loss": 1.0 / step})
    >>> bar.close()
    >>> print(out.getvalue().strip())
    step 2/4 (50%) loss 0.5 | 2.00 step/s | eta 1s
    step 4/4 (100%) loss 0.25 | 2.00 step/s | eta 0s
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from tqdm import tqdm


class ProgressDisplay:
    """Shows training progress; ``enabled=False`` makes every call a no-op."""

    def __init__(
        self,
        total: int,
        *,
        initial: int = 0,
        enabled: bool = True,
        batch_size: int | None = None,
        stream: TextIO | None = None,
        lines: int = 10,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = total
        self.enabled = enabled
        self._stream = sys.stderr if stream is None else stream
        self._batch_size = batch_size
        self._clock = clock
        self._start_step = initial
        self._last_step = initial
        self._start_time = clock()
        self._every = max(1, math.ceil((total - initial) / max(1, lines)))
        self._bar: Any = None
        if enabled and _is_tty(self._stream):
            self._bar = tqdm(
                total=total,
                initial=initial,
                file=self._stream,
                unit="step",
                dynamic_ncols=True,
                mininterval=0.5,
            )

    def update(self, step: int, metrics: Mapping[str, float]) -> None:
        """Report that ``step`` optimizer steps are done; ``metrics`` may hold ``train/loss``."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(step - self._last_step)
            self._bar.set_postfix_str(self._postfix(metrics), refresh=False)
        elif (step - self._start_step) % self._every == 0 or step == self.total:
            self._stream.write(self._line(step, metrics) + "\n")
            self._stream.flush()
        self._last_step = step

    def note(self, text: str) -> None:
        """Print one line of news (e.g. "resumed from step N") above the bar, or as a plain line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text, file=self._stream)
        else:
            self._stream.write(text + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _postfix(self, metrics: Mapping[str, float]) -> str:
        parts = []
        if "train/loss" in metrics:
            parts.append(f"loss {metrics['train/loss']:.4g}")
        if "train/samples_per_s" in metrics:
            parts.append(f"{metrics['train/samples_per_s']:.3g} samples/s")
        return " ".join(parts)

    def _line(self, step: int, metrics: Mapping[str, float]) -> str:
        elapsed = max(self._clock() - self._start_time, 1e-9)
        rate = (step - self._start_step) / elapsed
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        speed = f"{rate:.2f} step/s"
        if self._batch_size:
            speed += f", {rate * self._batch_size:.3g} samples/s"
        loss = f" loss {metrics['train/loss']:.4g}" if "train/loss" in metrics else ""
        percent = 100 * step // self.total
        return f"step {step}/{self.total} ({percent}%){loss} | {speed} | eta {_duration(eta)}"


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
