"""Load a trained method back from its run directory (config.json + checkpoints/last.pt).

Examples:
    >>> load_method("no/such/run")                       # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    CheckpointError: no/such/run/config.json: ...
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from jepa_world.presets import build_method
from jepa_world.train.checkpoint import CheckpointError
from jepa_world.train.loop import RunPaths, load_run


def load_method(run_dir: Path | str, *, expected_kind: str | None = None,
                map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(method in eval mode with the checkpoint's weights, config.json dict) of a run directory.

    Raises CheckpointError naming the file when the run is missing, corrupt, of another kind than
    ``expected_kind``, or when its weights do not fit the model its config describes.
    """
    config, state = load_run(run_dir, map_location=map_location)
    path = RunPaths(Path(run_dir)).checkpoint
    if expected_kind is not None and config["kind"] != expected_kind:
        raise CheckpointError(path, f"run holds a {config['kind']!r} model, expected {expected_kind!r}")
    method = build_method(config["kind"], config["model"])
    try:
        method.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(path, f"weights do not match the model in config.json ({e})") from e
    return method.eval(), config
