"""InfoNCE / NT-Xent: the contrastive loss of SimCLR (Chen et al. 2020; van den Oord et al. 2018, CPC).

For N pairs of views ``(a_i, b_i)``, every one of the 2N embeddings is an anchor whose positive is
its pair and whose negatives are the other 2N - 2 embeddings of the batch:

    l(i) = -log( exp(s(i, pos(i)) / tau) / sum_{j != i} exp(s(i, j) / tau) ),   s = cosine similarity,

and the loss is the mean of l over the 2N anchors.

Under DDP, ``gather=True`` makes the negatives every process's embeddings
(:func:`~jepa_world.objectives.distributed.gather_batch`): each process scores its own 2n anchors against
all 2N embeddings and returns ``W * (sum of its anchors' l) / 2N``, so the mean over the W processes, whose
gradient DDP applies, is the one-process loss of the whole batch, exactly (also for shards of different sizes).

Examples:
    >>> import torch
    >>> z = torch.eye(4)                          # 4 orthogonal embeddings, identical views
    >>> loss = info_nce_loss(z, z, temperature=0.5)
    >>> expected = -torch.log(torch.exp(torch.tensor(2.0)) / (torch.exp(torch.tensor(2.0)) + 6))
    >>> bool(torch.isclose(loss, expected))
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.objectives.distributed import gather_batch, gather_batch_with_offset, world_size


def info_nce_logits(a: Tensor, b: Tensor, *, temperature: float) -> tuple[Tensor, Tensor]:
    """Logits and positive indices of NT-Xent (Chen et al. 2020, SimCLR).

    Args:
        a: (N, D) embeddings of the first views.
        b: (N, D) embeddings of the second views (row i pairs with ``a[i]``).
        temperature: tau > 0.

    Returns:
        ``(logits, targets)``: logits (2N, 2N) of cosine similarities / tau with the diagonal
        (self-similarity) set to -inf, and targets (2N,) the index of each row's positive.
    """
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"info_nce: a and b must both be (N, D) with N >= 1, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if temperature <= 0:
        raise ValueError(f"info_nce: temperature must be > 0, got {temperature}")
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=1)  # (2N, D)
    logits = z @ z.T / temperature  # (2N, 2N)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)  # a_i <-> b_i
    return logits, targets


def info_nce_loss(a: Tensor, b: Tensor, *, temperature: float = 0.1, gather: bool = False) -> Tensor:
    """NT-Xent loss (Chen et al. 2020, SimCLR, Eq. 1), mean over the 2N anchors.

    Args:
        a: (N, D) embeddings of the first views.
        b: (N, D) embeddings of the second views.
        temperature: tau > 0.
        gather: under DDP, negatives from every process (module docstring); nothing changes alone.

    Returns:
        () scalar; with N = 1 there are no negatives and the loss is 0.
    """
    if gather and world_size() > 1:
        return _gathered_info_nce(a, b, temperature=temperature)
    logits, targets = info_nce_logits(a, b, temperature=temperature)
    return F.cross_entropy(logits, targets)


def _gathered_info_nce(a: Tensor, b: Tensor, *, temperature: float) -> Tensor:
    """This process's share of the loss of all processes' pairs: a, b (n, D) -> () (module docstring)."""
    if a.shape != b.shape or a.ndim != 2 or temperature <= 0:
        raise ValueError(f"info_nce: a and b must both be (n, D) and temperature > 0, got {tuple(a.shape)}, "
                         f"{tuple(b.shape)}, {temperature}")
    a_all, start = gather_batch_with_offset(a)  # (N, D); this rank's pairs are rows start..start+n
    z = F.normalize(torch.cat([a_all, gather_batch(b)]), dim=1)  # (2N, D)
    total, n = a_all.shape[0], a.shape[0]
    mine = torch.arange(start, start + n, device=z.device)
    rows = torch.cat([mine, mine + total])  # (2n,): this rank's anchors among the 2N
    self_mask = torch.zeros(2 * n, 2 * total, dtype=torch.bool, device=z.device)
    self_mask[torch.arange(2 * n, device=z.device), rows] = True
    logits = (z[rows] @ z.T / temperature).masked_fill(self_mask, float("-inf"))  # (2n, 2N)
    targets = torch.cat([mine + total, mine])  # a_i <-> b_i
    return F.cross_entropy(logits, targets, reduction="sum") * world_size() / (2 * total)


def contrastive_accuracy(a: Tensor, b: Tensor) -> float:
    """Fraction of the 2N anchors whose most similar other embedding is their positive (a diagnostic)."""
    logits, targets = info_nce_logits(a.detach(), b.detach(), temperature=1.0)
    return float((logits.argmax(dim=1) == targets).float().mean())


class InfoNCELoss(nn.Module):
    """Module wrapper of :func:`info_nce_loss`; ``forward(a, b)`` returns a scalar.

    Examples:
        >>> InfoNCELoss(temperature=0.2)(torch.randn(8, 4), torch.randn(8, 4)).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, gather: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"InfoNCELoss: temperature must be > 0, got {temperature}")
        self.temperature, self.gather = temperature, gather

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """a, b: (N, D) -> () scalar."""
        return info_nce_loss(a, b, temperature=self.temperature, gather=self.gather)
