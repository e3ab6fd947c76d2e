"""A bounded buffer of what the agent itself executed: observation windows, their actions, and its surprise.

Each entry is one window of an episode, ``obs (L, C, H, W)`` (stored as uint8 when the observations are images
in [0, 1], 4x smaller) and ``actions (L - 1, A)``, with the agent's surprise on it (planning/mpc.py: the latent
energy between what the model predicted and what it then observed). Nothing else: no position, no distance,
nothing the agent could not know. When full, the oldest entries are dropped. ``sample`` draws a share of the
batch from the most surprising entries and the rest uniformly (what online adjustment trains on).

Examples:
    >>> import torch
    >>> buffer = ReplayBuffer(capacity=3)
    >>> buffer.add(torch.rand(5, 4, 2, 8, 8), torch.zeros(5, 3, 2), surprise=torch.arange(5.0))
    >>> len(buffer), buffer.surprise.tolist()          # the 3 newest kept
    (3, [2.0, 3.0, 4.0])
    >>> batch = buffer.sample(2, generator=torch.Generator().manual_seed(0))
    >>> batch["obs"].shape, batch["actions"].shape
    (torch.Size([2, 4, 2, 8, 8]), torch.Size([2, 3, 2]))
"""

from __future__ import annotations

import torch
from torch import Tensor


class ReplayBuffer:
    """At most ``capacity`` windows (obs (L, C, H, W), actions (L - 1, A), surprise), oldest dropped first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"ReplayBuffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs: Tensor | None = None
        self.actions: Tensor | None = None
        self.surprise = torch.zeros(0)

    def __len__(self) -> int:
        return int(self.surprise.numel())

    def add(self, obs: Tensor, actions: Tensor, *, surprise: Tensor) -> None:
        """Append windows: obs (N, L, C, H, W) in [0, 1], actions (N, L - 1, A), surprise (N,)."""
        n = obs.shape[0]
        if obs.dim() != 5 or actions.dim() != 3 or actions.shape[:2] != (n, obs.shape[1] - 1) or surprise.shape != (n,):
            raise ValueError(f"ReplayBuffer.add expects obs (N, L, C, H, W), actions (N, L - 1, A), surprise (N,), "
                             f"got {tuple(obs.shape)}, {tuple(actions.shape)}, {tuple(surprise.shape)}")
        stored = (obs.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
        if self.obs is not None and stored.shape[1:] != self.obs.shape[1:]:
            raise ValueError(f"windows of shape {tuple(stored.shape[1:])} do not match the buffer's "
                             f"{tuple(self.obs.shape[1:])}")
        self.obs = stored if self.obs is None else torch.cat([self.obs, stored])[-self.capacity:]
        actions = actions.detach().float().cpu()
        self.actions = actions if self.actions is None else torch.cat([self.actions, actions])[-self.capacity:]
        self.surprise = torch.cat([self.surprise, surprise.detach().float().cpu()])[-self.capacity:]

    def sample(self, n: int, *, generator: torch.Generator, surprising_share: float = 0.0) -> dict[str, Tensor]:
        """n windows: ``surprising_share`` of them drawn from the top-n most surprising entries, the rest uniformly;
        obs (n, L, C, H, W) float in [0, 1], actions (n, L - 1, A)."""
        if self.obs is None or self.actions is None:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        if not 0.0 <= surprising_share <= 1.0:
            raise ValueError(f"surprising_share must be in [0, 1], got {surprising_share}")
        k = round(n * surprising_share)
        top = self.surprise.topk(min(n, len(self))).indices
        rows = torch.cat([top[torch.randint(top.numel(), (k,), generator=generator)],
                          torch.randint(len(self), (n - k,), generator=generator)])
        return {"obs": self.obs[rows].float() / 255.0, "actions": self.actions[rows]}
