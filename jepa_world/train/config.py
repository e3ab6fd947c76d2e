"""``TrainConfig``: everything the training loop needs besides the method and its data.

Examples:
    >>> cfg = TrainConfig(steps=200, lr=1e-3, warmup_steps=20)
    >>> cfg.validate()
    >>> TrainConfig(steps=0).validate()
    Traceback (most recent call last):
    ...
    ValueError: invalid TrainConfig: steps must be >= 1, got 0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from jepa_world.config import added_field

_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


@dataclass
class TrainConfig:
    """Optimisation, schedule, device and bookkeeping settings of one training run."""

    steps: int = 1000
    """Total number of optimizer steps; the cosine schedule ends here."""
    lr: float = 3e-4
    """Peak learning rate of AdamW (reached at the end of warm-up)."""
    weight_decay: float = 0.05
    """AdamW decoupled weight decay (a parameter group may override it)."""
    betas: tuple[float, float] = (0.9, 0.95)
    """AdamW (beta1, beta2)."""
    warmup_steps: int = 100
    """Steps of linear warm-up from lr/warmup_steps to lr (0 = none)."""
    min_lr_ratio: float = 0.1
    """The cosine decay ends at lr * min_lr_ratio."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this value (0 = no clipping; the norm is still logged)."""
    seed: int = 0
    """Seed of the training randomness (python, numpy, torch); rank r of a DDP run uses seed + r."""
    device: str = "auto"
    """auto (cuda if available, else cpu) | cpu | cuda | cuda:N | mps."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """fp32 | bf16 (bf16 autocast on CUDA only; other devices train in fp32 with a warning)."""
    compile: bool = False
    """Wrap the training step in torch.compile (needs a C++ toolchain on CPU)."""
    log_every: int = 10
    """Write train metrics (loss, lr, grad norm, throughput) every this many steps."""
    diag_every: int = 100
    """Call the method's diagnostics() every this many steps (0 = never)."""
    ckpt_every: int = 500
    """Save checkpoints/last.pt every this many steps (0 = only at the end and when stopped)."""
    time_budget_s: float = 0.0
    """Stop cleanly, with a checkpoint, after this many seconds of training (0 = no limit)."""
    threads: int = 0
    """torch CPU threads (0 = torch's default)."""
    progress: bool = True
    """Show a progress display (a bar on a terminal, a few plain lines otherwise)."""
    resume: bool = True
    """Continue from run_dir/checkpoints/last.pt when it exists (false = start over)."""
    tensorboard: bool = True
    """Also write TensorBoard event files to run_dir/tb (metrics.jsonl is always written)."""
    ddp_find_unused: bool = False
    """DDP only: let DistributedDataParallel find parameters that get no gradient in a step."""
    schedule_clock: Literal["steps", "time"] = added_field("steps", absent="steps")
    """What the cosine decay follows: 'steps' (it ends at ``steps``) or 'time' (it ends at ``steps`` or when
    ``time_budget_s`` is spent, whichever comes first: its progress is the larger of the two fractions), so a
    time-budgeted run on a slower or busier machine still decays its learning rate instead of stopping mid-schedule.
    Needs time_budget_s > 0. The time spent carries over a resume (saved with the scheduler)."""
    sync_batchnorm: bool = added_field(True, absent=False)
    """DDP only: BatchNorm statistics over every process's batch (the one-process statistics; one all-reduce per
    layer), see objectives/sync_batch_norm.py; false keeps per-process statistics. No effect with one process."""

    def validate(self) -> None:
        """Raise ValueError listing every invalid field with the value it got."""
        problems = _problems(self)
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))


def _problems(cfg: TrainConfig) -> list[str]:
    checks = [
        (cfg.steps >= 1, f"steps must be >= 1, got {cfg.steps}"),
        (cfg.lr > 0, f"lr must be > 0, got {cfg.lr}"),
        (math.isfinite(cfg.lr), f"lr must be finite, got {cfg.lr}"),
        (cfg.weight_decay >= 0, f"weight_decay must be >= 0, got {cfg.weight_decay}"),
        (_valid_betas(cfg.betas), f"betas must be two numbers in [0, 1), got {cfg.betas!r}"),
        (cfg.warmup_steps >= 0, f"warmup_steps must be >= 0, got {cfg.warmup_steps}"),
        (0 <= cfg.min_lr_ratio <= 1, f"min_lr_ratio must be in [0, 1], got {cfg.min_lr_ratio}"),
        (cfg.grad_clip >= 0, f"grad_clip must be >= 0 (0 = off), got {cfg.grad_clip}"),
        (
            isinstance(cfg.device, str) and _DEVICE_PATTERN.fullmatch(cfg.device) is not None,
            f"device must be one of {list(DEVICE_CHOICES)}, got {cfg.device!r}",
        ),
        (cfg.precision in ("fp32", "bf16"), f"precision must be 'fp32' or 'bf16', got {cfg.precision!r}"),
        (cfg.log_every >= 1, f"log_every must be >= 1, got {cfg.log_every}"),
        (cfg.diag_every >= 0, f"diag_every must be >= 0 (0 = never), got {cfg.diag_every}"),
        (cfg.ckpt_every >= 0, f"ckpt_every must be >= 0 (0 = only at the end), got {cfg.ckpt_every}"),
        (cfg.time_budget_s >= 0, f"time_budget_s must be >= 0 (0 = none), got {cfg.time_budget_s}"),
        (cfg.threads >= 0, f"threads must be >= 0 (0 = torch default), got {cfg.threads}"),
        (
            cfg.schedule_clock in ("steps", "time"),
            f"schedule_clock must be 'steps' or 'time', got {cfg.schedule_clock!r}",
        ),
        (
            cfg.schedule_clock != "time" or cfg.time_budget_s > 0,
            f"schedule_clock='time' needs time_budget_s > 0, got {cfg.time_budget_s}",
        ),
    ]
    return [message for ok, message in checks if not ok]


def _valid_betas(betas: object) -> bool:
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        return False
    return all(isinstance(b, int | float) and 0 <= b < 1 for b in betas)
