"""N PushT goal-reaching episodes through gym-pusht, stepped together (the evaluator's ``GoalEnv``).

The env holds N of the package's own envs and steps them one after the other (gymnasium's
``SyncVectorEnv`` is the same Python loop; see docs/benchmarks.md for the timings). Observations
are the package's drawing of each env, without its fixed green goal region by default
(:mod:`jepa_world.envs.pusht.render`), as float (N, 3, S, S) in [0, 1]; the goal observation is the
same drawing of the goal state.

Actions are relative, as DINO-WM's PushT: ``a`` (N, 2) moves the package's absolute agent target to
``agent position + action_scale * a`` (clipped to the workspace); ``relative_actions=False`` passes
absolute targets through unchanged. Success is DINO-WM's rule as a distance
(:mod:`jepa_world.envs.pusht.success`): ``distance < 1`` iff agent and block are within 20 px of the goal
state's and the block's angle within 20 degrees.

An episode (:class:`PushTEpisodes`) is a start state and a goal state (N, 5). DINO-WM's protocol takes
both from held-out exploration trajectories, the goal ``goal_offset`` steps after the start
(:func:`episodes_from_trajectories`); :func:`sample_episodes` rolls such trajectories fresh from a seed.

Examples:
    >>> import torch
    >>> env = PushTBatch(2, PushTConfig(image_size=32))
    >>> obs, info = env.reset(episodes=sample_episodes(2, env.config, generator=torch.Generator().manual_seed(0)))
    >>> obs.shape, info["goal_obs"].shape, info["distance"].shape
    (torch.Size([2, 3, 32, 32]), torch.Size([2, 3, 32, 32]), torch.Size([2]))
    >>> obs, info = env.step(torch.zeros(2, 2))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from jepa_world.envs.pusht.explore import ExplorationConfig, ExplorationPolicy
from jepa_world.envs.pusht.package import make_pusht_env
from jepa_world.envs.pusht.render import WORKSPACE, render_frame
from jepa_world.envs.pusht.state import read_state, reset_to_state
from jepa_world.envs.pusht.success import SUCCESS_RADIUS, pusht_distance


@dataclass
class PushTConfig:
    """Settings of the PushT goal-reaching task."""

    image_size: int = 64
    """Observations are image_size x image_size RGB (the package's 512 px drawing, scaled)."""
    max_steps: int = 50
    """Step budget of an episode (stable-worldmodel's 50 steps; DINO-WM's MPC has none, see the docs)."""
    success_radius: float = SUCCESS_RADIUS
    """Success when the DINO-WM distance (max of position / 20 px and angle / 20 degrees) is below this."""
    goal_offset: int = 25
    """Steps between start and goal along the trajectory (DINO-WM: goal_H 5 x frameskip 5)."""
    show_goal_region: bool = False
    """Draw the package's fixed green goal T in every frame (False: hidden, as DINO-WM's with_target=False)."""
    relative_actions: bool = True
    """Actions are offsets of the agent's target from its position (DINO-WM); False: absolute targets (px)."""
    action_scale: float = 100.0
    """Relative actions are in units of this many px (DINO-WM's action_scale)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if not 8 <= self.image_size <= WORKSPACE:
            raise ValueError(f"PushTConfig.image_size must be in [8, {WORKSPACE}], got {self.image_size}")
        if self.max_steps < 1 or self.goal_offset < 1:
            raise ValueError(f"PushTConfig needs max_steps >= 1 and goal_offset >= 1, got {self.max_steps}, "
                             f"{self.goal_offset}")
        if not self.action_scale > 0 or not self.success_radius > 0:
            raise ValueError("PushTConfig needs action_scale > 0 and success_radius > 0")


@dataclass
class PushTEpisodes:
    """The fixed part of N PushT episodes: start and goal states."""

    start: Tensor
    """(N, 5) float64 (agent x, y, block x, y, angle) at the start."""
    goal: Tensor
    """(N, 5) float64 goal state; its rendering is the goal observation."""

    def __len__(self) -> int:
        return self.start.shape[0]

    def slice(self, start: int, stop: int) -> PushTEpisodes:
        """Episodes start .. stop - 1."""
        return PushTEpisodes(self.start[start:stop], self.goal[start:stop])


def random_states(n: int, *, generator: torch.Generator) -> np.ndarray:
    """(n, 5) states from the package's reset distribution (agent in [50, 450]^2, block in [100, 400]^2, any angle),
    drawn continuously from ``generator``."""
    u = torch.rand(n, 5, generator=generator, dtype=torch.float64).numpy()
    low, high = np.array([50, 50, 100, 100, -math.pi]), np.array([450, 450, 400, 400, math.pi])
    return low + u * (high - low)


def explore_trajectories(starts: np.ndarray, steps: int, *, rng: np.random.Generator,
                         config: ExplorationConfig | None = None, env=None) -> tuple[np.ndarray, np.ndarray]:
    """Roll the exploration policy from each start (n, 5) -> states (n, steps + 1, 5), targets (n, steps, 2).

    One package env is reused row by row (no rendering): the trajectories need no pixels.
    """
    env = env or make_pusht_env()
    n = starts.shape[0]
    states, targets = np.zeros((n, steps + 1, 5)), np.zeros((n, steps, 2))
    for i in range(n):
        policy = ExplorationPolicy(1, config, rng=rng)
        states[i, 0] = reset_to_state(env, starts[i])
        for t in range(steps):
            targets[i, t] = policy.act(states[i, t][None])[0]
            env.step(targets[i, t])
            states[i, t + 1] = read_state(env)
    return states, targets


def episodes_from_trajectories(states: Tensor, offset: int, n: int, *, generator: torch.Generator) -> PushTEpisodes:
    """N episodes from trajectories (M, L, 5): a random trajectory and time t, start = state t, goal = t + offset."""
    m, length = states.shape[:2]
    if length <= offset:
        raise ValueError(f"trajectories of {length} states hold no start-goal pair {offset} steps apart")
    row = torch.randint(0, m, (n,), generator=generator)
    t = torch.randint(0, length - offset, (n,), generator=generator)
    states = states.double()
    return PushTEpisodes(states[row, t], states[row, t + offset])


def sample_episodes(n: int, config: PushTConfig | None = None, *, generator: torch.Generator) -> PushTEpisodes:
    """N episodes from N fresh exploration trajectories of ``goal_offset`` steps (start = state 0, goal = last)."""
    config = config or PushTConfig()
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    states, _ = explore_trajectories(random_states(n, generator=generator), config.goal_offset,
                                     rng=np.random.default_rng(seed))
    return PushTEpisodes(torch.from_numpy(states[:, 0]), torch.from_numpy(states[:, -1]))


class PushTBatch:
    """N PushT goal-reaching episodes in lock-step (the interface of ``TwoRoomsBatch`` and ``MazeBatch``)."""

    def __init__(self, num_envs: int, config: PushTConfig | None = None, device: str = "cpu"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.config = config or PushTConfig()
        self.config.validate()
        self.device = torch.device(device)
        self.envs = [make_pusht_env() for _ in range(num_envs)]
        self.generator = torch.Generator().manual_seed(0)
        self.t = 0

    def reset(self, seed: int | None = None, episodes: PushTEpisodes | None = None) -> tuple[Tensor, dict]:
        """Start N episodes (sampled from ``seed``, or given) -> obs (N, 3, S, S), info."""
        if seed is not None:
            self.generator.manual_seed(seed)
        if episodes is None:
            episodes = sample_episodes(self.num_envs, self.config, generator=self.generator)
        for name in ("start", "goal"):
            got = getattr(episodes, name)
            if tuple(got.shape) != (self.num_envs, 5):
                raise ValueError(f"episodes.{name} must be ({self.num_envs}, 5), got {tuple(got.shape)}")
        goal_frames = []
        for env, goal in zip(self.envs, episodes.goal.double().numpy(), strict=True):
            reset_to_state(env, goal)
            goal_frames.append(render_frame(env, self.config.image_size, show_goal=self.config.show_goal_region))
        self.goal_obs = self._to_float(goal_frames)
        self.goal_state = torch.from_numpy(np.stack([read_state(e) for e in self.envs]))
        self.state = torch.from_numpy(np.stack([reset_to_state(env, s) for env, s in
                                                zip(self.envs, episodes.start.double().numpy(), strict=True)]))
        self.episodes, self.t = episodes, 0
        return self._obs(), self._info()

    def targets(self, actions: Tensor) -> np.ndarray:
        """The package's absolute agent targets (N, 2) for actions (N, 2) (relative or absolute, see the config)."""
        if tuple(actions.shape) != (self.num_envs, 2):
            raise ValueError(f"actions must be ({self.num_envs}, 2), got {tuple(actions.shape)}")
        a = actions.detach().to("cpu", torch.float64).numpy()
        if not np.isfinite(a).all():
            raise ValueError(f"actions must be finite, got {a[~np.isfinite(a).all(axis=1)][:3].tolist()}")
        if self.config.relative_actions:
            a = self.state[:, :2].numpy() + self.config.action_scale * a
        return np.clip(a, 0.0, WORKSPACE)

    def step(self, actions: Tensor) -> tuple[Tensor, dict]:
        """Step every env: actions (N, 2) -> obs (N, 3, S, S), info."""
        if self.t >= self.config.max_steps:
            raise RuntimeError(f"episode is over ({self.config.max_steps} steps): call reset()")
        for env, target in zip(self.envs, self.targets(actions), strict=True):
            env.step(target)
        self.state = torch.from_numpy(np.stack([read_state(e) for e in self.envs]))
        self.t += 1
        return self._obs(), self._info()

    @property
    def done(self) -> bool:
        return self.t >= self.config.max_steps

    def distance(self) -> Tensor:
        """DINO-WM distance to the goal (N,); success is distance < 1."""
        return pusht_distance(self.state, self.goal_state).float()

    def _to_float(self, frames: list[np.ndarray]) -> Tensor:
        return torch.from_numpy(np.stack(frames)).to(self.device, torch.float32) / 255.0

    def _obs(self) -> Tensor:
        size, show = self.config.image_size, self.config.show_goal_region
        return self._to_float([render_frame(env, size, show_goal=show) for env in self.envs])

    def _info(self) -> dict:
        dist = self.distance()
        return {
            "pos": self.state[:, :2].float(),
            "state": self.state.clone(),
            "goal_state": self.goal_state.clone(),
            "goal_obs": self.goal_obs,
            "distance": dist,
            "success": dist < self.config.success_radius,
            "t": self.t,
        }
