"""The training loop: learning, exact resume, non-finite stops, checkpoint files, schedule, config."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time as time_module
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from jepa_world.config import apply_overrides, field_docs, to_dict
from jepa_world.data.sharding import StreamShard
from jepa_world.train import (
    Callback,
    CheckpointError,
    NonFiniteLossError,
    ProgressDisplay,
    RunLogger,
    TrainConfig,
    capture_rng_state,
    export_safetensors,
    load_checkpoint,
    load_run,
    load_safetensors_into,
    lr_at,
    preserve_rng,
    read_metrics,
    resolve_device,
    restore_rng_state,
    save_checkpoint,
    to_device,
    train,
)

DIM = 4
W_TRUE = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
KIND = "toy_regression"
MODEL_CONFIG = {"dim": DIM}


# ----------------------------------------------------------------------------- toy method and data


class Regression(nn.Module):
    """Linear regression whose step also draws from the torch, python and numpy global RNGs.

    ``nan_at``/``grad_nan_at`` make the loss / the gradient non-finite at that step; ``raise_at``
    raises KeyboardInterrupt inside the step; ``signal_at`` sends this process a SIGINT.
    """

    def __init__(self, noise: float = 0.05, **faults: int) -> None:
        super().__init__()
        self.lin = nn.Linear(DIM, 1)
        self.register_buffer("ema", torch.zeros(DIM + 1))
        self.noise = noise
        self.faults = faults
        self.hook_calls: list[tuple[int, int]] = []

    def training_step(self, batch, step):
        x, y = batch
        if self.noise:
            x = x + self.noise * torch.randn_like(x)
        loss = (self.lin(x) - y).pow(2).mean()
        if step == self.faults.get("nan_at"):
            loss = loss * float("nan")
        if step == self.faults.get("grad_nan_at"):
            loss = loss + (self.lin.weight * 0).sqrt().sum()  # finite value, NaN gradient
        if step == self.faults.get("raise_at"):
            raise KeyboardInterrupt
        if step == self.faults.get("signal_at"):
            signal.raise_signal(signal.SIGINT)
        return loss, {"py_draw": random.random(), "np_draw": float(np.random.rand())}

    def after_optimizer_step(self, step, total_steps):
        flat = torch.cat([self.lin.weight.detach().flatten(), self.lin.bias.detach()])
        self.ema.mul_(0.9).add_(0.1 * flat)
        self.hook_calls.append((step, total_steps))

    def diagnostics(self, batch):
        assert not torch.is_grad_enabled() and not self.training
        return {"weight_norm": self.lin.weight.norm().item(), "rng_draw": torch.rand(()).item()}


class StepSeeded:
    """Stateless source: the batch is a function of (seed, the step's chunk of the global stream)."""

    def __init__(self, seed: int = 0, batch: int = 16) -> None:
        self.seed, self.batch, self.shard = seed, batch, StreamShard()

    def set_shard(self, shard: StreamShard) -> None:
        self.shard = shard

    def __call__(self, step: int):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + 7 * self.shard.chunk(step))
        x = torch.randn(self.batch, DIM, generator=g)
        return x, x @ W_TRUE + 0.5


class Stream:
    """Stateful source: draws from its own generator, saved through state_dict()."""

    def __init__(self, seed: int = 0, batch: int = 16) -> None:
        self.gen = torch.Generator().manual_seed(seed)
        self.batch = batch

    def __call__(self, step: int):
        x = torch.randn(self.batch, DIM, generator=self.gen)
        return {"x": x, "y": x @ W_TRUE - 1.0}

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])


class DictRegression(Regression):
    def training_step(self, batch, step):
        return super().training_step((batch["x"], batch["y"]), step)


