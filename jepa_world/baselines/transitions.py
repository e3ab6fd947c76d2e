"""Relabelled goal-conditioned transitions cut from a batch of reward-free trajectories.

From a training batch ``{"obs": (M, L, C, H, W), "actions": (M, L - 1, A)}`` (the world models' batches), each
trajectory gives ``per_trajectory`` states s_t with their action a_t and next state s_{t+1}, and for each state

- a *value goal* (drawn by ``value`` sampling) and where it lies: at s_t (``at_goal``) or at s_{t+1} (``reached``).
  The goal-reaching task has OGBench's rewards, 0 at the goal and -1 elsewhere, and its episode ends on arrival,
  so the TD target of a value V (or Q) is :func:`value_targets`: 0 at the goal, -1 on reaching it, and
  -1 + gamma * V(s_{t+1}, g) otherwise (:func:`jepa_world.objectives.goal_td.td_targets` with values = -costs).
  The optimal value of a goal d steps away is then -(1 - gamma^d) / (1 - gamma), and the last state of a window,
  never drawn as s_t, is never bootstrapped from;
- an *actor goal* (drawn by ``actor`` sampling) for the policy;
- with ``subgoal_steps`` k (HIQL): the state k steps ahead (capped at the trajectory's end), the low-level goal,
  and the high-level target, the state k steps ahead capped at the actor goal when it lies on the trajectory.

Examples:
    >>> import torch
    >>> batch = {"obs": torch.rand(3, 6, 2, 4, 4), "actions": torch.rand(3, 5, 2)}
    >>> tr = goal_transitions(batch, value=GoalSampling(p_cur=1.0, p_traj=0.0), actor=GoalSampling(),
    ...                       generator=torch.Generator().manual_seed(0), subgoal_steps=2)
    >>> tr.obs.shape, tr.at_goal.tolist(), bool(torch.equal(tr.value_goal, tr.obs))
    (torch.Size([3, 2, 4, 4]), [True, True, True], True)
    >>> value_targets(torch.tensor([-5.0, -5.0, -5.0]), at_goal=torch.tensor([True, False, False]),
    ...               reached=torch.tensor([False, True, False]), gamma=0.5)
    tensor([ 0.0000, -1.0000, -3.5000])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.baselines.relabel import GoalSampling, Relabelled, draw_goals, gather_frames, sample_states
from jepa_world.objectives.goal_td import td_targets


@dataclass
class GoalTransitions:
    """B = M x per_trajectory relabelled transitions (frames (B, C, H, W), vectors (B, ...))."""

    obs: Tensor
    """s_t."""
    next_obs: Tensor
    """s_{t+1}."""
    actions: Tensor
    """a_t, (B, A)."""
    value_goal: Tensor
    """The value function's goal observation."""
    at_goal: Tensor
    """(B,) bool: the value goal is s_t (reward 0, episode over)."""
    reached: Tensor
    """(B,) bool: the value goal is s_{t+1} (reward -1, then the episode is over)."""
    actor_goal: Tensor
    """The policy's goal observation."""
    value: Relabelled
    """Indices of the value goals."""
    actor: Relabelled
    """Indices of the actor goals."""
    subgoal: Tensor | None = None
    """HIQL: s_{min(t + k, L - 1)}, the low-level policy's goal."""
    subgoal_target: Tensor | None = None
    """HIQL: the high-level target, s_{t + k} capped at the actor goal (at the trajectory's end for other goals)."""


def goal_transitions(batch: dict[str, Tensor], *, value: GoalSampling, actor: GoalSampling,
                     generator: torch.Generator, per_trajectory: int = 1,
                     subgoal_steps: int | None = None) -> GoalTransitions:
    """Relabelled transitions of a trajectory batch (module docstring); the indices come from ``generator``."""
    obs, actions = batch["obs"], batch["actions"]  # (M, L, ...), (M, L - 1, A)
    m, length = obs.shape[:2]
    if actions.shape[:2] != (m, length - 1):
        raise ValueError(f"batch['actions'] must be (M, L - 1, A) = ({m}, {length - 1}, A) for obs "
                         f"{tuple(obs.shape)}, got {tuple(actions.shape)}")
    rows, t = sample_states(m, length, generator=generator, per_trajectory=per_trajectory)
    v = draw_goals(rows, t, num_traj=m, length=length, sampling=value, generator=generator)
    a = draw_goals(rows, t, num_traj=m, length=length, sampling=actor, generator=generator)
    out = GoalTransitions(
        obs=gather_frames(obs, rows=rows, t=t), next_obs=gather_frames(obs, rows=rows, t=t + 1),
        actions=gather_frames(actions, rows=rows, t=t), value_goal=gather_frames(obs, rows=v.goal_rows, t=v.goal_t),
        at_goal=v.at_goal.to(obs.device), reached=(v.steps == 1).to(obs.device),
        actor_goal=gather_frames(obs, rows=a.goal_rows, t=a.goal_t), value=v, actor=a)
    if subgoal_steps is not None:
        ahead = torch.clamp(t + subgoal_steps, max=length - 1)
        on_path = a.steps >= 0  # the actor goal is s_t or a later state of its trajectory
        target = torch.where(on_path, torch.minimum(ahead, torch.maximum(a.goal_t, t)), ahead)
        out.subgoal = gather_frames(obs, rows=rows, t=ahead)
        out.subgoal_target = gather_frames(obs, rows=rows, t=target)
    return out


def value_targets(next_values: Tensor, *, at_goal: Tensor, reached: Tensor, gamma: float) -> Tensor:
    """TD targets of values (rewards 0 at the goal, -1 elsewhere; the episode ends on arrival) from the values of
    the next states: next_values (B,) or (B, K) -> same shape; at_goal, reached (B,) bool."""
    extra = (1,) * (next_values.dim() - 1)
    at_goal, reached = at_goal.view(-1, *extra).expand_as(next_values), reached.view(-1, *extra).expand_as(next_values)
    return 0.0 - td_targets(-next_values, at_goal=at_goal, reached=reached, gamma=gamma)  # (0 - x: no -0.0)
