"""Autoregressive rollout of a one-step latent model: the loop every ``WorldModel.rollout`` shares.

Examples:
    >>> import torch
    >>> unroll(lambda z, a: z + a, torch.zeros(2, 3), torch.ones(2, 4, 3))[:, :, 0].tolist()
    [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def unroll(step: Callable[[Tensor, Tensor], Tensor], z0: Tensor, actions: Tensor) -> Tensor:
    """z0 (B, D), actions (B, T, A) -> (B, T, D): ``z_{t+1} = step(z_t, a_t)``, z0 excluded.

    Raises ValueError naming the shapes when actions is not (B, T, A) with z0's batch size B.
    """
    if actions.dim() != 3 or z0.dim() != 2 or actions.shape[0] != z0.shape[0]:
        raise ValueError(f"rollout expects z0 (B, D) and actions (B, T, A), got {tuple(z0.shape)} "
                         f"and {tuple(actions.shape)}")
    z, out = z0, []
    for t in range(actions.shape[1]):
        z = step(z, actions[:, t])
        out.append(z)
    return torch.stack(out, dim=1)
