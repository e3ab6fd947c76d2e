"""The one training loop every method uses.

    result = train(method, source, TrainConfig(steps=2000), run_dir=Path("runs/wm"),
                   kind="world_model", model_config=to_dict(model_cfg), batch_size=64)

Each step: ``batch = source(step)`` moved to the device; ``loss, metrics = method.training_step(batch,
step)`` (bf16 autocast on CUDA when asked); backward; global gradient-norm clipping; a finiteness
check of the loss and the gradient norm; AdamW; the warm-up + cosine ``LambdaLR`` (over the steps, or with
``schedule_clock="time"`` over whichever of the steps or the time budget runs out first:
:class:`~jepa_world.train.schedule.ClockedSchedule`, its clock the same on every rank); then the method's
optional ``after_optimizer_step`` hook. The same code runs on one CPU, one GPU, and N processes under
``torchrun`` (DistributedDataParallel; only rank 0 writes files).

run_dir layout (rank 0 writes it):

    config.json          {"kind", "model", "train"}: the resolved run config, written at start
    run.json             the session's settings (see ``train/run_record.py``) and the session history
    .lock                held while a process trains here (``train/run_lock.py``)
    checkpoints/last.pt  the full training state (keys below); enough to resume exactly
    metrics.jsonl        one JSON event per log step (see ``train/logger.py``)
    tb/                  TensorBoard event files (when ``TrainConfig.tensorboard``)
    model.safetensors    the method's weights, written when training stops
    model.json           {"kind", "model", "train", "step", "status", "format_version", "weights"}

Checkpoint keys: ``kind, format_version, sha256, step, model, optimizer, scheduler, rng, data, data_chunks,
config, run, metrics, world_size, time``. ``step`` counts the optimizer steps taken; ``rng`` is rank 0's RNG
state; ``data`` the batch source's ``state_dict()`` (or None); ``data_chunks`` the global stream position
(per-process batches read by all ranks so far, ``data/sharding.py``), which a resume hands to the source's
``set_shard``, so a run resumed with another number of processes continues the stream without repeats.

Resume: when ``checkpoints/last.pt`` exists and ``TrainConfig.resume`` is true, the model, optimizer,
schedule, RNG streams, data-source state and step are restored, so an interrupted and resumed run
logs the same losses as an uninterrupted one (bitwise on CPU). Diagnostics and callbacks run with
the RNG streams saved and restored, so they never change the training trajectory. A resume whose
settings (``run``: data, batch size, seeds, optimisation; budgets may change) differ from the
checkpoint's is refused with the list of differences unless ``force=True`` (``--force``), which
``run.json`` then records.

Never overwriting results: a run directory holding an exported model or a metrics history but no
checkpoint is not started over unless ``force=True`` or ``TrainConfig.resume`` is false. One process
trains in a run directory at a time (``.lock``); temporary files of an interrupted write are removed
at start.

Stopping: the run ends with a checkpoint and the weights exported when it finishes, when
``time_budget_s`` is spent, and on SIGINT/SIGTERM: the first signal lets the current step finish
(status ``"interrupted"``); a second Ctrl-C aborts at once and keeps the last saved checkpoint. A
``KeyboardInterrupt`` raised between steps (e.g. by a callback) also saves and returns
``"interrupted"``; one raised inside a step is re-raised after logging, without saving a half-updated
state. A non-finite loss or gradient norm raises :class:`NonFiniteLossError` before the optimizer
step, leaving the last checkpoint untouched.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR

from jepa_world.config import ConfigError, dict_problems, to_dict
from jepa_world.data.sharding import StreamShard
from jepa_world.errors import NonFiniteLossError
from jepa_world.objectives.collapse import collapse_report
from jepa_world.objectives.sync_batch_norm import convert_batch_norms
from jepa_world.train.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    export_safetensors,
    load_checkpoint,
    read_json,
    remove_stale_temps,
    save_checkpoint,
    write_json_atomic,
)
from jepa_world.train.config import TrainConfig
from jepa_world.train.device import (
    DistInfo,
    bf16_supported,
    capture_rng_state,
    dist_info_from_env,
    init_distributed,
    max_over_ranks,
    preserve_rng,
    resolve_device,
    restore_rng_state,
    seed_everything,
    shutdown_distributed,
    to_device,
)
from jepa_world.train.logger import RunLogger
from jepa_world.train.progress import ProgressDisplay
from jepa_world.train.protocol import (
    BatchSource,
    Callback,
    HasAfterOptimizerStep,
    HasDiagnosticEmbeddings,
    HasDiagnostics,
    HasParamGroups,
    Method,
    RankAware,
    StatefulSource,
)
from jepa_world.train.run_lock import RunLock
from jepa_world.train.run_paths import RunPaths
from jepa_world.train.run_record import record_session, session_settings, settings_differences
from jepa_world.train.schedule import ClockedSchedule, warmup_cosine

log = logging.getLogger(__name__)

Status = Literal["finished", "time_budget", "interrupted"]


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    step: int
    """Optimizer steps completed (the step of checkpoints/last.pt)."""
    status: Status
    """finished | time_budget | interrupted."""
    last_metrics: dict[str, float]
    """The latest value of every metric (``train/loss``, ``diag/...``, callback metrics)."""
    run_dir: Path
    """Where the run's files are."""
    wall_s: float
    """Seconds spent in this call, set-up and saving included."""
    resumed_from: int | None = None
    """The checkpoint step this call resumed from (None: started at step 0)."""


