"""Load a trained method back from its run directory alone.

The config comes from ``config.json`` (else ``model.json``, which repeats it), checked against the
dataclasses (a missing or ill-typed field is a ConfigError naming the file). The weights come from
``checkpoints/last.pt`` when it exists (it is never older than the export: training saves it first),
else from the exported ``model.safetensors``, so a run shared as its exported model evaluates too.
Both are checksummed and read without unpickling code.

Examples:
    >>> load_method("no/such/run")                       # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    CheckpointError: no/such/run/config.json: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from jepa_world.config import ConfigError
from jepa_world.presets import build_method
from jepa_world.train.checkpoint import CheckpointError, read_json
from jepa_world.train.loop import RunPaths, read_run_config
from jepa_world.train.run_weights import load_run_weights


def load_method(run_dir: Path | str, *, expected_kind: str | None = None,
                map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(method in eval mode with the run's weights, config dict) of a run directory.

    Raises CheckpointError naming the file when the run is missing, corrupt, of another kind than
    ``expected_kind``, or when its weights do not fit the model its config describes; ConfigError
    naming the config file when it lacks fields or holds ill-typed ones.
    """
    paths = RunPaths(Path(run_dir))
    config_path = _config_path(paths)
    config = read_run_config(config_path)
    if expected_kind is not None and config["kind"] != expected_kind:
        raise CheckpointError(config_path, f"run holds a {config['kind']!r} model, expected {expected_kind!r}")
    method = _build(config_path, config)
    load_run_weights(method, paths.root, kind=config["kind"], map_location=map_location)
    return method.eval(), config


def read_run_kind(run_dir: Path | str) -> str:
    """The method ``kind`` a run directory holds (config.json, else model.json), e.g. ``"world_model"``.

    Raises CheckpointError naming the file when neither is a readable JSON object with a string ``kind``.
    """
    path = _config_path(RunPaths(Path(run_dir)))
    config = read_json(path)
    if not isinstance(config, dict) or not isinstance(config.get("kind"), str):
        raise CheckpointError(path, "expected a JSON object with a string 'kind'")
    return config["kind"]


def _config_path(paths: RunPaths) -> Path:
    """config.json, else model.json (which repeats it) when only the exported model is there."""
    return paths.config if paths.config.exists() or not paths.weights_meta.exists() else paths.weights_meta


def _build(config_path: Path, config: dict[str, Any]) -> nn.Module:
    try:
        return build_method(config["kind"], config["model"])
    except ConfigError as e:
        raise ConfigError(f"{config_path}: 'model' does not match the model's config: {e}") from e
