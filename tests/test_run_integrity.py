"""Run-directory integrity: checksums, safe loading, file modes, temporary files (issue 11).

The run-level checks (lock, refusing to overwrite, resume compatibility) are in test_run_guard.py.
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
from pathlib import Path

import pytest
import torch

from jepa_world.train import CheckpointError, export_safetensors, load_checkpoint, load_safetensors_into
from jepa_world.train.checkpoint import atomic_write, save_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from test_train_loop import KIND, Tied, config, make_method, run  # noqa: E402


def _flip_inside(path: Path, needle: bytes) -> None:
    """Flip one bit in the middle of the first occurrence of ``needle`` in ``path``."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0, "the stored bytes of the tensor were not found in the file"
    data[at + len(needle) // 2] ^= 0x10
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------------------------------- checksums


def test_flipped_byte_in_checkpoint_weights_is_a_checksum_error(tmp_path):
    method = make_method()
    run(tmp_path, method, cfg=config(steps=3))
    ckpt = tmp_path / "checkpoints" / "last.pt"
    _flip_inside(ckpt, method.lin.weight.detach().numpy().tobytes())
    with pytest.raises(CheckpointError, match="checksum mismatch") as info:
        load_checkpoint(ckpt, expected_kind=KIND)
    assert info.value.path == ckpt and str(ckpt) in str(info.value)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        run(tmp_path, cfg=config(steps=6))  # resume refuses it too


def test_flipped_byte_in_exported_weights_is_a_checksum_error(tmp_path):
    path = tmp_path / "model.safetensors"
    model = make_method(Tied)
    export_safetensors(model, path, {"kind": "tied"})
    _flip_inside(path, model.a.weight.detach().numpy().tobytes())
    with pytest.raises(CheckpointError, match="checksum mismatch") as info:
        load_safetensors_into(make_method(Tied), path)
    assert str(path) in str(info.value)


def test_edited_safetensors_metadata_is_a_checksum_error(tmp_path):
    path = tmp_path / "model.safetensors"
    export_safetensors(make_method(Tied), path, {"kind": "tied", "step": "12"})
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"step":"12"', b'"step":"13"', 1))
    assert path.read_bytes() != data
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_safetensors_into(make_method(Tied), path)


# ------------------------------------------------------------------------------------- safe loading


class _Payload:
    """Unpickling this creates ``target``: proof that a pickle ran code."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


@pytest.mark.parametrize("container", ["torch_zip", "raw_pickle"])
def test_malicious_pickle_as_checkpoint_is_never_executed(tmp_path, container):
    target = tmp_path / "pwned"
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True)
    evil = {"kind": KIND, "format_version": 2, "step": _Payload(target)}
    if container == "torch_zip":
        torch.save(evil, ckpt)
    else:
        ckpt.write_bytes(pickle.dumps(evil))
    with pytest.raises(CheckpointError, match="unsafe checkpoint") as info:
        load_checkpoint(ckpt, expected_kind=KIND)
    assert str(ckpt) in str(info.value)
    with pytest.raises(CheckpointError, match="unsafe checkpoint"):
        run(tmp_path / "run", cfg=config(steps=3))
    assert not target.exists()


def test_checkpoint_state_with_objects_is_refused_at_save(tmp_path):
    path = tmp_path / "last.pt"
    with pytest.raises(TypeError, match="weights_only"):
        save_checkpoint(path, {"kind": KIND, "obj": object()})
    assert not path.exists() and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ modes, temp files


def test_run_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        run(tmp_path, cfg=config(steps=2))
    finally:
        os.umask(previous)
    for name in ("config.json", "checkpoints/last.pt", "model.safetensors", "model.json", "metrics.jsonl"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o644, f"{name}: {oct(mode)}"


def test_failed_write_removes_its_temporary_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")

    def half_then_fail(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_stale_temporaries_are_ignored_by_load_and_removed_by_train(tmp_path):
    from jepa_world.train.checkpoint import stale_temps

    run(tmp_path, cfg=config(steps=3))
    stale = [tmp_path / "checkpoints" / ".last.pt.dead.tmp", tmp_path / ".model.json.dead.tmp"]
    for path in stale:
        path.write_bytes(b"")  # what a process killed mid-write leaves
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt", expected_kind=KIND)["step"] == 3
    assert stale_temps(tmp_path / "checkpoints") == [stale[0]]
    result = run(tmp_path, cfg=config(steps=5))
    assert (result.status, result.step) == ("finished", 5)
    assert not any(p.exists() for p in stale)