def train(
    method: nn.Module,
    data: BatchSource,
    config: TrainConfig,
    *,
    run_dir: Path | str,
    kind: str,
    model_config: dict[str, Any],
    batch_size: int | None = None,
    callbacks: Sequence[Callback] | None = None,
    settings: Mapping[str, Any] | None = None,
    force: bool = False,
) -> TrainResult:
    """Train ``method`` on batches from ``data``; resume from ``run_dir`` when it holds a checkpoint.

    Args:
        method: an ``nn.Module`` implementing :class:`~jepa_world.train.protocol.Method`. Build (and
            seed) it before calling; ``config.seed`` seeds the training randomness only.
        data: ``data(step) -> batch``; see :class:`~jepa_world.train.protocol.BatchSource`.
        config: the training settings (validated here).
        run_dir: the run directory (layout in the module docstring).
        kind: the method's registry name; a checkpoint of another kind is refused.
        model_config: JSON-able config that rebuilds the method (saved in config.json and checkpoints).
        batch_size: per-process batch size, for the samples/s metric.
        callbacks: periodic functions of the method, run on rank 0 between steps.
        settings: the run's whole resolved config (JSON-able; e.g. a preset config's ``to_dict``: data
            distribution, data seed, batch size, ...), recorded in run.json and every checkpoint and
            compared on resume.
        force: resume although the settings differ from the checkpoint's (recorded in run.json), or
            start over in a run directory whose exported model / metrics would be overwritten.
    """
    t_start = time.perf_counter()
    config.validate()
    model_config = _check_inputs(method, data, kind, model_config, batch_size, callbacks)
    settings = _json_dict(settings, "settings") if settings is not None else None
    dist_info = dist_info_from_env()
    device = resolve_device(config.device, local_rank=dist_info.local_rank)
    paths = RunPaths(Path(run_dir))
    with _claim_run_dir(paths, dist_info):
        created = init_distributed(dist_info, device)
        finished = False
        try:
            if config.threads:
                torch.set_num_threads(config.threads)
            session = _Session(
                method,
                data,
                config,
                paths,
                run_config={"kind": kind, "model": model_config, "train": to_dict(config)},
                settings=settings,
                force=force,
                batch_size=batch_size,
                callbacks=list(callbacks or ()),
                dist=dist_info,
                device=device,
            )
            status = session.run()
            finished = True
            wall = time.perf_counter() - t_start
            return TrainResult(session.step, status, dict(session.last_metrics), paths.root, wall,
                               resumed_from=session.resumed_from)
        finally:
            shutdown_distributed(created, wait=finished)


@contextmanager
def _claim_run_dir(paths: RunPaths, dist: DistInfo) -> Iterator[None]:
    """Rank 0 holds the run lock and clears temporaries a killed writer left; other ranks write nothing."""
    if not dist.is_main:
        yield
        return
    with RunLock(paths.root):
        remove_stale_temps(paths.root)
        remove_stale_temps(paths.checkpoint.parent)
        yield


