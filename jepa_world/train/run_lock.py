"""One training process per run directory: ``RUN_DIR/.lock`` holds the owner's pid and host.

The lock file is created with ``O_CREAT | O_EXCL``, so of two processes starting at once exactly one
gets it. A second process finding a live owner is refused with :class:`RunLockedError`; a lock left by
a process that no longer exists (killed, crashed machine) is stale and taken over. The lock is
released when the ``with`` block exits, also on exceptions. A lock written on another host cannot be
checked from here and is treated as live.

Examples:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, RunLock(tmp) as lock:
    ...     lock.path.name, lock.path.is_file()
    ('.lock', True)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """Another live process trains in the same run directory."""


class RunLock:
    """Holds ``run_dir/.lock`` while the ``with`` block runs."""

    def __init__(self, run_dir: Path | str) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._held = False

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # create; on a stale lock, remove it and try again
            if self._create():
                self._held = True
                return self
            self._remove_if_stale()
        raise RunLockedError(
            f"{self.path}: lock file exists but names no owner yet; if no training runs in "
            f"{self.path.parent}, delete it"
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held and _read_owner(self.path) == _me():
            self.path.unlink(missing_ok=True)
        self._held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_me(), f)
        return True

    def _remove_if_stale(self) -> None:
        owner = _read_owner(self.path)
        if owner is None:  # vanished meanwhile, or torn by a crash right after creation
            if self.path.exists() and _age_s(self.path) > 5.0:
                self.path.unlink(missing_ok=True)
            return
        if owner["host"] != socket.gethostname() or _alive(owner["pid"]):
            raise RunLockedError(
                f"{self.path.parent} is in use by process {owner['pid']} on {owner['host']} "
                f"(lock file {self.path}); wait for it to finish, or delete the lock file if it is gone"
            )
        log.warning("%s: removing a stale lock of process %d, which no longer runs", self.path, owner["pid"])
        self.path.unlink(missing_ok=True)


def _me() -> dict[str, int | str]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _read_owner(path: Path) -> dict | None:
    """The lock's ``{"pid", "host"}``, or None when it is missing or unreadable."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int) or not isinstance(owner.get("host"), str):
        return None
    return owner


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0
