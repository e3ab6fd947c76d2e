"""Hindsight goal relabelling over a batch of reward-free trajectories (OGBench's goal sampling).

Offline goal-conditioned RL learns from data that was never collected for a goal: each sampled state gets a goal
taken from the data itself (Andrychowicz et al. 2017, HER; Park et al. 2024, OGBench ``GCDataset``). For a batch of
M trajectories of L = T + 1 states, every trajectory gives ``per_trajectory`` states ``t`` (uniform in [0, L - 2],
so that the next state exists), and each one a goal:

- the current state itself (probability ``p_cur``: distance 0),
- a later state of the same trajectory (``p_traj``): ``k`` steps ahead, with k ~ Geometric(1 - discount) on
  {1, 2, ...} (``geometric=True``, OGBench's value goals) or uniform on [1, L - 1 - t] (OGBench's actor goals),
  truncated at the trajectory's last state,
- any state of any trajectory of the batch (``p_rand``).

Unlike :func:`jepa_world.objectives.goal_td.sample_relabelled` (starts drawn with replacement, geometric goals
only, no distances), the states here are spread evenly over the trajectories, the future goal can be uniform,
and the number of steps between state and goal is returned: the reward of the goal-reaching task (0 at the
goal, -1 elsewhere) and the subgoal of HIQL come from it.

Examples:
    >>> import torch
    >>> r = relabel(4, 21, GoalSampling(p_cur=0.2, p_traj=0.5, p_rand=0.3, geometric=True),
    ...             generator=torch.Generator().manual_seed(0), per_trajectory=2)
    >>> r.t.shape, bool((r.t <= 19).all()), bool((r.goal_t[r.source == 1] > r.t[r.source == 1]).all())
    (torch.Size([8]), True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.objectives.goal_td import Relabelled as GoalPairs

CUR, TRAJ, RAND = 0, 1, 2
"""Codes of :attr:`Relabelled.source`: the goal is the current state, a later state, a random state."""


@dataclass
class GoalSampling:
    """Where the goals of a batch come from (the three probabilities sum to 1)."""

    p_cur: float = 0.0
    """Probability that the goal is the current state itself."""
    p_traj: float = 1.0
    """Probability that the goal is a later state of the same trajectory."""
    p_rand: float = 0.0
    """Probability that the goal is a uniformly drawn state of any trajectory of the batch."""
    geometric: bool = False
    """Future goals k ~ Geometric(1 - discount) steps ahead (True) or uniform over the rest of the trajectory."""
    discount: float = 0.99
    """The discount of the geometric distance distribution (mean 1 / (1 - discount) before truncation)."""

    def validate(self, name: str = "GoalSampling") -> None:
        """Raise ValueError naming the probabilities or discount it got."""
        probs = (self.p_cur, self.p_traj, self.p_rand)
        if min(probs) < 0 or abs(sum(probs) - 1.0) > 1e-6:
            raise ValueError(f"{name}: p_cur, p_traj, p_rand must be >= 0 and sum to 1, got {probs}")
        if not 0.0 <= self.discount < 1.0:
            raise ValueError(f"{name}.discount must be in [0, 1), got {self.discount}")


def value_goals() -> GoalSampling:
    """OGBench's value goals: the state itself 0.2, a later state 0.5 (geometric, discount 0.99), random 0.3."""
    return GoalSampling(p_cur=0.2, p_traj=0.5, p_rand=0.3, geometric=True, discount=0.99)


def actor_goals() -> GoalSampling:
    """OGBench's actor goals: a later state of the same trajectory, uniform (actor_p_trajgoal=1, no geometric)."""
    return GoalSampling(p_cur=0.0, p_traj=1.0, p_rand=0.0, geometric=False)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The relabelling generator of training step ``step``: a pure function of (seed, step), so that a resumed run
    draws the goals an uninterrupted one would have."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) % (2 ** 62))