def load_run(run_dir: Path | str, *, map_location: str | torch.device = "cpu") -> tuple[dict, dict]:
    """``(config_dict, checkpoint_state)`` of a run directory, for evaluation tools.

    ``config_dict`` is config.json (``{"kind", "model", "train"}``); the checkpoint must be of the
    same kind. Raises CheckpointError naming the file that is missing or unreadable.
    """
    paths = RunPaths(Path(run_dir))
    config = read_run_config(paths.config)
    state = load_checkpoint(paths.checkpoint, expected_kind=config["kind"], map_location=map_location)
    return config, state


def read_run_config(path: Path) -> dict[str, Any]:
    """A run's config.json (or model.json): ``{"kind", "model", "train", ...}`` with ``train`` checked
    against TrainConfig (missing or ill-typed fields are a ConfigError naming the file and the fields).

    The ``model`` section is checked by the method's builder (``from_dict`` of its config class).
    """
    config = read_json(path)
    if not isinstance(config, dict) or not {"kind", "model", "train"} <= set(config):
        got = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(path, f"expected keys 'kind', 'model', 'train'; got {got}")
    problems = dict_problems(TrainConfig, config["train"], "train.")
    if problems:
        raise ConfigError(f"{path}: does not match TrainConfig: " + "; ".join(problems))
    return config


def _check_inputs(
    method: Any,
    data: Any,
    kind: Any,
    model_config: Any,
    batch_size: int | None,
    callbacks: Sequence[Callback] | None,
) -> dict[str, Any]:
    """Validate train()'s arguments; return model_config normalised through JSON."""
    if not isinstance(method, nn.Module) or not isinstance(method, Method):
        got = type(method).__name__
        raise TypeError(f"method must be an nn.Module with training_step(batch, step); got {got}")
    if not callable(data):
        raise TypeError(f"data must be callable as data(step) -> batch; got {type(data).__name__}")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    bad = [c for c in callbacks or () if not isinstance(c, Callback)]
    if bad:
        raise TypeError(f"callbacks must be Callback(fn, every, name) objects; got {bad!r}")
    if not isinstance(model_config, dict):
        got = type(model_config).__name__
        raise TypeError(f"model_config must be a dict (see jepa_world.config.to_dict), got {got}")
    return _json_dict(model_config, "model_config")


def _json_dict(value: Any, name: str) -> dict[str, Any]:
    """``value`` normalised through JSON (tuples become lists), so it compares equal after a reload."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict (see jepa_world.config.to_dict), got {type(value).__name__}")
    try:
        return json.loads(json.dumps(dict(value)))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be JSON-serialisable: {e}") from e


class _TrainingStep(nn.Module):
    """Routes ``forward`` to ``method.training_step`` so DDP's gradient hooks and torch.compile apply."""

    def __init__(self, method: nn.Module) -> None:
        super().__init__()
        self.method = method

    def forward(self, batch: Any, step: int) -> Any:
        return self.method.training_step(batch, step)


