"""Checkpoint and weight files, written atomically, checksummed, and read without running code.

* ``save_checkpoint``/``load_checkpoint``: the full training state (``torch.save``), read back with
  ``torch.load(weights_only=True)``: the state holds only tensors and plain containers (optimizer,
  RNG and data-source state included), so loading a file never unpickles arbitrary objects. Every
  state carries ``kind`` (which method wrote it), ``format_version`` and ``sha256`` (the
  :func:`~jepa_world.train.digest.content_digest` of the rest), verified on load.
* ``export_safetensors``/``load_safetensors_into``: model weights only, safe to share; the metadata
  key ``sha256`` holds the digest of the tensors and the other metadata, verified on load.

Writes go to a temporary file in the destination folder (created with the mode the umask gives, as
``open`` would), are fsync'ed, then renamed over the target with ``os.replace``; an interrupted
write leaves the previous file intact and removes its temporary. A process killed mid-write can
still leave one (``.NAME.XXXX.tmp``): loading ignores it and :func:`remove_stale_temps`, called by
the training loop while it holds the run lock, removes it.

Examples:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "last.pt"
    ...     save_checkpoint(path, {"kind": "demo", "step": 3})
    ...     load_checkpoint(path, expected_kind="demo")["step"]
    3
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from jepa_world.errors import CheckpointError
from jepa_world.train.digest import content_digest

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""Version of the checkpoint dict layout; bumped when its keys change meaning (2: ``sha256`` added)."""

DIGEST_KEY = "sha256"
"""The checkpoint key and safetensors metadata key holding the content digest."""

_TORCH_LOAD_ERRORS = (
    RuntimeError,  # truncated or non-zip archive ("PytorchStreamReader failed ...")
    EOFError,  # empty file
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    ImportError,
    OSError,
)


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    The file gets the permissions ``open()`` would give it (0666 minus the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, exclusive ``.NAME.XXXX.tmp`` beside ``path``; the kernel applies the umask to 0o666."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary name for {path.name}")


def stale_temps(folder: Path | str) -> list[Path]:
    """Temporary files that :func:`atomic_write` left in ``folder`` (a process killed mid-write)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(".*.tmp") if p.is_file())


def remove_stale_temps(folder: Path | str) -> list[Path]:
    """Delete :func:`stale_temps`; call only while no other process writes ``folder`` (the run lock)."""
    removed = stale_temps(folder)
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        log.warning("removed %d temporary file(s) left by an interrupted write: %s",
                    len(removed), ", ".join(p.name for p in removed))
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def read_json(path: Path | str) -> Any:
    """Read a JSON file, raising CheckpointError naming it when missing or malformed."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CheckpointError(path, "file not found") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(path, f"unreadable JSON ({e})") from e


def save_checkpoint(path: Path | str, state: Mapping[str, Any]) -> None:
    """Atomically ``torch.save`` a training state; it must carry a string ``kind``.

    ``format_version`` is added when absent and ``sha256`` (the content digest) always. The state
    may hold only what ``torch.load(weights_only=True)`` reads back: tensors, numbers, strings,
    bytes, None and dicts, lists and tuples of them.
    """
    if not isinstance(state.get("kind"), str):
        raise ValueError(f"a checkpoint state needs a string 'kind', got {state.get('kind')!r}")
    full = {"format_version": FORMAT_VERSION, **{k: v for k, v in state.items() if k != DIGEST_KEY}}
    try:
        full[DIGEST_KEY] = content_digest(full)
    except TypeError as e:
        raise TypeError(
            f"cannot save {path}: {e}; a checkpoint may pickle only what torch.load(weights_only=True) reads back"
        ) from e
    atomic_write(path, lambda f: torch.save(full, f))


def load_checkpoint(
    path: Path | str, *, expected_kind: str | None, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a state saved by :func:`save_checkpoint`, checking its kind, format version and checksum.

    Uses ``torch.load(weights_only=True)``: a file holding anything but tensors and plain
    containers (a tampered or foreign pickle) is refused without running any of it.

    Raises CheckpointError naming the file when it is missing, truncated or corrupt, fails its
    checksum, holds objects other than tensors and plain containers, is not a jepa-world
    checkpoint, is newer than this code, or is of a kind other than ``expected_kind``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint file not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            path, f"corrupt or unsafe checkpoint: it holds more than tensors and plain containers, and "
                  f"weights-only loading refused to unpickle it ({first})"
        ) from e
    except _TORCH_LOAD_ERRORS as e:
        raise CheckpointError(path, f"corrupt or truncated checkpoint ({type(e).__name__}: {e})") from e
    _check_state(path, state, expected_kind)
    _check_digest(path, state)
    return state


