"""``jepa-world train ... --nproc N``: re-launch the same command line under ``torchrun`` with N processes.

The command is run again as ``python -m torch.distributed.run --standalone --nproc-per-node N -m
jepa_world.cli ARGS`` with ARGS the original arguments minus ``--nproc``, so every process parses the
same options and overrides; ``train/loop.py`` then reads its rank from the environment torchrun sets (DDP:
gloo on CPU, nccl on CUDA; rank 0 writes the run's files). Several machines are launched with torchrun
directly (docs/scaling.md).

Examples:
    >>> torchrun_command(2, ["train", "--preset", "two-rooms", "--nproc", "2", "train.steps=10"])[1:]
    ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m', 'jepa_world.cli', 'train', \
'--preset', 'two-rooms', 'train.steps=10']
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from jepa_world.errors import UserError

NPROC = "--nproc"
"""The option that asks for a re-launch."""


def under_torchrun(environ: dict[str, str] | None = None) -> bool:
    """Whether this process was started by torchrun (it sets ``TORCHELASTIC_RUN_ID`` and ``LOCAL_RANK``)."""
    env = os.environ if environ is None else environ
    return "TORCHELASTIC_RUN_ID" in env or "LOCAL_RANK" in env


def without_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == NPROC:
            skip = True
        elif not arg.startswith(NPROC + "="):
            out.append(arg)
    return out


def torchrun_command(nproc: int, argv: Sequence[str]) -> list[str]:
    """The torchrun command line that runs ``jepa-world ARGV`` (minus --nproc) in ``nproc`` processes."""
    check_launchable(nproc)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
            "-m", "jepa_world.cli", *without_nproc(argv)]


def check_launchable(nproc: int) -> None:
    """UserError when ``nproc`` < 1 or this torch build has no torch.distributed / torchrun."""
    if nproc < 1:
        raise UserError(f"--nproc must be >= 1 processes, got {nproc}")
    import torch.distributed as dist

    if not dist.is_available() or importlib.util.find_spec("torch.distributed.run") is None:
        raise UserError("--nproc needs torchrun (torch.distributed.run), which this torch build lacks; "
                        "train with one process (drop --nproc)")


def relaunch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``jepa-world ARGV`` under torchrun with ``nproc`` processes here; return its exit status.

    While torchrun runs, this process ignores SIGINT (a terminal's Ctrl-C reaches torchrun, which hands it to
    the ranks: they stop after the current step with a checkpoint) and passes SIGTERM on to torchrun; it waits
    for torchrun to finish instead of killing it, so an interruption never loses the ranks' last save.
    """
    child = subprocess.Popen(torchrun_command(nproc, argv))
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
