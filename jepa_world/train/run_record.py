"""What a run records about how it is trained, and the check that a resumed session continues it.

A session's *settings* are what decides the training trajectory besides the model: the resolved
config of the run (a preset's whole config: data distribution, data seed, batch size, ...; handed to
``train(settings=...)``), the trainer's batch size and number of processes, and the TrainConfig
fields that shape optimisation. Budgets and bookkeeping (:data:`RESUMABLE_TRAIN_FIELDS`) may change
on resume: ``train.steps=...`` extends a run, ``train.log_every`` only changes what is written. The
number of processes may change too (it is recorded, not compared): the data stream's position is a
count of samples (``data/sharding.py``), so the stream continues without repeats; the global batch is
the per-process batch times the number of processes, so it changes with it.

Every checkpoint stores its session's settings under ``run``; resuming compares them with the new
session's and lists the differences (:func:`settings_differences`), which the loop refuses unless
forced. ``run.json`` keeps the latest settings and one entry per session (started, resumed, restarted,
and the differences a forced resume accepted).

Examples:
    >>> saved = session_settings(train={"lr": 0.1, "steps": 10}, settings={"data_seed": 0, "train": {}},
    ...                          batch_size=8, world_size=1)
    >>> now = session_settings(train={"lr": 0.1, "steps": 20}, settings={"data_seed": 1, "train": {}},
    ...                        batch_size=8, world_size=1)
    >>> settings_differences(saved, now)
    ['data_seed: 0 -> 1']
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jepa_world.train.checkpoint import CheckpointError, read_json, write_json_atomic

log = logging.getLogger(__name__)

RESUMABLE_TRAIN_FIELDS = frozenset({
    "steps", "time_budget_s", "log_every", "diag_every", "ckpt_every", "threads", "progress", "resume",
    "tensorboard", "device", "compile", "ddp_find_unused",
})
"""TrainConfig fields a resumed session may change: budgets, bookkeeping and placement."""

_ABSENT = "<absent>"


def session_settings(
    *, train: Mapping[str, Any], settings: Mapping[str, Any] | None, batch_size: int | None, world_size: int
) -> dict[str, Any]:
    """The ``run`` entry of a checkpoint: ``{"train", "settings", "batch_size", "world_size"}`` (JSON-able)."""
    return {"train": dict(train), "settings": None if settings is None else dict(settings),
            "batch_size": batch_size, "world_size": world_size}


def settings_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``"key: saved -> current"`` for every compared setting that differs, dotted keys in sorted order.

    The run-level settings are compared when both sessions recorded them; otherwise the trainer's
    per-process batch size stands in for them.
    """
    old, new = _comparable(saved, current), _comparable(current, saved)
    return [f"{key}: {old.get(key, _ABSENT)!r} -> {new.get(key, _ABSENT)!r}"
            for key in sorted(set(old) | set(new)) if old.get(key, _ABSENT) != new.get(key, _ABSENT)]


def _comparable(record: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    out = {f"train.{k}": v for k, v in (record.get("train") or {}).items() if k not in RESUMABLE_TRAIN_FIELDS}
    settings, other_settings = record.get("settings"), other.get("settings")
    if settings is not None and other_settings is not None:
        out.update(_flatten({k: v for k, v in settings.items() if k != "train"}))
    else:
        out["batch_size per process"] = record.get("batch_size")
    return out


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def record_session(
    path: Path, settings: Mapping[str, Any], *, action: str, step: int, forced: list[str]
) -> None:
    """Append a session to ``run.json`` (``{"settings", "sessions": [...]}``) and make its settings the latest.

    ``action`` is start | resume | restart; ``forced`` the differences a forced resume accepted.
    """
    sessions = _previous_sessions(path)
    entry = {"action": action, "step": step, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pid": os.getpid(),
             "processes": settings.get("world_size")}
    if forced:
        entry["forced"] = list(forced)
    write_json_atomic(path, {"settings": dict(settings), "sessions": [*sessions, entry]})


def _previous_sessions(path: Path) -> list[Any]:
    if not path.exists():
        return []
    try:
        record = read_json(path)
    except CheckpointError as e:
        log.warning("%s; starting a new session history", e)
        return []
    sessions = record.get("sessions") if isinstance(record, dict) else None
    return list(sessions) if isinstance(sessions, list) else []