class _Session:
    """The state of one call to :func:`train`."""

    def __init__(
        self,
        method: nn.Module,
        data: BatchSource,
        config: TrainConfig,
        paths: RunPaths,
        *,
        run_config: dict[str, Any],
        settings: dict[str, Any] | None,
        force: bool,
        batch_size: int | None,
        callbacks: list[Callback],
        dist: DistInfo,
        device: torch.device,
    ) -> None:
        self.method, self.data, self.config, self.paths = method, data, config, paths
        self.run_config, self.batch_size, self.callbacks = run_config, batch_size, callbacks
        self.dist, self.device, self.force = dist, device, force
        self.settings = session_settings(
            train=run_config["train"], settings=settings, batch_size=batch_size, world_size=dist.world_size
        )
        self.forced: list[str] = []
        self.resumed_from: int | None = None
        self._fresh_over_outputs = False
        self.step = 0
        self._logged_step = 0
        self.phase: Literal["boundary", "mid_step"] = "boundary"
        self.last_metrics: dict[str, float] = {}
        self._saved_step: int | None = None
        self.logger: RunLogger | None = None
        self.progress: ProgressDisplay | None = None
        self.use_bf16 = _use_bf16(config, device, dist)
        seed_everything(_rank_seed(config.seed, dist, step=0))
        method.to(device)
        method.train()
        self.optimizer = torch.optim.AdamW(
            _param_groups(method, config.lr),
            lr=config.lr,
            betas=(float(config.betas[0]), float(config.betas[1])),
            weight_decay=config.weight_decay,
        )
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        shape = {"warmup": config.warmup_steps, "total": config.steps, "min_ratio": config.min_lr_ratio}
        self.clock = ClockedSchedule(**shape) if config.schedule_clock == "time" else None
        self.scheduler = LambdaLR(self.optimizer, self.clock or warmup_cosine(**shape))
        state = self._resume_state()
        if state is not None:
            self._restore_training_state(state)
            if self.clock is not None:  # keep the time spent; the shape is this config's (as with warmup_cosine)
                self.clock.warmup, self.clock.total, self.clock.min_ratio = shape.values()
        self.shard = self._stream_shard(state)
        if isinstance(data, RankAware):
            data.set_shard(self.shard)
        elif dist.enabled and dist.is_main:
            log.warning("%s has no set_shard(): every rank reads the same batches (see data/sharding.py)",
                        type(data).__name__)
        self.stepper = _wrap(method, config, dist, device)
        if state is not None:
            self._restore_rng(state)
        if dist.is_main:
            self._open_outputs()

    # ----------------------------------------------------------------- set-up

    def _resume_state(self) -> dict[str, Any] | None:
        path = self.paths.checkpoint
        if not path.exists():
            self._check_fresh_start()
            return None
        if not self.config.resume:
            self._fresh_over_outputs = True
            if self.dist.is_main:
                log.warning("resume=false: starting over; %s will be overwritten", path)
            return None
        state = load_checkpoint(path, expected_kind=self.run_config["kind"])
        missing = {"step", "model", "optimizer", "scheduler", "rng"} - set(state)
        if missing:
            raise CheckpointError(path, f"checkpoint lacks {sorted(missing)}")
        _check_same_model(path, state, self.run_config["model"])
        self._check_same_settings(state)
        if state["step"] > self.config.steps:
            raise CheckpointError(
                path,
                f"checkpoint is at step {state['step']}, past steps={self.config.steps}; "
                "raise train.steps or start over with train.resume=false",
            )
        return state

    def _check_fresh_start(self) -> None:
        """Refuse to start over where results of an earlier run would be overwritten, unless asked to."""
        outputs = self.paths.outputs()
        self._fresh_over_outputs = bool(outputs)
        if not outputs or self.force or not self.config.resume:
            return
        names = ", ".join(p.name for p in outputs)
        raise CheckpointError(
            self.paths.checkpoint,
            f"not found, but {self.paths.root} holds {names} of an earlier run; refusing to start over and "
            "overwrite them (use another run directory, or --force / force=True to start over)",
        )

    def _check_same_settings(self, state: dict[str, Any]) -> None:
        """Refuse a resume whose settings differ from the checkpoint's unless forced (then record them)."""
        saved = state.get("run")
        if not isinstance(saved, dict):
            if self.dist.is_main:
                log.warning("%s records no settings (an older checkpoint); resuming unchecked", self.paths.checkpoint)
            return
        differences = settings_differences(saved, self.settings)
        if differences and not self.force:
            raise CheckpointError(
                self.paths.checkpoint,
                "resuming with other settings than the checkpoint was trained with: " + "; ".join(differences)
                + " (use the same settings, another run directory, or --force / force=True to continue anyway)",
            )
        if differences and self.dist.is_main:
            log.warning("forced resume with changed settings: %s", "; ".join(differences))
        self.forced = differences

    def _restore_training_state(self, state: dict[str, Any]) -> None:
        path = self.paths.checkpoint
        try:
            self.method.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(path, f"state does not fit this {type(self.method).__name__}: {e}") from e
        self.scheduler.load_state_dict(state["scheduler"])
        self._restore_data(state.get("data"))
        self.step = int(state["step"])
        self._saved_step = self._logged_step = self.resumed_from = self.step
        self.last_metrics = dict(state.get("metrics") or {})
        if self.dist.is_main:
            log.info("resuming %s from step %d", self.paths.root, self.step)

    def _restore_data(self, data_state: Any) -> None:
        if isinstance(self.data, StatefulSource):
            if data_state is None:
                raise CheckpointError(
                    self.paths.checkpoint,
                    f"the batch source {type(self.data).__name__} has state but the checkpoint holds none",
                )
            self.data.load_state_dict(data_state)
        elif data_state is not None:
            log.warning("checkpoint holds a batch-source state; %s cannot load it", type(self.data).__name__)

    def _stream_shard(self, state: dict[str, Any] | None) -> StreamShard:
        """This rank's share of the data stream, starting where the checkpoint left it (any world size)."""
        if state is None:
            return StreamShard(self.dist.rank, self.dist.world_size)
        saved_world = int(state.get("world_size") or 1)
        chunks = state.get("data_chunks")
        chunks = self.step * saved_world if chunks is None else int(chunks)  # older checkpoints: one rule
        if saved_world != self.dist.world_size and self.dist.is_main:
            log.warning("resuming a %d-process run with %d processes: the data stream continues at chunk %d; the "
                        "global batch is %d x the per-process batch now (the learning rate is not rescaled)",
                        saved_world, self.dist.world_size, chunks, self.dist.world_size)
        return StreamShard(self.dist.rank, self.dist.world_size, start_step=self.step, start_chunk=chunks)

    def _restore_rng(self, state: dict[str, Any]) -> None:
        """Rank 0 continues its saved streams; other ranks get a seed derived from (seed, rank, step)."""
        if self.dist.is_main:
            restore_rng_state(state["rng"])
        else:
            seed_everything(_rank_seed(self.config.seed, self.dist, step=self.step))

    def _open_outputs(self) -> None:
        write_json_atomic(self.paths.config, self.run_config)
        action = "resume" if self.resumed_from is not None else "restart" if self._fresh_over_outputs else "start"
        record_session(self.paths.record, self.settings, action=action, step=self.step, forced=self.forced)
        self.logger = RunLogger(self.paths.root, tensorboard=self.config.tensorboard, purge_step=self.step)
        global_batch = self.batch_size * self.dist.world_size if self.batch_size else None
        self.progress = ProgressDisplay(
            self.config.steps, initial=self.step, enabled=self.config.progress, batch_size=global_batch
        )
        if self.resumed_from is not None:
            self.progress.note(f"resumed {self.paths.root} from step {self.step}/{self.config.steps}")

    # ------------------------------------------------------------------ run

    def run(self) -> Status:
        self._t0 = self._t_log = time.perf_counter()
        self._spent_before = self.clock.time_fraction if self.clock is not None else 0.0
        self._step_log = self.step
        try:
            with _StopSignals() as signals:
                status = self._run_steps(signals)
                self._finish(status)
            return status
        finally:
            self._close()

    def _run_steps(self, signals: _StopSignals) -> Status:
        try:
            while self.step < self.config.steps:
                batch = self._train_step()
                self._after_step(batch)
                status = self._stop_status(signals) if self.step < self.config.steps else None
                if status is not None:
                    return status
            return "finished"
        except KeyboardInterrupt:
            if self.phase != "boundary":
                log.warning(
                    "interrupted inside step %d; not saving a half-updated state (%s keeps the last one)",
                    self.step,
                    self.paths.checkpoint,
                )
                raise
            log.warning("interrupted after step %d; saving a checkpoint", self.step)
            return "interrupted"

    def _train_step(self) -> Any:
        """One optimizer step; returns the (device) batch it used."""
        step = self.step
        self.phase = "mid_step"
        batch = to_device(self.data(step), self.device)
        with self._autocast():
            out = self.stepper(batch, step)
        loss, metrics = _unpack(out, step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.config.grad_clip or math.inf)
        pair = torch.stack([loss.detach().float(), grad_norm.detach().float().to(loss.device)])
        loss_value, norm_value = pair.tolist()
        lr = float(self.optimizer.param_groups[0]["lr"])
        values = {**metrics, "loss": loss_value, "grad_norm": norm_value, "lr": lr}
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            checkpoint = self.paths.checkpoint if self.paths.checkpoint.exists() else None
            raise NonFiniteLossError(step, values, checkpoint)
        self.optimizer.step()
        self.scheduler.step()
        if isinstance(self.method, HasAfterOptimizerStep):
            self.method.after_optimizer_step(step, self.config.steps)
        self.step = step + 1
        self.phase = "boundary"
        self.last_metrics.update({f"train/{k}": v for k, v in values.items()})
        return batch

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.use_bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _after_step(self, batch: Any) -> None:
        """Rank 0's bookkeeping between steps: logs, diagnostics, callbacks, periodic checkpoint."""
        if not self.dist.is_main:
            return
        step, cfg = self.step, self.config
        if step % cfg.log_every == 0 or step == cfg.steps:
            self._log_train()
        if cfg.diag_every and step % cfg.diag_every == 0 and isinstance(self.method,
                                                                        (HasDiagnostics, HasDiagnosticEmbeddings)):
            self._log_group("diag", self._diagnostics(batch))
        for callback in self.callbacks:
            if step % callback.every == 0:
                self._log_group(callback.name, self._run_callback(callback))
        if cfg.ckpt_every and step % cfg.ckpt_every == 0 and step < cfg.steps:
            self._save()
        if self.progress is not None:
            self.progress.update(step, self.last_metrics)

    def _log_train(self) -> None:
        now = time.perf_counter()
        rate = (self.step - self._step_log) / max(now - self._t_log, 1e-9)
        self.last_metrics["train/steps_per_s"] = rate
        if self.batch_size:
            self.last_metrics["train/samples_per_s"] = rate * self.batch_size * self.dist.world_size
        if self.logger is not None:
            self.logger.log(self.step, {k: v for k, v in self.last_metrics.items() if k.startswith("train/")})
        self._t_log, self._step_log, self._logged_step = now, self.step, self.step

    def _log_group(self, prefix: str, values: Mapping[str, float]) -> None:
        named = {f"{prefix}/{k}": v for k, v in values.items()}
        if not named:
            return
        self.last_metrics.update(named)
        if self.logger is not None:
            self.logger.log(self.step, named)

    def _diagnostics(self, batch: Any) -> dict[str, float]:
        out: dict[str, Any] = {}
        with preserve_rng(), _eval_mode(self.method), torch.no_grad():
            if isinstance(self.method, HasDiagnosticEmbeddings):
                out.update(collapse_report(self.method.diagnostic_embeddings(batch)).as_metrics())
            if isinstance(self.method, HasDiagnostics):
                out.update(self.method.diagnostics(batch))
        return _floats(out, "diagnostics()")

    def _run_callback(self, callback: Callback) -> dict[str, float]:
        with preserve_rng(), _eval_mode(self.method):
            out = callback.fn(self.step, self.method)
        return {} if out is None else _floats(out, f"callback {callback.name!r}")

    def _stop_status(self, signals: _StopSignals) -> Status | None:
        budget = self.config.time_budget_s
        elapsed = time.perf_counter() - self._t0
        local = 2 if signals.requested else 1 if budget and elapsed >= budget else 0
        micro = int(1e6 * elapsed / budget) if self.clock is not None else 0
        flag, micro = max_over_ranks([local, micro], self.dist, self.device)  # every rank: same stop, same clock
        if self.clock is not None:
            self.clock.time_fraction = self._spent_before + micro / 1e6
        return {0: None, 1: "time_budget", 2: "interrupted"}[flag]

    # ------------------------------------------------------------ save, end

    def _save(self) -> None:
        if not self.dist.is_main or self._saved_step == self.step:
            return
        save_checkpoint(self.paths.checkpoint, self._state())
        self._saved_step = self.step

    def _state(self) -> dict[str, Any]:
        return {
            "kind": self.run_config["kind"],
            "format_version": FORMAT_VERSION,
            "step": self.step,
            "model": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": capture_rng_state(),
            "data": self.data.state_dict() if isinstance(self.data, StatefulSource) else None,
            "data_chunks": self.shard.chunks_before(self.step),
            "config": self.run_config,
            "run": self.settings,
            "metrics": dict(self.last_metrics),
            "world_size": self.dist.world_size,
            "time": time.time(),
        }

    def _finish(self, status: Status) -> None:
        if not self.dist.is_main:
            return
        if self.step > self._logged_step:  # the last step is always in metrics.jsonl
            self._log_train()
        self._save()
        metadata = {
            "kind": self.run_config["kind"],
            "step": str(self.step),
            "format_version": str(FORMAT_VERSION),
            "config": json.dumps(self.run_config),
        }
        export_safetensors(self.method, self.paths.weights, metadata)
        write_json_atomic(
            self.paths.weights_meta,
            {
                **self.run_config,
                "step": self.step,
                "status": status,
                "format_version": FORMAT_VERSION,
                "weights": self.paths.weights.name,
            },
        )
        log.info("%s at step %d/%d; run in %s", status, self.step, self.config.steps, self.paths.root)

    def _close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        if self.logger is not None:
            self.logger.close()


