"""Inverse dynamics (IDM): predict the action that links two consecutive latents.

An inverse-dynamics head forces the encoder to keep the information that actions change, which
counters collapse in action-conditioned world models (Pathak et al. 2017, "Curiosity-driven
Exploration by Self-supervised Prediction"; Sobal et al. 2025).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def idm_loss(a_pred: Tensor, a: Tensor) -> Tensor:
    """Mean squared error between predicted and taken actions (Pathak et al. 2017, continuous form).

    Args:
        a_pred: (B, T, A) actions predicted from ``(z_t, z_{t+1})`` (any shape ``(..., A)``).
        a: (B, T, A) actions actually taken, same shape.

    Returns:
        () scalar, mean over every element.

    Examples:
        >>> float(idm_loss(torch.zeros(2, 3, 2), torch.ones(2, 3, 2)))
        1.0
    """
    if a_pred.shape != a.shape:
        raise ValueError(f"idm_loss: a_pred and a must have equal shapes, "
                         f"got {tuple(a_pred.shape)} and {tuple(a.shape)}")
    return F.mse_loss(a_pred, a)


class InverseDynamicsHead(nn.Module):
    """MLP ``concat(z_t, z_{t+1}) (..., 2D) -> a_t (..., A)``.

    Args:
        dim: latent dimension D.
        action_dim: action dimension A.
        hidden: hidden width of the two hidden layers.

    Examples:
        >>> head = InverseDynamicsHead(dim=8, action_dim=2, hidden=32)
        >>> z = torch.randn(4, 6, 8)                                   # (B, T + 1, D)
        >>> head.from_sequence(z).shape                                # (B, T, A)
        torch.Size([4, 5, 2])
    """

    def __init__(self, dim: int, action_dim: int, hidden: int = 256) -> None:
        super().__init__()
        if dim < 1 or action_dim < 1 or hidden < 1:
            raise ValueError(f"InverseDynamicsHead: dim, action_dim, hidden must be >= 1, "
                             f"got {dim}, {action_dim}, {hidden}")
        self.dim, self.action_dim = dim, action_dim
        self.net = nn.Sequential(
            nn.Linear(2 * dim, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, action_dim),
        )

    def forward(self, z: Tensor, *, z_next: Tensor) -> Tensor:
        """z: (..., D) latent at t, z_next: (..., D) latent at t + 1 -> (..., A) predicted a_t."""
        if z.shape != z_next.shape or z.shape[-1] != self.dim:
            raise ValueError(f"InverseDynamicsHead: z and z_next must both be (..., {self.dim}), "
                             f"got {tuple(z.shape)} and {tuple(z_next.shape)}")
        return self.net(torch.cat([z, z_next], dim=-1))  # (..., 2D) -> (..., A)

    def from_sequence(self, z: Tensor) -> Tensor:
        """z: (..., T + 1, D) latents of consecutive observations -> (..., T, A) actions between them."""
        if z.ndim < 2 or z.shape[-2] < 2:
            raise ValueError(f"InverseDynamicsHead.from_sequence: expected (..., T + 1, D) with T >= 1, "
                             f"got {tuple(z.shape)}")
        return self(z[..., :-1, :], z_next=z[..., 1:, :])
