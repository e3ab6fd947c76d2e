"""The errors a user can cause, which the CLI prints as one line (``--debug`` shows the traceback).

Anything else is a bug in this library and keeps its traceback.

Examples:
    >>> isinstance(UserError("--gif runs/x is a directory, expected a file path"), user_errors())
    True
    >>> isinstance(RuntimeError("index out of range"), user_errors())
    False
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user asked for cannot be done (a bad path, option or value); the message says what was got
    and what was expected."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input or a bad environment, not a bug: bad values (ValueError, which
    includes ConfigError and UserError), files and folders (OSError), unreadable checkpoints and datasets, and a
    diverging run. Imported here, on demand, so that importing the CLI stays cheap."""
    from jepa_world.data.shards import DatasetError
    from jepa_world.train.checkpoint import CheckpointError
    from jepa_world.train.loop import NonFiniteLossError

    return (ValueError, OSError, CheckpointError, DatasetError, NonFiniteLossError)
