"""Checkpoint and weight files, written atomically and read with errors that name the file.

* ``save_checkpoint``/``load_checkpoint``: the full training state (``torch.save`` pickle). Every
  state carries ``kind`` (which method wrote it) and ``format_version``.
* ``export_safetensors``/``load_safetensors_into``: model weights only, safe to share.

Writes go to a temporary file in the destination folder, are fsync'ed, then renamed over the target
with ``os.replace``; an interrupted write leaves the previous file intact and no temporary behind.

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "last.pt"
    >>> save_checkpoint(path, {"kind": "demo", "step": 3})
    >>> load_checkpoint(path, expected_kind="demo")["step"]
    3
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import safetensors
import safetensors.torch
import torch
from torch import nn

FORMAT_VERSION = 1
"""Version of the checkpoint dict layout; bumped when its keys change meaning."""

_TORCH_LOAD_ERRORS = (
    RuntimeError,  # truncated or non-zip archive ("PytorchStreamReader failed ...")
    EOFError,  # empty file
    pickle.UnpicklingError,  # garbage bytes
    ValueError,
    KeyError,
    IndexError,
    AttributeError,  # the pickle names a class that no longer exists
    ImportError,
    OSError,
)


class CheckpointError(RuntimeError):
    """A checkpoint or weight file that is missing, unreadable, or of another kind or model."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


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

    ``format_version`` is added when absent.
    """
    if not isinstance(state.get("kind"), str):
        raise ValueError(f"a checkpoint state needs a string 'kind', got {state.get('kind')!r}")
    full = {"format_version": FORMAT_VERSION, **state}
    atomic_write(path, lambda f: torch.save(full, f))


def load_checkpoint(
    path: Path | str, *, expected_kind: str | None, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a state saved by :func:`save_checkpoint`, checking its kind and format version.

    Uses ``torch.load(weights_only=False)``: checkpoints hold optimizer, RNG and data-source state
    that the weights-only unpickler rejects. Pickle can run code, so load only checkpoints you
    wrote yourself; share weights as safetensors (:func:`export_safetensors`).

    Raises CheckpointError naming the file when it is missing, truncated or corrupt, not a
    jepa-world checkpoint, newer than this code, or of a kind other than ``expected_kind``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint file not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except _TORCH_LOAD_ERRORS as e:
        raise CheckpointError(path, f"corrupt or truncated checkpoint ({type(e).__name__}: {e})") from e
    _check_state(path, state, expected_kind)
    return state


def _check_state(path: Path, state: Any, expected_kind: str | None) -> None:
    if not isinstance(state, dict) or "kind" not in state or "format_version" not in state:
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
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


def export_safetensors(model: nn.Module, path: Path | str, metadata: Mapping[str, str]) -> None:
    """Atomically write ``model.state_dict()`` as safetensors with string ``metadata``.

    Tensors that share storage (tied weights) are written as separate copies.
    """
    bad = {k: repr(v) for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
    if bad:
        raise TypeError(f"safetensors metadata must map str to str; non-str entries: {bad}")
    tensors = _standalone_tensors(model.state_dict())
    blob = safetensors.torch.save(tensors, metadata=dict(metadata))
    atomic_write(path, lambda f: f.write(blob))


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

    Raises CheckpointError naming the file and the offending keys on missing keys, unexpected keys or
    shape mismatches, and when the file is missing or corrupt.
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
    _check_keys_and_shapes(path, model.state_dict(), tensors)
    model.load_state_dict(tensors, strict=True)
    return metadata


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