def make_method(cls=Regression, seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    return cls(**kwargs)


def config(**overrides) -> TrainConfig:
    base = dict(
        steps=24, lr=0.05, warmup_steps=3, min_lr_ratio=0.1, log_every=1, ckpt_every=5, diag_every=0,
        progress=False, tensorboard=False, device="cpu", seed=3, threads=1,
    )
    return TrainConfig(**{**base, **overrides})


def run(run_dir: Path, method=None, data=None, cfg=None, callbacks=None, **kw):
    return train(
        method if method is not None else make_method(),
        data if data is not None else StepSeeded(),
        cfg if cfg is not None else config(),
        run_dir=run_dir, kind=kw.pop("kind", KIND), model_config=kw.pop("model_config", MODEL_CONFIG),
        callbacks=callbacks, **kw,
    )


def train_records(run_dir: Path) -> list[dict]:
    """Logged train metrics without the wall-clock ones."""
    out = []
    for record in read_metrics(run_dir / "metrics.jsonl"):
        metrics = {k: v for k, v in record["metrics"].items() if k.startswith("train/") and "_per_s" not in k}
        if metrics:
            out.append({"step": record["step"], **metrics})
    return out


# ----------------------------------------------------------------------------------- training loop


def test_loss_decreases_and_run_dir_layout(tmp_path):
    method = make_method()
    cfg = config(steps=60, lr=0.3, tensorboard=True)
    result = run(tmp_path, method, cfg=cfg, batch_size=16)
    assert (result.status, result.step) == ("finished", 60)
    records = train_records(tmp_path)
    assert [r["step"] for r in records] == list(range(1, 61))
    assert records[-1]["train/loss"] < 0.05 * records[0]["train/loss"]
    # logged lr is the schedule's closed form for the step taken
    for r in records:
        expected = lr_at(r["step"] - 1, base_lr=0.3, warmup=3, total=60, min_ratio=0.1)
        assert r["train/lr"] == pytest.approx(expected, rel=1e-12)
    assert method.hook_calls == [(i, 60) for i in range(60)]
    assert result.last_metrics["train/samples_per_s"] > 0
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == {"kind": KIND, "model": MODEL_CONFIG, "train": to_dict(cfg)}
    meta = json.loads((tmp_path / "model.json").read_text())
    assert (meta["kind"], meta["step"], meta["status"]) == (KIND, 60, "finished")
    assert any((tmp_path / "tb").iterdir())
    fresh = make_method(seed=99)
    metadata = load_safetensors_into(fresh, tmp_path / "model.safetensors")
    assert metadata["kind"] == KIND and metadata["step"] == "60"
    for key, value in method.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    cfg_dict, state = load_run(tmp_path)
    assert cfg_dict["kind"] == KIND and state["step"] == 60
    assert set(state) >= {"kind", "format_version", "step", "model", "optimizer", "scheduler", "rng", "data"}


class RaiseAt:
    def __init__(self, step: int) -> None:
        self.step = step

    def __call__(self, step, method):
        if step == self.step:
            raise KeyboardInterrupt
        return {"seen": float(step)}


def _interrupt(mode: str, run_dir: Path, make, data_factory) -> int:
    """Run until interrupted at step 13 (or earlier, per mode); return the step resumed from."""
    if mode == "callback":
        result = run(run_dir, make(), data_factory(), callbacks=[Callback(RaiseAt(13), every=1)])
        assert (result.status, result.step) == ("interrupted", 13)
    elif mode == "signal":
        if threading.current_thread() is not threading.main_thread():
            pytest.skip("signal handlers need the main thread")
        result = run(run_dir, make(signal_at=12), data_factory())
        assert (result.status, result.step) == ("interrupted", 13)
    elif mode == "mid_step":
        with pytest.raises(KeyboardInterrupt):
            run(run_dir, make(raise_at=13), data_factory())
        assert not (run_dir / "model.safetensors").exists()
    elif mode == "time_budget":
        result = run(run_dir, make(), data_factory(), cfg=config(time_budget_s=1e-9))
        assert (result.status, result.step) == ("time_budget", 1)
    return load_checkpoint(run_dir / "checkpoints" / "last.pt", expected_kind=KIND)["step"]


@pytest.mark.parametrize("mode", ["callback", "signal", "mid_step", "time_budget"])
@pytest.mark.parametrize("stateful", [False, True], ids=["step_seeded", "stateful_source"])
def test_resume_after_interruption_matches_uninterrupted_run(tmp_path, mode, stateful):
    cls = DictRegression if stateful else Regression
    data_factory = Stream if stateful else StepSeeded
    straight = make_method(cls)
    run(tmp_path / "a", straight, data_factory(), cfg=config(diag_every=4))

    def make(**faults):
        return make_method(cls, **faults)

    resumed_from = _interrupt(mode, tmp_path / "b", make, data_factory)
    assert resumed_from == {"callback": 13, "signal": 13, "mid_step": 10, "time_budget": 1}[mode]
    resumed = make_method(cls, seed=123)  # a different init: the checkpoint must overwrite it
    result = run(tmp_path / "b", resumed, data_factory(), cfg=config(diag_every=4))
    assert (result.status, result.step) == ("finished", 24)
    assert train_records(tmp_path / "b") == train_records(tmp_path / "a")  # bitwise equal floats
    for key, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_diagnostics_and_callbacks_are_logged_and_do_not_change_training(tmp_path):
    def probe(step, method):
        return {"rand": torch.rand(()).item() + random.random() + float(np.random.rand())}

    run(tmp_path / "plain", make_method(), cfg=config(steps=10))
    run(tmp_path / "watched", make_method(), cfg=config(steps=10, diag_every=3),
        callbacks=[Callback(probe, every=4, name="probe")])
    assert train_records(tmp_path / "plain") == train_records(tmp_path / "watched")
    events = read_metrics(tmp_path / "watched" / "metrics.jsonl")
    diag_steps = [e["step"] for e in events if "diag/weight_norm" in e["metrics"]]
    probe_steps = [e["step"] for e in events if "probe/rand" in e["metrics"]]
    assert (diag_steps, probe_steps) == ([3, 6, 9], [4, 8])


@pytest.mark.parametrize("fault", ["nan_at", "grad_nan_at"])
def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path, fault):
    ckpt = tmp_path / "checkpoints" / "last.pt"
    seen: dict[str, bytes] = {}

    def snapshot(step, method):
        seen["bytes"] = ckpt.read_bytes()

    with pytest.raises(NonFiniteLossError) as info:
        run(tmp_path, make_method(**{fault: 7}), callbacks=[Callback(snapshot, every=6)])
    assert info.value.step == 7 and "step 7" in str(info.value) and str(ckpt) in str(info.value)
    assert not math.isfinite(info.value.metrics["grad_norm"])
    assert ckpt.read_bytes() == seen["bytes"]
    assert load_checkpoint(ckpt, expected_kind=KIND)["step"] == 5
    assert not (tmp_path / "model.safetensors").exists()