def _check_state(path: Path, state: Any, expected_kind: str | None) -> None:
    if not isinstance(state, dict) or "kind" not in state or "format_version" not in state:
        keys = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(path, f"not a jepa-world checkpoint (no 'kind'/'format_version'; got {keys})")
    version = state["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            path, f"format_version {version!r} is not supported (this code reads <= {FORMAT_VERSION})"
        )
    if expected_kind is not None and state["kind"] != expected_kind:
        raise CheckpointError(
            path, f"checkpoint of kind {state['kind']!r}, expected {expected_kind!r}"
        )


def _check_digest(path: Path, state: dict[str, Any]) -> None:
    """Recompute the content digest; format 1 files (written before checksums) are read unchecked."""
    stored = state.pop(DIGEST_KEY, None)
    if stored is None and state["format_version"] < 2:
        log.warning("%s: format_version %d checkpoint has no checksum; loaded unverified",
                    path, state["format_version"])
        return
    if stored is None:
        raise CheckpointError(path, f"corrupt checkpoint: no {DIGEST_KEY!r} checksum (format_version >= 2 has one)")
    try:
        actual = content_digest(state)
    except TypeError as e:
        raise CheckpointError(path, f"corrupt checkpoint: {e}") from e
    if actual != stored:
        raise CheckpointError(
            path, f"corrupt checkpoint: checksum mismatch (sha256 of the content {actual[:12]}..., "
                  f"recorded {str(stored)[:12]}...); the file was modified or damaged after it was written"
        )


def export_safetensors(model: nn.Module, path: Path | str, metadata: Mapping[str, str]) -> None:
    """Atomically write ``model.state_dict()`` as safetensors with string ``metadata``.

    The metadata key ``sha256`` is added: the content digest of the tensors and the other metadata.
    Tensors that share storage (tied weights) are written as separate copies.
    """
    bad = {k: repr(v) for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
    if bad:
        raise TypeError(f"safetensors metadata must map str to str; non-str entries: {bad}")
    tensors = _standalone_tensors(model.state_dict())
    meta = {k: v for k, v in metadata.items() if k != DIGEST_KEY}
    meta[DIGEST_KEY] = _weights_digest(tensors, meta)
    blob = safetensors.torch.save(tensors, metadata=meta)
    atomic_write(path, lambda f: f.write(blob))


def _weights_digest(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> str:
    """Digest of the tensors and metadata in sorted key order (safetensors does not keep the order)."""
    return content_digest({
        "metadata": {k: metadata[k] for k in sorted(metadata) if k != DIGEST_KEY},
        "tensors": {k: tensors[k] for k in sorted(tensors)},
    })


def _standalone_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors, cloning any that share storage with an earlier one."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, tensor in state.items():
        t = tensor.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


def load_safetensors_into(model: nn.Module, path: Path | str) -> dict[str, str]:
    """Load weights written by :func:`export_safetensors` into ``model``; return the file's metadata.

    The ``sha256`` metadata entry is verified (and not returned); a file without one, written by
    another program, is loaded unverified unless its metadata claims ``format_version`` >= 2.

    Raises CheckpointError naming the file and the offending keys on missing keys, unexpected keys or
    shape mismatches, and when the file is missing, corrupt or fails its checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "weights file not found")
    try:
        tensors = safetensors.torch.load_file(path)
        with safetensors.safe_open(path, framework="pt") as f:
            metadata = dict(f.metadata() or {})
    except (safetensors.SafetensorError, OSError) as e:
        raise CheckpointError(path, f"corrupt safetensors file ({e})") from e
    _check_weights_digest(path, tensors, metadata)
    _check_keys_and_shapes(path, model.state_dict(), tensors)
    model.load_state_dict(tensors, strict=True)
    return {k: v for k, v in metadata.items() if k != DIGEST_KEY}


def _check_weights_digest(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
    stored = metadata.get(DIGEST_KEY)
    if stored is None:
        version = metadata.get("format_version", "")
        if version.isdigit() and int(version) >= 2:
            raise CheckpointError(path, f"corrupt safetensors file: no {DIGEST_KEY!r} checksum in its metadata")
        return
    actual = _weights_digest(tensors, metadata)
    if actual != stored:
        raise CheckpointError(
            path, f"corrupt safetensors file: checksum mismatch (sha256 of the content {actual[:12]}..., "
                  f"recorded {stored[:12]}...); the file was modified or damaged after it was written"
        )


def _check_keys_and_shapes(
    path: Path, expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]
) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = [
        f"{k}: file {tuple(found[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(found))
        if found[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if shapes:
        problems.append("shape mismatch " + "; ".join(shapes))
    if problems:
        raise CheckpointError(path, "weights do not match the model: " + ", ".join(problems))
