"""A scripted, model-free exploration policy for PushT that makes contact: no expert, no reward.

Each env follows a plan of two waypoints, replanned when the last is reached or a timeout passes:
with probability ``push_prob`` a *push* (go to a stand-off point ``standoff`` px from a random point
of the T, then drive through that point to ``through`` px beyond it), otherwise a *wander* to a
uniform point of the workspace. The point of the T is uniform on its bar or its stem (gym-pusht's
tee: a 120 x 30 bar and a 30 x 90 stem in body coordinates), so pushes hit off-centre as often as not
and turn the block as well as slide it. Each step commands a target at most ``max_step`` px from the
agent towards the waypoint, plus Gaussian noise. The policy reads the true state: it collects data, it
is not the agent under evaluation.

Examples:
    >>> import numpy as np
    >>> policy = ExplorationPolicy(3, rng=np.random.default_rng(0))
    >>> states = np.array([[100.0, 100.0, 256.0, 256.0, 0.0]] * 3)
    >>> policy.act(states).shape
    (3, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepa_world.envs.pusht.render import WORKSPACE

MARGIN = 20.0
"""Waypoints and targets stay this far inside the workspace (the walls are at 5 px, the agent radius 15)."""


@dataclass
class ExplorationConfig:
    """The exploration policy's knobs (px in the 512 workspace, steps at the package's 10 Hz)."""

    push_prob: float = 0.8
    """Probability that a new plan is a push through the block (else a wander to a uniform point)."""
    standoff_min: float = 30.0
    """Shortest distance of the stand-off point from the contact point."""
    standoff_max: float = 90.0
    """Longest distance of the stand-off point from the contact point."""
    through_min: float = 20.0
    """Shortest distance driven beyond the contact point."""
    through_max: float = 90.0
    """Longest distance driven beyond the contact point."""
    max_step: float = 40.0
    """Longest commanded target offset from the agent per step."""
    noise_std: float = 6.0
    """Standard deviation of the Gaussian noise added to each commanded target."""
    reach: float = 12.0
    """A waypoint counts as reached within this distance."""
    timeout: int = 20
    """Steps after which a waypoint is abandoned."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if not 0.0 <= self.push_prob <= 1.0:
            raise ValueError(f"push_prob must be in [0, 1], got {self.push_prob}")
        if not (0 <= self.standoff_min <= self.standoff_max and 0 <= self.through_min <= self.through_max):
            raise ValueError("need 0 <= standoff_min <= standoff_max and 0 <= through_min <= through_max")
        if self.max_step <= 0 or self.noise_std < 0 or self.reach <= 0 or self.timeout < 1:
            raise ValueError("need max_step > 0, noise_std >= 0, reach > 0, timeout >= 1")


def tee_points(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) uniform points of the T in block coordinates (half on the bar, half on the stem)."""
    bar = np.stack([rng.uniform(-60, 60, n), rng.uniform(0, 30, n)], 1)
    stem = np.stack([rng.uniform(-15, 15, n), rng.uniform(30, 120, n)], 1)
    return np.where(rng.random(n)[:, None] < 0.5, bar, stem)


def to_world(states: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Block-coordinate points (n, 2) of each state's block (n, 5) -> workspace points (n, 2)."""
    cos, sin = np.cos(states[:, 4]), np.sin(states[:, 4])
    x, y = local[:, 0], local[:, 1]
    return states[:, 2:4] + np.stack([cos * x - sin * y, sin * x + cos * y], 1)


class ExplorationPolicy:
    """N independent explorers: ``act(states (N, 5)) -> absolute agent targets (N, 2)``."""

    def __init__(self, n: int, config: ExplorationConfig | None = None, *, rng: np.random.Generator):
        self.config = config or ExplorationConfig()
        self.config.validate()
        self.n, self.rng = n, rng
        self.waypoints = np.zeros((n, 2, 2))  # (N, 2 legs, xy)
        self.leg = np.full(n, 2)  # 2 = no plan: replan at the next act
        self.age = np.zeros(n, dtype=np.int64)

    def _replan(self, states: np.ndarray, rows: np.ndarray) -> None:
        """New two-leg plans for ``rows`` from their states (N, 5)."""
        c, k, rng = self.config, len(rows), self.rng
        contact = to_world(states[rows], tee_points(k, rng))
        heading = rng.uniform(0, 2 * np.pi, k)
        u = np.stack([np.cos(heading), np.sin(heading)], 1)
        standoff = contact - u * rng.uniform(c.standoff_min, c.standoff_max, k)[:, None]
        through = contact + u * rng.uniform(c.through_min, c.through_max, k)[:, None]
        wander = rng.uniform(MARGIN, WORKSPACE - MARGIN, (k, 2))
        push = rng.random(k) < c.push_prob
        self.waypoints[rows, 0] = np.where(push[:, None], standoff, wander)
        self.waypoints[rows, 1] = np.where(push[:, None], through, wander)
        self.leg[rows], self.age[rows] = 0, 0

    def act(self, states: np.ndarray) -> np.ndarray:
        """states (N, 5) -> targets (N, 2) inside the workspace."""
        c = self.config
        agent = states[:, :2]
        rows = np.arange(self.n)
        if (self.leg < 2).any():
            done = np.zeros(self.n, dtype=bool)
            live = self.leg < 2
            wp = self.waypoints[rows, np.minimum(self.leg, 1)]
            done[live] = (np.linalg.norm(wp[live] - agent[live], axis=1) < c.reach) | (self.age[live] >= c.timeout)
            self.leg = np.where(done, self.leg + 1, self.leg)
            self.age = np.where(done, 0, self.age)
        if (self.leg >= 2).any():
            self._replan(states, np.flatnonzero(self.leg >= 2))
        self.age += 1
        delta = self.waypoints[rows, self.leg] - agent
        norm = np.linalg.norm(delta, axis=1, keepdims=True)
        delta = delta * np.minimum(1.0, c.max_step / np.maximum(norm, 1e-9))
        target = agent + delta + self.rng.normal(0, c.noise_std, (self.n, 2))
        return np.clip(target, MARGIN, WORKSPACE - MARGIN)
