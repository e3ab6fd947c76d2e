"""Goal-conditioned temporal-difference learning of a cost-to-go by hindsight relabelling, with an expectile loss.

A critic V(z, g) estimates the discounted number of steps from latent z to goal latent g,
``sum_{i < k} gamma^i = (1 - gamma^k) / (1 - gamma)`` for a goal k steps away. It is learned from reward-free
sequences of latents (offline data, or the agent's own episodes): a start (row, t) and a goal taken from the
data itself (hindsight relabelling: the start itself, a later state of the same sequence, or any state of any
sequence) give the TD target

    0                                  if the goal is the start,
    1                                  if the goal is the next state,
    1 + gamma * V_target(z_{t+1}, g)   otherwise.

The data are random walks, so the mean target is the walk's hitting time; a low expectile (``tau`` < 0.5)
regresses towards the *shortest* way there instead (as in GCIQL / HIQL's value learning): a cost-to-go a
planner can trust beyond its horizon.

Examples:
    >>> import torch
    >>> td_targets(torch.tensor([5.0, 5.0, 5.0]), at_goal=torch.tensor([True, False, False]),
    ...            reached=torch.tensor([False, True, False]), gamma=0.5)
    tensor([0.0000, 1.0000, 3.5000])
    >>> discounted_steps(torch.tensor([0, 1, 2]), gamma=0.5)
    tensor([0.0000, 1.0000, 1.5000])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Relabelled:
    """B (start, goal) pairs drawn from M sequences of L latents; every field is (B,) int64."""

    rows: Tensor
    """Sequence of the start."""
    t: Tensor
    """Index of the start in its sequence (t + 1 < L: the next state exists)."""
    goal_rows: Tensor
    """Sequence of the goal."""
    goal_t: Tensor
    """Index of the goal in its sequence."""

    @property
    def at_goal(self) -> Tensor:
        """(B,) bool: the goal is the start itself."""
        return (self.goal_rows == self.rows) & (self.goal_t == self.t)

    @property
    def reached(self) -> Tensor:
        """(B,) bool: the goal is the next state."""
        return (self.goal_rows == self.rows) & (self.goal_t == self.t + 1)


def sample_relabelled(num_seqs: int, seq_len: int, batch: int, *, p_self: float, p_future: float,
                      future_p: float, generator: torch.Generator, p_same: float = 0.0) -> Relabelled:
    """Draw B starts uniformly and a goal for each: the start (``p_self``), a later state of its sequence
    ``k ~ Geometric(future_p)`` steps ahead, truncated at the sequence's end (``p_future``), any state of its
    sequence, earlier ones included (``p_same``: a random walk can go back), or a uniformly drawn state of any
    sequence (the rest)."""
    if seq_len < 2 or num_seqs < 1:
        raise ValueError(f"relabelling needs sequences of >= 2 latents, got {num_seqs} of {seq_len}")
    if min(p_self, p_future, p_same) < 0 or p_self + p_future + p_same > 1 + 1e-9 or not 0 < future_p <= 1:
        raise ValueError(f"need p_self, p_future, p_same >= 0 summing to <= 1 and 0 < future_p <= 1, "
                         f"got {p_self}, {p_future}, {p_same}, {future_p}")
    rows = torch.randint(num_seqs, (batch,), generator=generator)
    t = torch.randint(seq_len - 1, (batch,), generator=generator)
    kind = torch.rand(batch, generator=generator)
    u = torch.rand(batch, generator=generator).clamp_min(1e-12)
    ahead = (torch.log(u) / torch.log1p(torch.tensor(-future_p)).clamp_max(-1e-12)).floor().long() + 1
    future = torch.minimum(t + ahead, torch.full_like(t, seq_len - 1))
    random_rows = torch.randint(num_seqs, (batch,), generator=generator)
    random_t = torch.randint(seq_len, (batch,), generator=generator)
    is_self, is_future = kind < p_self, (kind >= p_self) & (kind < p_self + p_future)
    is_same = (kind >= p_self + p_future) & (kind < p_self + p_future + p_same)
    goal_rows = torch.where(is_self | is_future | is_same, rows, random_rows)
    goal_t = torch.where(is_self, t, torch.where(is_future, future, random_t))
    return Relabelled(rows=rows, t=t, goal_rows=goal_rows, goal_t=goal_t)


def td_targets(next_values: Tensor, *, at_goal: Tensor, reached: Tensor, gamma: float) -> Tensor:
    """The relabelled TD targets (B,) from the target critic's values of the next states (B,) (module docstring)."""
    bootstrapped = 1.0 + gamma * torch.where(reached, torch.zeros_like(next_values), next_values)
    return torch.where(at_goal, torch.zeros_like(next_values), bootstrapped)


def expectile_loss(pred: Tensor, target: Tensor, tau: float) -> Tensor:
    """Asymmetric squared error: weight ``tau`` where the target is above the prediction, ``1 - tau`` below
    (tau = 0.5: half the MSE; tau -> 0: the prediction tracks the lowest targets)."""
    if not 0.0 < tau < 1.0:
        raise ValueError(f"expectile tau must be in (0, 1), got {tau}")
    u = target - pred
    weight = torch.where(u > 0, torch.full_like(u, tau), torch.full_like(u, 1.0 - tau))
    return (weight * u.pow(2)).mean()


def discounted_steps(k: Tensor, gamma: float) -> Tensor:
    """The closed-form value of a goal k steps away on a shortest path: (1 - gamma^k) / (1 - gamma) (k, float)."""
    k = k.float()
    if gamma == 1.0:
        return k
    return (1.0 - gamma ** k) / (1.0 - gamma)
