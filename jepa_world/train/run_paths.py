"""The files of a run directory, named in one place.

Examples:
    >>> RunPaths(Path("runs/wm")).checkpoint.as_posix()
    'runs/wm/checkpoints/last.pt'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jepa_world.train.logger import METRICS_FILE, TENSORBOARD_DIR
from jepa_world.train.run_lock import LOCK_FILE


@dataclass(frozen=True)
class RunPaths:
    """The files of a run directory."""

    root: Path
    """The run directory."""

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD_DIR

    @property
    def weights(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def weights_meta(self) -> Path:
        return self.root / "model.json"

    @property
    def record(self) -> Path:
        """run.json: the resolved settings and the history of training sessions."""
        return self.root / "run.json"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    def outputs(self) -> list[Path]:
        """The results a fresh start would overwrite: exported weights and the metrics history."""
        return [p for p in (self.weights, self.weights_meta, self.metrics) if p.exists()]