@dataclass
class Relabelled(GoalPairs):
    """B = M x per_trajectory (state, goal) pairs (rows, t, goal_rows, goal_t: the critic's pairs), with how far
    each goal is and where it came from; every field is (B,) int64."""

    steps: Tensor
    """goal_t - t when the goal is the state or a later state of its trajectory, else -1 (no known path)."""
    source: Tensor
    """Where the goal came from: :data:`CUR`, :data:`TRAJ` or :data:`RAND`."""

    @property
    def at_goal(self) -> Tensor:
        """(B,) bool: the goal is the state itself (reward 0, episode over)."""
        return self.steps == 0


def relabel(num_traj: int, length: int, sampling: GoalSampling, *, generator: torch.Generator,
            per_trajectory: int = 1) -> Relabelled:
    """Draw ``per_trajectory`` states per trajectory of ``num_traj`` trajectories of ``length`` states, and a goal
    for each (module docstring). Pure given the generator."""
    rows, t = sample_states(num_traj, length, generator=generator, per_trajectory=per_trajectory)
    return draw_goals(rows, t, num_traj=num_traj, length=length, sampling=sampling, generator=generator)


def sample_states(num_traj: int, length: int, *, generator: torch.Generator, per_trajectory: int = 1
                  ) -> tuple[Tensor, Tensor]:
    """(rows, t), each (num_traj x per_trajectory,): every trajectory ``per_trajectory`` times, t uniform in
    [0, length - 2]."""
    if num_traj < 1 or length < 2 or per_trajectory < 1:
        raise ValueError(f"relabelling needs >= 1 trajectory of >= 2 states and per_trajectory >= 1, got "
                         f"{num_traj} trajectories of {length}, per_trajectory={per_trajectory}")
    rows = torch.arange(num_traj).repeat_interleave(per_trajectory)  # (B,)
    return rows, torch.randint(length - 1, rows.shape, generator=generator)


def draw_goals(rows: Tensor, t: Tensor, *, num_traj: int, length: int, sampling: GoalSampling,
               generator: torch.Generator) -> Relabelled:
    """A goal for each state (rows, t) (B,) of trajectories of ``length`` states, drawn as ``sampling`` says."""
    sampling.validate()
    b = rows.shape[0]
    last = torch.full_like(t, length - 1)
    future = torch.minimum(t + future_offsets(t, last, sampling, generator=generator), last)
    rand_rows = torch.randint(num_traj, (b,), generator=generator)
    rand_t = torch.randint(length, (b,), generator=generator)
    u = torch.rand(b, generator=generator)
    source = torch.where(u < sampling.p_cur, CUR, torch.where(u < sampling.p_cur + sampling.p_traj, TRAJ, RAND))
    goal_rows = torch.where(source == RAND, rand_rows, rows)
    goal_t = torch.where(source == CUR, t, torch.where(source == TRAJ, future, rand_t))
    ahead = (goal_rows == rows) & (goal_t >= t)
    steps = torch.where(ahead, goal_t - t, torch.full_like(t, -1))
    return Relabelled(rows=rows, t=t, goal_rows=goal_rows, goal_t=goal_t, steps=steps, source=source)


def future_offsets(t: Tensor, last: Tensor, sampling: GoalSampling, *, generator: torch.Generator) -> Tensor:
    """Steps k >= 1 ahead of states t (B,) whose trajectories end at index ``last`` (B,): Geometric(1 - discount)
    (untruncated; P(k >= j) = discount^(j - 1)) or uniform on [1, last - t]."""
    u = torch.rand(t.shape, generator=generator)
    if sampling.geometric:
        if sampling.discount == 0.0:
            return torch.ones_like(t)
        log_u = torch.log(u.clamp_min(1e-12))
        return (log_u / torch.log(torch.tensor(sampling.discount))).floor().long() + 1
    room = (last - t).clamp_min(1)  # >= 1: t <= last - 1
    return (u * room).floor().long().clamp_max(room - 1) + 1


def gather_frames(frames: Tensor, *, rows: Tensor, t: Tensor) -> Tensor:
    """frames (M, L, ...) at (rows, t) (B,) -> (B, ...)."""
    return frames[rows.to(frames.device), t.to(frames.device)]
