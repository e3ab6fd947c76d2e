"""BatchNorm whose batch statistics are taken over every DDP process's rows, on any device.

Under DDP a plain BatchNorm normalises each process's shard by the shard's own mean and variance, so a
2-process run of batch B/2 each is not the 1-process run of batch B. ``torch.nn.SyncBatchNorm`` fixes
that on GPUs only (it refuses CPU tensors, so not with gloo). :class:`GatheredBatchNorm` all-reduces the
per-channel sums (two passes: the mean, then the centred squares, for fp32 accuracy) with
:func:`~jepa_world.objectives.distributed.all_reduce_sum`, whose backward makes DDP's averaged gradient
the one-process gradient. Running statistics are updated from the global statistics, so they are the
same on every rank and equal the one-process ones.

Without a process group of two or more processes, or in eval mode, it is exactly ``nn.BatchNorm*d``
(the same code runs). :func:`convert_batch_norms` swaps a module's BatchNorm layers in place, keeping
their parameter and buffer tensors (the optimizer, checkpoints and ``state_dict`` keys are unchanged).

Examples:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    >>> convert_batch_norms(net), type(net[1]).__name__
    (1, 'GatheredBatchNorm')
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from jepa_world.objectives.distributed import all_reduce_sum, is_distributed


class GatheredBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) inputs with statistics over all processes' rows (module docstring)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"GatheredBatchNorm: expected (N, C, ...) input, got {tuple(input.shape)}")

    def forward(self, input: Tensor) -> Tensor:
        """input: (N, C, ...) -> the same shape (statistics in fp32 at least)."""
        batch_stats = self.training or self.running_mean is None  # as nn.BatchNorm
        if not (batch_stats and is_distributed()):
            return super().forward(input)
        self._check_input_dim(input)
        x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input
        mean, var, count = _global_moments(x)  # (C,), (C,) biased, N
        if self.training and self.track_running_stats and self.running_mean is not None:
            self._update_running(mean.detach(), var.detach(), count)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)

    @torch.no_grad()
    def _update_running(self, mean: Tensor, var: Tensor, count: int) -> None:
        """As nn.BatchNorm: exponential (or cumulative, momentum=None) averages, unbiased variance."""
        assert self.num_batches_tracked is not None and self.running_var is not None
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * count / max(count - 1, 1)
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased, alpha=m)


def _global_moments(x: Tensor) -> tuple[Tensor, Tensor, int]:
    """x (n_r, C, ...) on each rank -> per-channel mean (C,), biased variance (C,) and count N over all rows."""
    dims = [0, *range(2, x.dim())]
    channels = x.shape[1]
    local = torch.cat([x.sum(dim=dims), x.new_tensor([x.numel() // channels])])  # (C + 1,)
    total = all_reduce_sum(local)
    count = int(total[-1].detach())
    mean = total[:channels] / count  # (C,)
    shape = (1, -1) + (1,) * (x.dim() - 2)
    var = all_reduce_sum((x - mean.view(shape)).pow(2).sum(dim=dims)) / count  # (C,)
    return mean, var, count


def convert_batch_norms(module: nn.Module) -> int:
    """Replace every BatchNorm layer under ``module`` by a :class:`GatheredBatchNorm` sharing its tensors.

    Returns:
        the number of layers replaced (already converted ones are left alone and not counted).
    """
    count = 0
    for name, child in module.named_children():
        if isinstance(child, _BatchNorm) and not isinstance(child, GatheredBatchNorm):
            setattr(module, name, _gathered(child))
            count += 1
        else:
            count += convert_batch_norms(child)
    return count


def _gathered(bn: _BatchNorm) -> GatheredBatchNorm:
    """A GatheredBatchNorm holding ``bn``'s very parameters and buffers, in ``bn``'s mode."""
    new = GatheredBatchNorm(bn.num_features, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                            track_running_stats=bn.track_running_stats)
    for name, param in bn.named_parameters(recurse=False):
        setattr(new, name, param)
    for name, buffer in bn.named_buffers(recurse=False):
        new._buffers[name] = buffer
    new.train(bn.training)
    return new
