"""Which weights of a run directory a rebuilt method gets: one rule for every reader of runs.

``checkpoints/last.pt`` when it exists (it is never older than the export: training saves it first), else
the exported ``model.safetensors``, so a run shared as its exported model loads too. Both are checksummed
and read without unpickling code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from jepa_world.train.checkpoint import CheckpointError, load_checkpoint, load_safetensors_into
from jepa_world.train.run_paths import RunPaths


def load_run_weights(method: nn.Module, run_dir: Path | str, *, kind: str,
                     map_location: str | torch.device = "cpu") -> None:
    """Load the run's weights into ``method`` (built from its config). CheckpointError names the file that is
    missing, corrupt, of another kind, or whose weights do not fit the model."""
    paths = RunPaths(Path(run_dir))
    if paths.checkpoint.exists():
        state = load_checkpoint(paths.checkpoint, expected_kind=kind, map_location=map_location)
        try:
            method.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as e:
            raise CheckpointError(paths.checkpoint, f"weights do not match the model in config.json ({e})") from e
    elif paths.weights.exists():
        load_safetensors_into(method, paths.weights)
    else:
        raise CheckpointError(paths.root, f"no weights: neither {paths.checkpoint.relative_to(paths.root)} "
                                          f"nor {paths.weights.name}")
