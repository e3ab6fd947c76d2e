"""Offline collapse diagnosis of a world-model run directory: ``jepa-world diagnose RUN`` for ``kind="world_model"``.

The model is rebuilt from the run alone (:func:`jepa_world.runs.load.load_method`) and encodes held-out frames of
its own data distribution: the data config is the one the run recorded (``run.json``'s settings, else the
environment in ``config.json``'s ``model.env``), streamed with a seed training never uses (:data:`HELD_OUT_SEED`),
one frame per trajectory (the first) so the frames are independent. The rows whose collapse is judged are
what the training loop logs as ``diag/*``: a model's ``diagnostic_embeddings`` when it has them (the generic
spatial model: the C'-vector of every latent cell, (N * h * w, C')), else its ``encode`` output (N, D). The
verdict is :func:`jepa_world.objectives.collapse.collapse_report`'s.

Examples:
    >>> held_out_data({"name": "maze", "rooms": 4}, None).rooms
    4
    >>> held_out_data({"name": "two_rooms", "fixed_wall": True}, None).fixed_wall
    True
    >>> held_out_data({"name": "moon"}, None)                 # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: the run's model.env names an unknown environment 'moon'; expected one of [...]
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.config import from_dict
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.pointmaze_shards import PointMazeWindowsConfig
from jepa_world.data.pusht_stream import PushTStreamConfig
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.objectives.collapse import collapse_report
from jepa_world.presets.world_model import KIND, DataConfig, make_stream
from jepa_world.runs.load import load_method
from jepa_world.runs.ssl_run import diag_history, plot_spectra
from jepa_world.train.checkpoint import load_checkpoint, read_json
from jepa_world.train.protocol import HasDiagnosticEmbeddings
from jepa_world.train.run_paths import RunPaths

HELD_OUT_SEED = 1_000_003
"""Seed of the held-out trajectory stream (training streams use data_seed, small integers)."""
FRAMES = 256
"""Held-out frames encoded by default (one per trajectory)."""
CHUNK = 64
"""Frames encoded per forward pass."""


DATA_CONFIGS: dict[str, type] = {"two_rooms": TwoRoomsDataConfig, "maze": MazeDataConfig, "pusht": PushTStreamConfig,
                                  "pointmaze": PointMazeWindowsConfig}
"""The environment a run records (``model.env.name``) -> the data config class of its training data."""
ON_DISK = ("pusht", "pointmaze")
"""Environments whose training data is a dataset on disk (its path must be recorded in run.json)."""


def held_out_data(env: dict[str, Any] | None, recorded: dict[str, Any] | None) -> DataConfig:
    """The run's data distribution: ``recorded`` (run.json's ``data`` settings) when given, else one built from
    ``env`` (config.json's ``model.env``: ``{"name": "two_rooms", "fixed_wall", "physics", "walls"}`` or
    ``{"name": "maze", "rooms"}``); a run that records neither is taken to be a default Two Rooms run. PushT and
    PointMaze runs read a dataset on disk: they need the recorded settings (the dataset's path); their "held-out"
    frames are that dataset's, drawn with a seed training never uses."""
    name = (env or {}).get("name", "two_rooms")
    if name not in DATA_CONFIGS:
        raise ValueError(f"the run's model.env names an unknown environment {name!r}; expected one of "
                         f"{sorted(DATA_CONFIGS)}")
    cls = DATA_CONFIGS[name]
    if recorded is not None:
        return from_dict(cls, recorded)
    if name in ON_DISK:
        raise ValueError(f"this {name} run does not record its dataset (run.json's data settings): it was not "
                         f"trained by `jepa-world train`, or its run.json is missing")
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (env or {}).items() if k in known})


def recorded_data(paths: RunPaths) -> dict[str, Any] | None:
    """The ``data`` settings run.json recorded (None for a run shared without it or trained through the API)."""
    if not paths.record.is_file():
        return None
    settings = (read_json(paths.record).get("settings") or {}).get("settings") or {}
    data = settings.get("data")
    return data if isinstance(data, dict) else None


def _step(paths: RunPaths) -> int:
    """The training step of the weights load_method reads: the checkpoint's, else the exported model's."""
    if paths.checkpoint.is_file():
        return int(load_checkpoint(paths.checkpoint, expected_kind=KIND)["step"])
    return int(read_json(paths.weights_meta).get("step", -1)) if paths.weights_meta.is_file() else -1


def held_out_frames(data: DataConfig, frames: int, *, seed: int = HELD_OUT_SEED) -> Tensor:
    """``frames`` observations (N, C, H, W), the first frame of as many independent held-out trajectories."""
    if frames < 2:
        raise ValueError(f"frames must be >= 2 (collapse statistics need samples), got {frames}")
    return make_stream(replace(data, length=2), frames, seed=seed)(0)["obs"][:, 0]  # (N, C, H, W)


