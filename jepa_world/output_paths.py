"""Output paths checked before long work starts: a run that trains for 20 minutes should not fail at the end
because ``--gif`` names a folder or ``--run-dir`` names a file.

Nothing is created: the checks look at the path and at its nearest existing parent, which must be a folder
that accepts a new file (tried with a temporary file, so permissions, read-only mounts and root all count).

Examples:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_file(root / "new" / "eval.json", "--json") == root / "new" / "eval.json"
    True
    >>> check_output_dir(root / "runs" / "a", "--run-dir") == root / "runs" / "a"
    True
    >>> _ = (root / "f").write_text("x")
    >>> check_output_dir(root / "f", "--run-dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jepa_world.errors.UserError: --run-dir ... is a file, expected a directory
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from jepa_world.errors import UserError


def check_output_dir(path: Path | str, option: str) -> Path:
    """``path`` can be used (or created) as an output folder, else UserError naming ``option`` and the path."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path} is a file, expected a directory")
    _check_parent_writable(path, option)
    return path


def check_output_file(path: Path | str, option: str) -> Path:
    """``path`` can be written as a file (its folder may not exist yet), else UserError naming ``option``."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory, expected a file path")
    if path.exists() and not _writable_file(path):
        raise UserError(f"{option} {path} exists and cannot be overwritten (permission denied)")
    _check_parent_writable(path.parent, option, what=path)
    return path


def _check_parent_writable(folder: Path, option: str, *, what: Path | None = None) -> None:
    """The nearest existing ancestor of ``folder`` (itself included) is a folder that accepts a new file."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    shown = what or folder
    if not existing.is_dir():
        raise UserError(f"{option} {shown} cannot be created: {existing} is a file, expected a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise UserError(f"{option} {shown} cannot be written: {existing} is not writable ({e.strerror})") from None


def _writable_file(path: Path) -> bool:
    try:
        with path.open("ab"):
            return True
    except OSError:
        return False