class _StopSignals:
    """First SIGINT/SIGTERM: stop after the current step; a second SIGINT: KeyboardInterrupt at once.

    Handlers are installed only in the main thread (Python allows no other) and restored on exit.
    """

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum
        log.warning(
            "%s received: stopping after this step with a checkpoint (Ctrl-C again aborts)",
            signal.Signals(signum).name,
        )

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)


def _wrap(method: nn.Module, config: TrainConfig, dist: DistInfo, device: torch.device) -> nn.Module:
    if dist.enabled and config.sync_batchnorm:
        converted = convert_batch_norms(method)  # same parameter tensors: the optimizer is unaffected
        if dist.is_main and converted:
            log.info("sync_batchnorm: %d BatchNorm layers take statistics over %d processes", converted,
                     dist.world_size)
    stepper: nn.Module = _TrainingStep(method)
    if dist.enabled:
        device_ids = [device.index] if device.type == "cuda" else None
        stepper = DistributedDataParallel(
            stepper, device_ids=device_ids, find_unused_parameters=config.ddp_find_unused
        )
    if config.compile:
        stepper = torch.compile(stepper)
    return stepper


def _param_groups(method: nn.Module, lr: float) -> list[dict[str, Any]]:
    """The method's groups (``lr_scale`` turned into ``lr``), else one group of trainable parameters."""
    if isinstance(method, HasParamGroups):
        groups = [dict(group) for group in method.param_groups()]
        for i, group in enumerate(groups):
            if "params" not in group:
                raise ValueError(f"param_groups()[{i}] has no 'params'; keys {sorted(group)}")
            group["params"] = list(group["params"])
            if "lr_scale" in group:
                group["lr"] = lr * float(group.pop("lr_scale"))
    else:
        groups = [{"params": [p for p in method.parameters() if p.requires_grad]}]
    if not any(group["params"] for group in groups):
        raise ValueError(f"{type(method).__name__} has no parameters that require grad")
    return groups


