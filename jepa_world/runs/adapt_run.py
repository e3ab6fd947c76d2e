"""``jepa-world eval RUN --adapt --adapt-out DIR``: evaluate with online adjustment, save the adjusted model elsewhere.

The run's model plans the evaluation's episodes block by block and is adjusted between blocks on the agent's own
windows mixed with the run's offline data (eval/online.py); the offline slice is the run's own data distribution
(the data config run.json recorded, else its ``model.env``), streamed with a seed training never used
(:data:`ONLINE_SEED`). The adjusted model is written to a NEW run directory, a loadable run (``config.json`` and
``run.json`` copied, ``model.safetensors`` + ``model.json`` written by the project's writer, ``adapt.json`` with
the per-block curves); the original run is only read, never written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from torch import nn

from jepa_world.adapt.adjust import Batches
from jepa_world.errors import UserError
from jepa_world.eval.online import OnlineAdjustConfig, OnlineReport, evaluate_online
from jepa_world.eval.planning import PlanningEvalConfig
from jepa_world.presets.world_model import make_stream
from jepa_world.runs.world_model_run import held_out_data, recorded_data
from jepa_world.train.checkpoint import FORMAT_VERSION, export_safetensors, read_json, write_json_atomic
from jepa_world.train.run_paths import RunPaths

ONLINE_SEED = 4_000_037
"""Seed of the offline stream mixed into online adjustments (training uses small seeds, diagnosis 1_000_003)."""
ADAPT_FILE = "adapt.json"
"""What an adjusted run directory records of its adjustment (source run, configs, per-block curves)."""


def check_adapt_out(run_dir: Path | str, out: Path | str) -> Path:
    """``out`` may receive an adjusted run: not the run, not inside it, not around it, not an existing non-empty
    directory or a file (UserError naming what was got)."""
    run, out = Path(run_dir).resolve(), Path(out)
    target = out.resolve()
    if target == run or run in target.parents or target in run.parents:
        raise UserError(f"--adapt-out {out} is the run directory {run_dir}, inside it or around it: the adjusted "
                        f"model is written to a new directory, never over the original")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--adapt-out {out} exists and is not an empty directory")
    return out


def training_window(run_dir: Path | str, model_config: dict[str, Any]) -> int:
    """Frames per training window of the run (its data.length): the length of the replayed windows."""
    return held_out_data(model_config.get("env"), recorded_data(RunPaths(Path(run_dir)))).length


def offline_source(run_dir: Path | str, model_config: dict[str, Any], batch_size: int) -> Batches:
    """The run's offline data distribution as a stream of ``batch_size`` windows (seed :data:`ONLINE_SEED`)."""
    data = held_out_data(model_config.get("env"), recorded_data(RunPaths(Path(run_dir))))
    return make_stream(data, batch_size, seed=ONLINE_SEED)


def adapt_run(run_dir: Path | str, out: Path | str, model: nn.Module, run_config: dict[str, Any],
              config: PlanningEvalConfig, online: OnlineAdjustConfig, *, progress: bool = False) -> OnlineReport:
    """Evaluate ``model`` (loaded from ``run_dir``) with online adjustment and write the adjusted model to ``out``."""
    out = check_adapt_out(run_dir, out)
    window = online.window or training_window(run_dir, run_config["model"])
    offline = offline_source(run_dir, run_config["model"], max(online.offline_rows, 1))
    report = evaluate_online(model, config, online, offline=offline if online.offline_rows else None,
                             window=window, progress=progress)
    save_adapted_run(run_dir, out, model, run_config, {"window": window, **report.as_dict()})
    return report


def save_adapted_run(run_dir: Path | str, out: Path | str, model: nn.Module, run_config: dict[str, Any],
                     record: dict[str, Any]) -> Path:
    """Write ``model`` as a run directory at ``out`` (created) that ``load_method`` reads: the source run's
    config.json and run.json copied, the weights exported, ``adapt.json`` = ``record`` + the source run."""
    src, out = RunPaths(Path(run_dir)), RunPaths(Path(out))
    out.root.mkdir(parents=True, exist_ok=True)
    for path in (src.config, src.record):
        if path.is_file():
            shutil.copyfile(path, out.root / path.name)
    if not out.config.is_file():
        write_json_atomic(out.config, {k: run_config[k] for k in ("kind", "model", "train")})
    step = int(read_json(src.weights_meta).get("step", -1)) if src.weights_meta.is_file() else -1
    metadata = {"kind": run_config["kind"], "step": str(step), "format_version": str(FORMAT_VERSION),
                "config": json.dumps({k: run_config[k] for k in ("kind", "model", "train")})}
    export_safetensors(model, out.weights, metadata)
    write_json_atomic(out.weights_meta, {**{k: run_config[k] for k in ("kind", "model", "train")}, "step": step,
                                         "status": "adapted", "format_version": FORMAT_VERSION,
                                         "weights": out.weights.name})
    write_json_atomic(out.root / ADAPT_FILE, {"source_run": str(Path(run_dir).resolve()), **record})
    return out.root