@torch.no_grad()
def world_model_embeddings(model: nn.Module, obs: Tensor) -> tuple[Tensor, str]:
    """(rows whose collapse is judged, what they are): ``diagnostic_embeddings`` of a model that has them, else
    ``encode``; obs (N, C, H, W), encoded CHUNK frames at a time."""
    rows = []
    for part in obs.split(CHUNK):  # (n, C, H, W)
        if isinstance(model, HasDiagnosticEmbeddings):
            rows.append(model.diagnostic_embeddings({"obs": part[:, None]}))  # (n * cells, C')
        else:
            rows.append(model.encode(part))  # (n, D)
    source = "diagnostic_embeddings" if isinstance(model, HasDiagnosticEmbeddings) else "encode"
    return torch.cat(rows), source


def diagnose_world_model_run(run_dir: Path | str, png: Path | str | None = None, *, frames: int = FRAMES,
                             device: str = "cpu") -> dict[str, Any]:
    """Collapse diagnosis of a world-model run: verdict, reasons, held-out metrics, training history, spectrum PNG.

    Args:
        run_dir: a run directory of a world-model preset (``two-rooms``, ``two-rooms-generic``, ``*-frozen``, ...).
        png: where to write the singular-value spectrum (default ``run_dir/spectrum.png``).
        frames: held-out frames to encode (one per trajectory, seed :data:`HELD_OUT_SEED`).
        device: where to run the encoder.

    Returns:
        ``{"run_dir", "kind", "architecture", "env", "step", "verdict", "reasons", "embedding": {report fields},
        "rows", "source", "frames", "seed", "history": [diag/* rows of metrics.jsonl], "png"}``; ``rows`` is the
        (N, D) shape of the judged matrix and ``source`` the model method that produced it.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: run directory not found (expected config.json and "
                                f"model.safetensors or checkpoints/last.pt)")
    model, config = load_method(run_dir, expected_kind=KIND)
    paths = RunPaths(run_dir)
    env = config["model"].get("env")
    data = held_out_data(env, recorded_data(paths))
    model.to(device)
    z, source = world_model_embeddings(model, held_out_frames(data, frames).to(device))
    report = collapse_report(z)
    state = "collapsed" if report.collapsed else "healthy"
    architecture = config["model"].get("architecture", "mlp")
    step = _step(paths)
    png_path = Path(png) if png is not None else run_dir / "spectrum.png"
    plot_spectra({f"{source} ({architecture})": z.cpu()}, png_path,
                 title=f"{architecture} world model on {type(data).__name__}, step {step}: {state}")
    embedding = asdict(report)
    embedding.pop("reasons")
    return {"run_dir": str(run_dir), "kind": config["kind"], "architecture": architecture,
            "env": (env or {}).get("name", "two_rooms"), "step": step, "verdict": state,
            "reasons": list(report.reasons), "embedding": embedding, "rows": list(z.shape), "source": source,
            "frames": frames, "seed": HELD_OUT_SEED, "history": diag_history(run_dir), "png": str(png_path)}


def format_world_model_diagnosis(result: dict[str, Any], *, history_rows: int = 12) -> str:
    """Human-readable text of a :func:`diagnose_world_model_run` result (verdict first)."""
    e = result["embedding"]
    lines = [f"verdict: {result['verdict'].upper()}  ({result['architecture']} world model on {result['env']}, "
             f"step {result['step']}, {result['run_dir']})"]
    lines += [f"  - {r}" for r in result["reasons"]]
    n, d = result["rows"]
    lines.append(f"{result['source']} of {result['frames']} held-out frames (seed {result['seed']}): {n} rows x D={d}")
    lines.append(f"     embedding: effective rank {e['effective_rank']:.2f} ({100 * e['rank_fraction']:.1f}% of D), "
                 f"normalised std x sqrt(D) {e['normalized_std_ratio']:.3f}, per-dim variance "
                 f"min {e['min_dim_variance']:.3g} / median {e['median_dim_variance']:.3g}, dead dims "
                 f"{100 * e['dead_dim_fraction']:.0f}%")
    history = result["history"]
    if history:
        lines.append("history (training batches, diag/*; every column the loop logged, keypoint models per part):")
        columns = sorted({k.rsplit("/", 1)[0] for row in history for k in row if k.endswith("/effective_rank")})
        lines.append(f"{'step':>8} " + " ".join(f"{(c or 'collapse')[-22:]:>34}" for c in columns))
        shown = history if len(history) <= history_rows else \
            [history[round(i * (len(history) - 1) / (history_rows - 1))] for i in range(history_rows)]
        for row in shown:
            cells = []
            for c in columns:
                flag = "collapsed" if row.get(f"{c}/collapsed", 0) else "ok"
                cells.append(f"erank {row.get(f'{c}/effective_rank', float('nan')):6.2f} "
                             f"std {row.get(f'{c}/normalized_std_ratio', float('nan')):6.3f} {flag:>9}")
            lines.append(f"{row['step']:>8} " + " ".join(f"{c:>34}" for c in cells))
    lines.append(f"spectrum: {result['png']}")
    return "\n".join(lines)