def _use_bf16(config: TrainConfig, device: torch.device, dist: DistInfo) -> bool:
    if config.precision != "bf16":
        return False
    if device.type == "cuda" and bf16_supported(device):
        return True
    if dist.is_main:
        log.warning(
            "precision='bf16' ignored on %s (~10x slower on CPUs without bf16 units, unsupported on GPUs older "
            "than Ampere); training in fp32",
            torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        )
    return False


def _rank_seed(seed: int, dist: DistInfo, *, step: int) -> int:
    return seed + dist.rank + dist.world_size * step


def _check_same_model(path: Path, state: dict[str, Any], model_config: dict[str, Any]) -> None:
    saved = (state.get("config") or {}).get("model")
    if saved is None or saved == model_config:
        return
    if isinstance(saved, dict):
        differ = sorted(k for k in set(saved) | set(model_config) if saved.get(k) != model_config.get(k))
    else:
        differ = ["<whole config>"]
    raise CheckpointError(
        path,
        f"checkpoint was trained with another model config (differs in {differ}); "
        "use another run_dir or train.resume=false",
    )


def _unpack(out: Any, step: int) -> tuple[Tensor, dict[str, float]]:
    """Check ``training_step``'s return value: (scalar loss with a graph, float metrics)."""
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"training_step must return (loss, metrics); at step {step} got {type(out).__name__}")
    loss, metrics = out
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        got = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"training_step must return a scalar loss tensor; at step {step} got {got}")
    if not loss.requires_grad:
        raise ValueError(f"the loss at step {step} does not require grad (was it computed under no_grad?)")
    return loss, _floats(metrics, "training_step()")


def _floats(values: Any, where: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise TypeError(f"{where} must give a dict of float metrics, got {type(values).__name__}")
    out = {}
    for key, value in values.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where}: metric {key!r} must be a float, got {type(value).__name__}") from e
    return out


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Put ``module`` in eval mode, then restore every submodule's own mode."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
