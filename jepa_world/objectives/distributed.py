"""Batch-wide statistics under DistributedDataParallel: gather the batch, average a statistic, share a draw.

Why. DDP gives each of W processes its own rows of the batch and averages the parameter gradients. A loss
that is a mean of per-sample terms is then the one-process loss (equal shards). A loss whose value depends
on the whole batch (VICReg's variance and covariance, SIGReg's characteristic functions, InfoNCE's
negatives, DINO's centre, BatchNorm's statistics) is not: each process would optimise the statistic of
its own shard. The helpers here make such terms see every process's rows.

The gradient rule of :func:`gather_batch`: its backward sums the incoming gradient over the processes
(an all-reduce) and keeps this process's rows. When rank r computes a loss ``L_r`` of the gathered
batch, rank s receives ``sum_r dL_r/dx_s``; DDP then divides by W, so the parameters get the gradient of
``mean_r L_r``. When every rank computes the same loss ``L`` of the gathered batch, that is ``dL/dtheta``:
the one-process gradient of the whole batch, exactly.

Every helper is the identity (no communication) without an initialised process group of two or more
processes, so one code path serves one process and many.

Examples:
    >>> import torch
    >>> is_distributed()
    False
    >>> x = torch.randn(4, 3)
    >>> gather_batch(x) is x, torch.equal(global_batch_mean(x), x.mean(dim=0))
    (True, True)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True when a process group of two or more processes is initialised (e.g. under ``torchrun``)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def _sizes(n: int, device: torch.device) -> list[int]:
    """Every rank's row count, in rank order."""
    mine = torch.tensor([n], dtype=torch.int64, device=device)
    out = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(out, mine)
    return [int(s) for s in out]


class _GatherBatch(torch.autograd.Function):
    """All-gather along dim 0 (shards of any sizes); backward: all-reduce the gradient, keep this rank's rows."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, sizes: list[int]) -> Tensor:  # x: (n_r, ...) -> (sum_r n_r, ...)
        longest = max(sizes)
        padded = x.new_zeros((longest, *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        rank = dist.get_rank()
        ctx.rows = (sum(sizes[:rank]), sizes[rank])
        return torch.cat([part[:n] for part, n in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # grad: (N, ...) -> (n_r, ...)
        total = grad.contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        start, n = ctx.rows
        return total[start : start + n], None


def gather_batch(x: Tensor, *, dim: int = 0) -> Tensor:
    """Every process's rows of ``x`` along ``dim``, in rank order; differentiable (rule in the module doc).

    Args:
        x: (..., n_r, ...) this process's shard; shards may differ in size along ``dim`` only.
        dim: the sample axis.

    Returns:
        (..., N, ...) with N = sum of the shards' sizes; ``x`` itself without a process group.
    """
    return gather_batch_with_offset(x, dim=dim)[0]


def gather_batch_with_offset(x: Tensor, *, dim: int = 0) -> tuple[Tensor, int]:
    """:func:`gather_batch` and the index of this process's first row in the gathered batch (0 alone)."""
    if not is_distributed():
        return x, 0
    sizes = _sizes(x.shape[dim], x.device)
    gathered = _GatherBatch.apply(x.movedim(dim, 0), sizes).movedim(0, dim)
    return gathered, sum(sizes[: dist.get_rank()])


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; backward: the sum of the gradients (each rank's loss depends on the total)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        out = x.contiguous().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        out = grad.contiguous().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out


def all_reduce_sum(x: Tensor) -> Tensor:
    """``sum_r x_r`` over processes, differentiable (same gradient rule as :func:`gather_batch`); ``x`` alone."""
    return _AllReduceSum.apply(x) if is_distributed() else x


@torch.no_grad()
def all_reduce_mean(x: Tensor) -> Tensor:
    """``mean_r x_r`` over processes, no gradient (a statistic every rank must agree on); ``x`` alone."""
    if not is_distributed():
        return x
    out = x.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / dist.get_world_size()


@torch.no_grad()
def global_batch_mean(x: Tensor) -> Tensor:
    """Mean over dim 0 of every process's rows (exact for shards of different sizes), no gradient.

    Args:
        x: (n_r, ...) this process's rows.

    Returns:
        (...) the mean over all N = sum_r n_r rows.
    """
    if not is_distributed():
        return x.mean(dim=0)
    flat = x.detach().reshape(x.shape[0], -1)  # (n_r, F)
    sums = torch.cat([flat.sum(dim=0), flat.new_tensor([flat.shape[0]])])  # (F + 1,): sums and count
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    return (sums[:-1] / sums[-1]).reshape(x.shape[1:])


@torch.no_grad()
def same_on_all_ranks(x: Tensor) -> Tensor:
    """Rank 0's ``x`` on every rank (e.g. random directions or a permutation all processes must share).

    Every rank must pass a tensor of the same shape and dtype; returns ``x`` itself alone."""
    if not is_distributed():
        return x
    out = x.contiguous().clone()
    dist.broadcast(out, src=0)
    return out
