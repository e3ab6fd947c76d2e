"""The rollout of an exact model (the environments' oracles) from its one-step dynamics."""

from __future__ import annotations

import torch
from torch import Tensor


class StepRollout:
    """Gives a model with ``step(z (B, D), a (B, A)) -> (B, D)`` the WorldModel verb ``rollout``."""

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        raise NotImplementedError

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, A) -> (B, T, D): the state after each action (z0 excluded)."""
        if actions.dim() != 3 or z0.dim() != 2 or actions.shape[0] != z0.shape[0]:
            raise ValueError(f"rollout expects z0 (B, D) and actions (B, T, A), got {tuple(z0.shape)} "
                             f"and {tuple(actions.shape)}")
        z, states = z0, []
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t])
            states.append(z)
        return torch.stack(states, dim=1)
