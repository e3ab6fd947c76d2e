"""Where training runs: device choice, moving batches, seeding, RNG state, torchrun processes.

One code path serves one CPU, one GPU and N GPUs under ``torchrun``: :func:`dist_info_from_env`
reads the torchrun environment (a single process when ``WORLD_SIZE`` is unset or 1),
:func:`resolve_device` picks the device of this process, and :func:`init_distributed` creates the
process group only when there is more than one process.

Examples:
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> import torch
    >>> to_device({"x": torch.zeros(2), "n": 3}, torch.device("cpu"))["n"]
    3
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


def resolve_device(name: str, *, local_rank: int = 0) -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a device, checking it exists.

    ``"auto"`` and ``"cuda"`` mean ``cuda:{local_rank}`` (one GPU per torchrun process).
    """
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device='mps' requested but torch.backends.mps.is_available() is False")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        return _cuda_device(name, local_rank)
    raise ValueError(f"unknown device {name!r}; expected auto, cpu, cuda, cuda:N or mps")


def _cuda_device(name: str, local_rank: int) -> torch.device:
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={name!r} requested but CUDA is not available (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda}); use device='cpu' or 'auto'"
        )
    index_text = name.partition(":")[2]
    if index_text and not index_text.isdigit():
        raise ValueError(f"bad CUDA device {name!r}; expected cuda or cuda:N")
    index = int(index_text) if index_text else local_rank
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"device {name!r} (index {index}) requested but only {count} CUDA device(s) exist")
    return torch.device(f"cuda:{index}")


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CUDA GPUs with bf16 units (Ampere and later), never the CPU."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    return torch.cuda.is_bf16_supported(including_emulation=False)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a nested batch to ``device``.

    Handles tensors, tuples (named tuples keep their type), lists, mappings (returned as ``dict``)
    and dataclass instances (rebuilt with ``dataclasses.replace``); other leaves are returned as is.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        fields = [f.name for f in dataclasses.fields(batch) if f.init]
        changes = {name: to_device(getattr(batch, name), device) for name in fields}
        return dataclasses.replace(batch, **changes)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple):
        items = [to_device(item, device) for item in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    if isinstance(batch, list):
        return [to_device(item, device) for item in batch]
    return batch


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """The global RNG states as plain lists, ints, floats and strings (JSON- and pickle-friendly).

    CUDA states are included only when CUDA is already initialised (capturing never starts CUDA).
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    missing = {"python", "numpy", "torch"} - set(state)
    if missing:
        raise ValueError(f"RNG state lacks {sorted(missing)}; got keys {sorted(state)}")
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_byte_tensor(state["torch"]))
    _restore_cuda_rng(state.get("cuda"))


def _restore_cuda_rng(states: list[list[int]] | None) -> None:
    if states is None or not torch.cuda.is_available():
        return
    if len(states) != torch.cuda.device_count():
        log.warning(
            "checkpoint holds RNG states of %d CUDA device(s) but %d are visible; CUDA RNG not restored",
            len(states),
            torch.cuda.device_count(),
        )
        return
    torch.cuda.set_rng_state_all([_byte_tensor(s) for s in states])


def _byte_tensor(values: list[int]) -> torch.Tensor:
    return torch.frombuffer(bytearray(values), dtype=torch.uint8)


@contextmanager
def preserve_rng() -> Iterator[None]:
    """Run a block without changing the global RNG streams (restored even if the block raises)."""
    saved = capture_rng_state()
    try:
        yield
    finally:
        restore_rng_state(saved)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    """Global rank (0 writes files and logs)."""
    world_size: int = 1
    """Number of processes."""
    local_rank: int = 0
    """Rank on this machine (selects the GPU)."""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info_from_env(environ: Mapping[str, str] | None = None) -> DistInfo:
    """Read ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` as set by ``torchrun``."""
    env = os.environ if environ is None else environ
    try:
        info = DistInfo(
            rank=int(env.get("RANK", "0")),
            world_size=int(env.get("WORLD_SIZE", "1")),
            local_rank=int(env.get("LOCAL_RANK", "0")),
        )
    except ValueError as e:
        raise ValueError(f"bad torchrun environment: {e}") from e
    if info.world_size < 1 or not 0 <= info.rank < info.world_size:
        raise ValueError(f"bad torchrun environment: RANK={info.rank}, WORLD_SIZE={info.world_size}")
    return info


def init_distributed(info: DistInfo, device: torch.device) -> bool:
    """Create the process group for a multi-process run (nccl on CUDA, gloo otherwise).

    Returns True when this call created it (so the caller should destroy it), False for a single
    process or a group that already exists.
    """
    if not info.enabled or dist.is_initialized():
        return False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return True


def shutdown_distributed(created: bool, *, wait: bool = False) -> None:
    """Destroy the process group if :func:`init_distributed` created it; with ``wait`` (a clean finish) first
    wait for every rank, so that no rank tears down its gloo connections while rank 0 still writes files (a rank
    leaving early could abort with "terminate called without an active exception")."""
    if created and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def any_rank(flag: int, info: DistInfo, device: torch.device) -> int:
    """The maximum of an integer flag over all ranks (the flag itself for a single process)."""
    return max_over_ranks([flag], info, device)[0]


def max_over_ranks(values: list[int], info: DistInfo, device: torch.device) -> list[int]:
    """The element-wise maximum of integers over all ranks, in one all-reduce (the values themselves alone)."""
    if not info.enabled:
        return list(values)
    where = device if dist.get_backend() == "nccl" else torch.device("cpu")
    tensor = torch.tensor(values, dtype=torch.int64, device=where)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [int(v) for v in tensor.tolist()]
