"""jepa_world.train: the one training loop (device, precision, DDP, checkpoint/resume, logging).

Examples:
    >>> from jepa_world.train import TrainConfig, lr_at
    >>> TrainConfig().device
    'auto'
"""

from jepa_world.train.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    export_safetensors,
    load_checkpoint,
    load_safetensors_into,
    save_checkpoint,
)
from jepa_world.train.config import TrainConfig
from jepa_world.train.device import (
    capture_rng_state,
    preserve_rng,
    resolve_device,
    restore_rng_state,
    seed_everything,
    to_device,
)
from jepa_world.train.logger import RunLogger, read_metrics
from jepa_world.train.loop import NonFiniteLossError, RunPaths, TrainResult, load_run, read_run_config, train
from jepa_world.train.progress import ProgressDisplay
from jepa_world.train.protocol import (
    BatchSource,
    Callback,
    HasAfterOptimizerStep,
    HasDiagnostics,
    HasParamGroups,
    Method,
    RankAware,
    StatefulSource,
)
from jepa_world.train.run_lock import RunLock, RunLockedError
from jepa_world.train.schedule import lr_at, lr_factor, warmup_cosine

__all__ = [
    "FORMAT_VERSION",
    "BatchSource",
    "Callback",
    "CheckpointError",
    "HasAfterOptimizerStep",
    "HasDiagnostics",
    "HasParamGroups",
    "Method",
    "NonFiniteLossError",
    "ProgressDisplay",
    "RankAware",
    "RunLock",
    "RunLockedError",
    "RunLogger",
    "RunPaths",
    "StatefulSource",
    "TrainConfig",
    "TrainResult",
    "capture_rng_state",
    "export_safetensors",
    "load_checkpoint",
    "load_run",
    "load_safetensors_into",
    "lr_at",
    "lr_factor",
    "preserve_rng",
    "read_metrics",
    "read_run_config",
    "resolve_device",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "to_device",
    "train",
    "warmup_cosine",
]
