"""The errors a user can cause, which the CLI prints as one line (``--debug`` shows the traceback).

Anything else is a bug in this library and keeps its traceback.

Examples:
    >>> isinstance(UserError("--gif runs/x is a directory, expected a file path"), user_errors())
    True
    >>> isinstance(RuntimeError("index out of range"), user_errors())
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class UserError(ValueError):
    """Something the user asked for cannot be done (a bad path, option or value); the message says what was got
    and what was expected."""


class DatasetError(RuntimeError):
    """A dataset directory or shard that cannot be written or read; the message names the file."""


class CheckpointError(RuntimeError):
    """A checkpoint or weight file that is missing, unreadable, or of another kind or model."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


class NonFiniteLossError(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; no optimizer step was taken."""

    def __init__(self, step: int, metrics: Mapping[str, float], checkpoint: Path | None) -> None:
        kept = f"last good checkpoint kept at {checkpoint}" if checkpoint else "no checkpoint saved yet"
        shown = ", ".join(f"{k}={v:.6g}" for k, v in metrics.items())
        super().__init__(f"non-finite loss or gradient norm at step {step} ({shown}); stopped; {kept}")
        self.step = step
        self.metrics = dict(metrics)
        self.checkpoint = checkpoint


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input or a bad environment, not a bug: bad values (ValueError, which
    includes ConfigError and UserError), files and folders (OSError), unreadable checkpoints and datasets, and a
    diverging run. They are defined here, below every layer, so that data/ and train/ raise them and the CLI
    knows them without importing torch."""
    return (ValueError, OSError, CheckpointError, DatasetError, NonFiniteLossError)
