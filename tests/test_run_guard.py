"""Run-directory guards of the training loop (issue 11): one process per run, never overwriting results
without being asked, resuming only with the settings the checkpoint was trained with, visible resumes,
and the last step always logged."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jepa_world.train import CheckpointError, read_metrics

sys.path.insert(0, str(Path(__file__).parent))
from test_train_loop import StepSeeded, config, make_method, run  # noqa: E402

SETTINGS = {"data": {"noise": 0.1, "length": 3}, "data_seed": 0, "batch_size": 16, "train": {"lr": 0.05}}


def _files(run_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------------- lock


def _lock(run_dir: Path, pid: int) -> Path:
    import socket

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / ".lock"
    lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    return lock


def test_a_second_process_on_a_locked_run_directory_is_refused(tmp_path):
    from jepa_world.train.run_lock import RunLockedError

    lock = _lock(tmp_path, os.getpid())  # a live process holds the run
    with pytest.raises(RunLockedError, match=rf"in use by process {os.getpid()}"):
        run(tmp_path, cfg=config(steps=2))
    assert lock.exists() and not (tmp_path / "checkpoints").exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over_and_released(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = _lock(tmp_path, dead.pid)
    result = run(tmp_path, cfg=config(steps=2))
    assert result.status == "finished" and not lock.exists()


def test_the_lock_is_held_while_training_and_released_on_errors(tmp_path):
    from jepa_world.train import Callback, NonFiniteLossError

    seen = []

    def look(step, method):
        seen.append(json.loads((tmp_path / ".lock").read_text())["pid"])

    with pytest.raises(NonFiniteLossError):
        run(tmp_path, make_method(nan_at=3), callbacks=[Callback(look, every=1)])
    assert seen == [os.getpid()] * 3 and not (tmp_path / ".lock").exists()


_HOLDER = """
import sys, time
from jepa_world.train.run_lock import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_real_second_process_is_refused(tmp_path):
    from jepa_world.train.run_lock import RunLockedError

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid}"):
            run(tmp_path, cfg=config(steps=2))
    finally:
        holder.kill()
        holder.wait()
    assert run(tmp_path, cfg=config(steps=2)).status == "finished"  # killed: its lock is stale


# ------------------------------------------------------------------------------ never overwrite


def test_missing_checkpoint_beside_exported_model_is_not_restarted(tmp_path):
    run(tmp_path, cfg=config(steps=3))
    (tmp_path / "checkpoints" / "last.pt").unlink()
    before = _files(tmp_path)
    with pytest.raises(CheckpointError, match=r"model.safetensors.*refusing to start over.*--force") as info:
        run(tmp_path, cfg=config(steps=5))
    assert "last.pt" in str(info.value)
    assert _files(tmp_path) == before
    result = run(tmp_path, cfg=config(steps=5), force=True)
    assert (result.status, result.step, result.resumed_from) == ("finished", 5, None)
    assert [e["step"] for e in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5]
    record = json.loads((tmp_path / "run.json").read_text())
    assert [s["action"] for s in record["sessions"]] == ["start", "restart"]


def test_metrics_without_checkpoint_are_not_overwritten(tmp_path):
    run(tmp_path, cfg=config(steps=3, ckpt_every=0))
    for name in ("checkpoints/last.pt", "model.safetensors", "model.json"):
        (tmp_path / name).unlink()
    with pytest.raises(CheckpointError, match=r"holds metrics.jsonl"):
        run(tmp_path, cfg=config(steps=3))


# -------------------------------------------------------------------------- resume compatibility


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"data_seed": 1}, "data_seed: 0 -> 1"),
        ({"batch_size": 8}, "batch_size: 16 -> 8"),
        ({"data": {"noise": 0.2, "length": 3}}, "data.noise: 0.1 -> 0.2"),
    ],
)
def test_resume_with_other_data_settings_is_refused_unless_forced(tmp_path, change, expected):
    run(tmp_path, cfg=config(steps=3), settings=SETTINGS)
    before = _files(tmp_path)
    changed = {**SETTINGS, **change}
    with pytest.raises(CheckpointError, match="other settings") as info:
        run(tmp_path, cfg=config(steps=5), settings=changed)
    assert expected in str(info.value) and "--force" in str(info.value)
    assert _files(tmp_path) == before
    result = run(tmp_path, cfg=config(steps=5), settings=changed, force=True)
    assert (result.step, result.resumed_from) == (5, 3)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["settings"]["settings"] == changed
    assert [s["action"] for s in record["sessions"]] == ["start", "resume"]
    assert expected in record["sessions"][1]["forced"][0]
    assert run(tmp_path, cfg=config(steps=6), settings=changed).step == 6  # the forced settings now hold


def test_resume_with_other_optimisation_or_batch_is_refused_but_budgets_may_change(tmp_path):
    run(tmp_path, cfg=config(steps=3), batch_size=16)
    with pytest.raises(CheckpointError, match=r"train.lr: 0.05 -> 0.1"):
        run(tmp_path, cfg=config(steps=5, lr=0.1), batch_size=16)
    with pytest.raises(CheckpointError, match=r"batch_size per process: 16 -> 32"):
        run(tmp_path, data=StepSeeded(batch=32), cfg=config(steps=5), batch_size=32)
    result = run(tmp_path, cfg=config(steps=5, log_every=2, diag_every=2, time_budget_s=60.0), batch_size=16)
    assert (result.status, result.step) == ("finished", 5)


# ------------------------------------------------------------------------- visible, complete logs


def test_a_run_shorter_than_log_every_logs_its_last_step(tmp_path):
    result = run(tmp_path, cfg=config(steps=50, log_every=10, time_budget_s=1e-9))
    assert (result.status, result.step) == ("time_budget", 1)
    events = read_metrics(tmp_path / "metrics.jsonl")
    assert [e["step"] for e in events] == [1] and "train/loss" in events[0]["metrics"]
    run(tmp_path, cfg=config(steps=13, log_every=10))
    assert [e["step"] for e in read_metrics(tmp_path / "metrics.jsonl")] == [1, 10, 13]


def test_resume_is_announced_on_the_progress_output(tmp_path, capsys):
    run(tmp_path, cfg=config(steps=3))
    capsys.readouterr()
    result = run(tmp_path, cfg=config(steps=5, progress=True))
    assert result.resumed_from == 3
    assert f"resumed {tmp_path} from step 3/5" in capsys.readouterr().err


def test_progress_note_is_silent_when_disabled():
    from jepa_world.train import ProgressDisplay

    out = io.StringIO()
    ProgressDisplay(total=3, stream=out, enabled=False).note("resumed")
    ProgressDisplay(total=3, stream=out).note("resumed from step 2")
    assert out.getvalue() == "resumed from step 2\n"