def test_bf16_on_cpu_warns_and_trains_in_fp32(tmp_path, caplog):
    run(tmp_path / "fp32", make_method(), cfg=config(steps=5))
    with caplog.at_level(logging.WARNING, logger="jepa_world.train.loop"):
        run(tmp_path / "bf16", make_method(), cfg=config(steps=5, precision="bf16"))
    assert any("bf16" in r.getMessage() and "fp32" in r.getMessage() for r in caplog.records)
    assert train_records(tmp_path / "fp32") == train_records(tmp_path / "bf16")


# ------------------------------------------------------------------------------------ checkpoints


def _finished_run(run_dir: Path) -> Path:
    run(run_dir, cfg=config(steps=3))
    return run_dir / "checkpoints" / "last.pt"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_checkpoint_is_named_and_nothing_is_overwritten(tmp_path, damage):
    ckpt = _finished_run(tmp_path)
    good = ckpt.read_bytes()
    bad = {"truncated": good[: len(good) // 2], "garbage": b"\x80not a checkpoint" * 20, "empty": b""}[damage]
    ckpt.write_bytes(bad)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_checkpoint(ckpt, expected_kind=KIND)
    assert str(ckpt) in str(info.value) and info.value.path == ckpt
    with pytest.raises(CheckpointError, match=re.escape(str(ckpt))):
        run(tmp_path, cfg=config(steps=6))
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_checkpoint_of_another_kind_or_model_is_refused(tmp_path):
    ckpt = _finished_run(tmp_path)
    with pytest.raises(CheckpointError, match=r"kind 'toy_regression', expected 'image_jepa'"):
        load_checkpoint(ckpt, expected_kind="image_jepa")
    with pytest.raises(CheckpointError, match="image_jepa"):
        run(tmp_path, cfg=config(steps=6), kind="image_jepa")
    with pytest.raises(CheckpointError, match=r"another model config \(differs in \['dim'\]\)"):
        run(tmp_path, cfg=config(steps=6), model_config={"dim": 8})
    with pytest.raises(CheckpointError, match="past steps=2"):
        run(tmp_path, cfg=config(steps=2))


def test_missing_foreign_and_future_checkpoints(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(path, expected_kind=None)
    torch.save({"weights": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="not a jepa-world checkpoint"):
        load_checkpoint(path, expected_kind=None)
    save_checkpoint(path, {"kind": KIND, "format_version": 99})
    with pytest.raises(CheckpointError, match="format_version 99"):
        load_checkpoint(path, expected_kind=KIND)
    with pytest.raises(CheckpointError, match="config.json"):
        load_run(tmp_path)


def test_atomic_save_leaves_no_temp_files_and_survives_a_failed_write(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"kind": KIND, "step": 1, "w": torch.arange(3.0)})
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    good = path.read_bytes()
    with pytest.raises(Exception, match="pickle"):
        save_checkpoint(path, {"kind": KIND, "step": 2, "fn": lambda: None})  # not picklable
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert load_checkpoint(path, expected_kind=KIND)["step"] == 1


class Tied(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.a = nn.Linear(width, width)
        self.b = nn.Linear(width, width)
        self.b.weight = self.a.weight
        self.register_buffer("count", torch.tensor(7))


def test_safetensors_round_trip_and_mismatch_errors(tmp_path):
    path = tmp_path / "w.safetensors"
    model = make_method(Tied)
    export_safetensors(model, path, {"kind": "tied"})
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    fresh = make_method(Tied, seed=5)
    assert load_safetensors_into(fresh, path) == {"kind": "tied"}
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in model.state_dict().items())
    with pytest.raises(CheckpointError, match=r"a.weight: file \(3, 3\) vs model \(4, 4\)"):
        load_safetensors_into(Tied(width=4), path)
    with pytest.raises(CheckpointError, match=r"missing keys \['ema', 'lin.bias', 'lin.weight'\]"):
        load_safetensors_into(make_method(), path)
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt safetensors"):
        load_safetensors_into(fresh, path)
    with pytest.raises(TypeError, match="metadata"):
        export_safetensors(model, path, {"step": 3})


# ------------------------------------------------------------------------------ schedule, config


def test_lr_schedule_closed_forms():
    kw = dict(base_lr=2.0, warmup=10, total=110, min_ratio=0.25)
    assert lr_at(0, **kw) == pytest.approx(0.2)
    assert lr_at(9, **kw) == lr_at(10, **kw) == 2.0  # warm-up ends at the base rate
    assert lr_at(60, **kw) == pytest.approx((2.0 + 0.5) / 2)  # cosine midpoint: the average
    assert lr_at(110, **kw) == pytest.approx(0.5) == lr_at(500, **kw)  # end: base * min_ratio
    assert lr_at(0, base_lr=1.0, warmup=0, total=5, min_ratio=0.0) == 1.0
    assert lr_at(35, **kw) == pytest.approx(0.5 + 1.5 * (1 + math.cos(math.pi / 4)) / 2)
    with pytest.raises(ValueError, match="min_ratio=2"):
        lr_at(0, base_lr=1.0, warmup=0, total=5, min_ratio=2)


class FakeClock:
    """time.perf_counter that advances by ``tick`` seconds at every call."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def _lrs(run_dir: Path) -> list[float]:
    return [r["train/lr"] for r in train_records(run_dir)]


def test_time_clock_ends_the_decay_at_the_budget_and_carries_over_a_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(time_module, "perf_counter", FakeClock(0.5))
    timed = config(steps=1000, warmup_steps=0, ckpt_every=0, time_budget_s=20.0, schedule_clock="time")
    result = run(tmp_path / "time", cfg=timed)
    assert result.status == "time_budget" and 10 < result.step < 100
    lrs = _lrs(tmp_path / "time")
    assert all(b <= a for a, b in zip(lrs, lrs[1:], strict=False))  # the cosine only goes down
    assert lrs[-1] <= 0.05 * (0.1 + 0.05)  # base 0.05, floor 0.1: the decay ended with the budget
    by_steps = run(tmp_path / "steps", cfg=dataclasses.replace(timed, schedule_clock="steps"))
    assert by_steps.step == result.step and _lrs(tmp_path / "steps")[-1] > 0.05 * 0.99  # the step clock: barely begun
    monkeypatch.setattr(time_module, "perf_counter", FakeClock(0.5))  # a new session: its own budget
    run(tmp_path / "time", cfg=timed)
    assert _lrs(tmp_path / "time")[result.step] <= 0.05 * 0.15  # resumed at the floor, not at the top


def test_time_clock_with_an_unspent_budget_is_the_step_schedule(tmp_path):
    cfg = config(time_budget_s=1e9, schedule_clock="time")
    run(tmp_path, cfg=cfg)
    assert _lrs(tmp_path) == [lr_at(s, base_lr=0.05, warmup=3, total=24, min_ratio=0.1) for s in range(24)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", 0, "steps must be >= 1, got 0"),
        ("lr", -1.0, "lr must be > 0, got -1.0"),
        ("betas", (0.9, 1.5), "betas must be two numbers in [0, 1), got (0.9, 1.5)"),
        ("min_lr_ratio", 1.5, "min_lr_ratio must be in [0, 1], got 1.5"),
        ("grad_clip", -1.0, "grad_clip must be >= 0"),
        ("device", "gpu", "device must be one of"),
        ("precision", "fp16", "precision must be 'fp32' or 'bf16', got 'fp16'"),
        ("log_every", 0, "log_every must be >= 1"),
        ("ckpt_every", -5, "ckpt_every must be >= 0 (0 = only at the end), got -5"),
        ("time_budget_s", -1.0, "time_budget_s must be >= 0"),
        ("threads", -2, "threads must be >= 0"),
        ("schedule_clock", "time", "schedule_clock='time' needs time_budget_s > 0, got 0.0"),
    ],
)
def test_train_config_validate_names_field_and_value(field, value, message):
    with pytest.raises(ValueError, match="invalid TrainConfig") as info:
        TrainConfig(**{field: value}).validate()
    assert message in str(info.value)


def test_train_config_overrides_and_field_docs():
    cfg = apply_overrides(TrainConfig(), ["precision=bf16", "betas=0.8,0.9", "device=cuda:1", "steps=7"])
    assert (cfg.precision, cfg.betas, cfg.device, cfg.steps) == ("bf16", (0.8, 0.9), "cuda:1", 7)
    docs = field_docs(TrainConfig)
    assert {f.name for f in dataclasses.fields(TrainConfig)} == set(docs)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        apply_overrides(TrainConfig(), ["steps=0"])


# ----------------------------------------------------------------------------- device, RNG, logs

Pair = namedtuple("Pair", ["a", "b"])


@dataclasses.dataclass(frozen=True)
class Frame:
    obs: torch.Tensor
    tag: str


def test_to_device_moves_nested_batches():
    batch = {"x": [torch.ones(2), (torch.zeros(1), 3)],
             "p": Pair(torch.ones(1), "s"), "f": Frame(torch.ones(2), "t")}
    moved = to_device(batch, torch.device("meta"))
    assert moved["x"][0].is_meta and moved["x"][1][0].is_meta and moved["x"][1][1] == 3
    assert isinstance(moved["p"], Pair) and moved["p"].a.is_meta and moved["p"].b == "s"
    assert isinstance(moved["f"], Frame) and moved["f"].obs.is_meta and moved["f"].tag == "t"
    assert batch["f"].obs.device.type == "cpu"  # the input is not modified


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_rng_state_round_trips_through_json():
    state = json.loads(json.dumps(capture_rng_state()))
    first = (torch.rand(3), random.random(), np.random.rand())
    restore_rng_state(state)
    second = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(first[0], second[0]) and first[1:] == second[1:]
    with preserve_rng():
        torch.rand(5)
    after = torch.rand(1)
    restore_rng_state(state)
    torch.rand(3)
    assert torch.equal(after, torch.rand(1))


def test_run_logger_purges_on_resume_and_writes_strict_json(tmp_path):
    with RunLogger(tmp_path, tensorboard=False, clock=lambda: 1.0) as logger:
        for step in (1, 2, 3):
            logger.log(step, {"train/loss": 1.0 / step})
        logger.log(4, {"train/loss": float("nan")})
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 5, "tor')  # a line torn by a crash
    with RunLogger(tmp_path, tensorboard=False, purge_step=2, clock=lambda: 1.0) as logger:
        logger.log(3, {"train/loss": 0.25})
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3]
    assert json.loads(lines[-1]) == {"step": 3, "time": 1.0, "metrics": {"train/loss": 0.25}}
    with RunLogger(tmp_path / "n", tensorboard=False) as logger:
        logger.log(1, {"x": float("inf")})
        with pytest.raises(TypeError, match="'bad'"):
            logger.log(1, {"bad": "text"})
    assert json.loads((tmp_path / "n" / "metrics.jsonl").read_text())["metrics"] == {"x": None}


def test_progress_output_is_short_off_a_terminal():
    out = io.StringIO()
    bar = ProgressDisplay(total=1000, stream=out, lines=5, batch_size=8)
    for step in range(1, 1001):
        bar.update(step, {"train/loss": 0.5})
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("step 1000/1000 (100%) loss 0.5")
    assert "samples/s" in lines[0] and "eta" in lines[0]
    quiet = io.StringIO()
    ProgressDisplay(total=10, stream=quiet, enabled=False).update(10, {})
    assert quiet.getvalue() == ""


# --------------------------------------------------------------------------------------------- DDP


class Union:
    """The two ranks' batches of StepSeeded concatenated: what one process sees in a 2-rank run."""

    def __call__(self, step: int):
        parts = [StepSeeded(), StepSeeded()]
        parts[0].set_shard(StreamShard(0, 2))
        parts[1].set_shard(StreamShard(1, 2))
        (x0, y0), (x1, y1) = parts[0](step), parts[1](step)
        return torch.cat([x0, x1]), torch.cat([y0, y1])


_DDP_WORKER = """
import os, sys
from pathlib import Path
import torch
sys.path.insert(0, {tests!r})
from test_train_loop import KIND, MODEL_CONFIG, StepSeeded, config, make_method
from jepa_world.train import train

torch.set_num_threads(1)
method = make_method(noise=0.0)
train(method, StepSeeded(), config(steps=6, ckpt_every=0), run_dir=Path({run_dir!r}), kind=KIND,
      model_config=MODEL_CONFIG)
print("rank", os.environ["RANK"], "trained", flush=True)
torch.save(method.state_dict(), Path({out_dir!r}) / f"rank{{os.environ['RANK']}}.pt")
print("rank", os.environ["RANK"], "saved", flush=True)
"""


@pytest.mark.slow
def test_ddp_two_processes_average_gradients_like_one_big_batch(tmp_path):
    # torchrun in fresh processes (a fork of a pytest worker can deadlock), with a deadline
    script = tmp_path / "worker.py"
    script.write_text(_DDP_WORKER.format(tests=str(Path(__file__).parent), run_dir=str(tmp_path / "ddp"),
                                         out_dir=str(tmp_path)))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    single = make_method(noise=0.0)
    run(tmp_path / "single", single, Union(), cfg=config(steps=6, ckpt_every=0))
    states = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    for key, value in single.state_dict().items():
        assert torch.equal(states[0][key], states[1][key]), key
        torch.testing.assert_close(states[0][key], value, rtol=1e-5, atol=1e-6)
    assert load_run(tmp_path / "ddp")[1]["world_size"] == 2
