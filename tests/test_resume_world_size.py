"""A run resumed with another number of processes continues its steps and its data stream: no chunk twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_loop import KIND, StepSeeded, config, make_method, run

from jepa_world.train import load_checkpoint, load_run, read_metrics, save_checkpoint
from jepa_world.train.run_record import session_settings, settings_differences


class ChunkLog(StepSeeded):
    """StepSeeded that notes every chunk it serves in ``log_dir/chunks-PID.txt`` (one file per process)."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)

    def __call__(self, step: int):
        with open(self.log_dir / f"chunks-{os.getpid()}.txt", "a") as f:
            f.write(f"{self.shard.chunk(step)}\n")
        return super().__call__(step)


_WORKER = """
import sys
from pathlib import Path
import torch
sys.path.insert(0, {tests!r})
from test_resume_world_size import ChunkLog
from test_train_loop import KIND, MODEL_CONFIG, config, make_method
from jepa_world.train import train

torch.set_num_threads(1)
train(make_method(noise=0.0), ChunkLog(Path({logs!r})), config(steps={steps}, ckpt_every=0), run_dir=Path({run!r}),
      kind=KIND, model_config=MODEL_CONFIG)
"""


def torchrun_two(tmp_path: Path, steps: int) -> None:
    """Train the toy run in tmp_path/run with 2 processes under torchrun up to ``steps``."""
    script = tmp_path / f"worker{steps}.py"
    script.write_text(_WORKER.format(tests=str(Path(__file__).parent), logs=str(tmp_path / "logs"),
                                     run=str(tmp_path / "run"), steps=steps))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]


def chunks_read(tmp_path: Path) -> list[int]:
    return sorted(int(line) for f in (tmp_path / "logs").glob("chunks-*.txt") for line in f.read_text().split())


def check_continued(tmp_path: Path, *, steps: int, chunks: int, processes: list[int]) -> None:
    """Every chunk 0..chunks-1 read exactly once, every step logged once, the sessions' process counts recorded."""
    assert chunks_read(tmp_path) == list(range(chunks))
    state = load_run(tmp_path / "run")[1]
    assert state["step"] == steps and state["data_chunks"] == chunks and state["world_size"] == processes[-1]
    logged = [r["step"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "train/loss" in r["metrics"]]
    assert logged == list(range(1, steps + 1))
    sessions = json.loads((tmp_path / "run" / "run.json").read_text())["sessions"]
    assert [s["processes"] for s in sessions] == processes


def test_the_number_of_processes_may_change_on_resume_but_the_per_process_batch_may_not():
    def settings(world, batch):
        return session_settings(train={"lr": 0.1}, settings={"batch_size": batch}, batch_size=batch, world_size=world)

    assert settings_differences(settings(2, 8), settings(1, 8)) == []
    assert settings_differences(settings(1, 8), settings(2, 4)) == ["batch_size: 8 -> 4"]


def test_a_checkpoint_without_a_stream_position_resumes_where_the_old_rule_stopped(tmp_path):
    # checkpoints written before data_chunks existed: position = step x world_size (one process here)
    (tmp_path / "logs").mkdir()
    run(tmp_path / "run", make_method(noise=0.0), ChunkLog(tmp_path / "logs"), cfg=config(steps=3, ckpt_every=0))
    path = tmp_path / "run" / "checkpoints" / "last.pt"
    state = load_checkpoint(path, expected_kind=KIND)
    del state["data_chunks"]
    save_checkpoint(path, state)
    run(tmp_path / "run", make_method(noise=0.0), ChunkLog(tmp_path / "logs"), cfg=config(steps=5, ckpt_every=0))
    assert chunks_read(tmp_path) == list(range(5))
    assert load_run(tmp_path / "run")[1]["data_chunks"] == 5


@pytest.mark.slow
def test_run_resumed_with_two_processes_then_with_one_continues_steps_and_stream(tmp_path):
    # both directions with one torchrun launch (the slow part): 1 process, then 2, then 1 again
    (tmp_path / "logs").mkdir()
    run(tmp_path / "run", make_method(noise=0.0), ChunkLog(tmp_path / "logs"), cfg=config(steps=3, ckpt_every=0))
    torchrun_two(tmp_path, steps=6)  # chunks 3..8, two per step
    check_continued(tmp_path, steps=6, chunks=9, processes=[1, 2])
    result = run(tmp_path / "run", make_method(noise=0.0), ChunkLog(tmp_path / "logs"),
                 cfg=config(steps=8, ckpt_every=0))  # chunks 9, 10
    assert (result.status, result.step, result.resumed_from) == ("finished", 8, 6)
    check_continued(tmp_path, steps=8, chunks=11, processes=[1, 2, 1])
    assert load_run(tmp_path / "run")[0]["kind"] == KIND
