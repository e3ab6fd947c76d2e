"""N Two Rooms goal-reaching episodes stepped at once in torch (the planner's evaluation env).

An episode: one layout; the agent starts uniformly in one room and the goal is uniform in the
other (rooms swapped with probability 0.5); 200 steps. How success is scored (final distance or
first hit, < 4.5 px) is the evaluator's business (``eval/protocols.py``), not the env's.
The collision rule and the wall pixels are options (``physics``, ``walls``; EB-JEPA's by default), and so are
shifts of the world the offline data never showed (``gain``, ``drift``, ``obstacle``, ``door_half``;
envs/two_rooms/shift.py; off by default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.config import added_field
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.physics import apply_action, check_physics
from jepa_world.envs.two_rooms.render import check_walls, render
from jepa_world.envs.two_rooms.shift import Shift, in_keep_out


@dataclass
class TwoRoomsConfig:
    """Settings of the Two Rooms goal-reaching task."""

    fixed_wall: bool = False
    """Use the fixed layout (wall_x=32, door_y=18) instead of a random one per episode."""
    max_steps: int = 200
    """Episode length in steps."""
    success_radius: float = geo.SUCCESS_RADIUS
    """Success when the final distance to the goal is below this (px)."""
    max_action_norm: float | None = None
    """Actions are clipped to this L2 norm (px per step); None = the rule's own (2.45 for 'strict', no clip for
    'ebjepa', as EB-JEPA's env: its planners bound the norm to 2.45 themselves, and so do ours)."""
    physics: str = "ebjepa"
    """Collision rule: 'ebjepa' (EB-JEPA's: walls are the wall pixels' centre lines, a blocked move is pushed
    back by N(0, 0.5^2) noise) or 'strict' (stop at the last free point, deterministic); envs/two_rooms/physics.py."""
    walls: str = "ebjepa"
    """Wall pixels drawn: 'ebjepa' (border lines to the image edges, middle wall through the whole image) or
    'arena' (only inside the arena)."""
    gain: float = added_field(1.0, absent=1.0)
    """Shift (envs/two_rooms/shift.py): executed displacement = gain x the clipped action (1 = unshifted)."""
    drift: tuple[float, float] = added_field((0.0, 0.0), absent=(0.0, 0.0))
    """Shift: a constant displacement (px per step, x then y) added to every move."""
    obstacle: str = added_field("none", absent="none")
    """Shift: new wall blocks in each room, 'none', 'pillar' or 'segment' (drawn and enforced)."""
    door_half: int = added_field(geo.DOOR_HALF, absent=geo.DOOR_HALF)
    """Shift: the door spans rows door_y +- door_half (4: the usual 9 px door; smaller is narrower)."""

    def __post_init__(self) -> None:
        check_physics(self.physics)
        check_walls(self.walls)
        self.shift()

    def shift(self) -> Shift:
        """The world's shift (``Shift()`` when unshifted); raises ValueError on an impossible one."""
        return Shift(gain=self.gain, drift=tuple(self.drift), obstacle=self.obstacle, door_half=self.door_half)

    def with_shift(self, shift: Shift) -> TwoRoomsConfig:
        """A copy of this config in the world ``shift``."""
        return dataclasses.replace(self, gain=shift.gain, drift=shift.drift, obstacle=shift.obstacle,
                                   door_half=shift.door_half)


@dataclass
class Episodes:
    """The fixed part of N episodes: layouts, starts and goals (all (N,) or (N, 2))."""

    wall_x: Tensor
    door_y: Tensor
    start: Tensor
    goal: Tensor


def sample_episodes(n: int, *, generator: torch.Generator, fixed_wall: bool = False, doors: str = "all",
                    shift: Shift | None = None) -> Episodes:
    """N episodes with start and goal in opposite rooms; random layouts' door rows from the ``doors`` split. With a
    ``shift`` that adds obstacles, a start or goal within ``START_MARGIN`` of one is drawn again (the unshifted
    episodes are unchanged)."""
    wall_x, door_y = geo.sample_layouts(n, generator=generator, fixed=fixed_wall, doors=doors)
    start_room = (torch.rand(n, generator=generator) < 0.5).long()
    start = geo.sample_in_room(n, start_room, wall_x, generator=generator)
    goal = geo.sample_in_room(n, 1 - start_room, wall_x, generator=generator)
    if shift is not None and shift.obstacle != "none":
        blocks = shift.blocks(wall_x, door_y)
        start = _clear_of(start, start_room, wall_x, blocks, generator)
        goal = _clear_of(goal, 1 - start_room, wall_x, blocks, generator)
    return Episodes(wall_x, door_y, start.float(), goal.float())


def _clear_of(pos: Tensor, room: Tensor, wall_x: Tensor, blocks: Tensor, generator: torch.Generator) -> Tensor:
    """pos (N, 2) with every point within START_MARGIN of a block (N, K, 4) redrawn in its room until none is."""
    pos = pos.clone()
    for _ in range(1000):
        bad = in_keep_out(pos, blocks, margin=geo.START_MARGIN)
        if not bool(bad.any()):
            return pos
        idx = bad.nonzero().squeeze(1)
        pos[idx] = geo.sample_in_room(len(idx), room[idx], wall_x[idx], generator=generator)
    raise RuntimeError("could not place starts and goals clear of the obstacles in 1000 draws")


class TwoRoomsBatch:
    """N goal-reaching episodes in lock-step.

    Examples:
        >>> env = TwoRoomsBatch(4)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, info["goal_obs"].shape
        (torch.Size([4, 2, 65, 65]), torch.Size([4, 2, 65, 65]))
        >>> obs, info = env.step(torch.zeros(4, 2))
    """

    def __init__(self, num_envs: int, config: TwoRoomsConfig | None = None, device: str = "cpu"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.config = config or TwoRoomsConfig()
        self.shift = self.config.shift()
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(0)
        self.t = 0

    def reset(self, seed: int | None = None, episodes: Episodes | None = None) -> tuple[Tensor, dict]:
        """Start N new episodes (sampled from ``seed``, or given) -> obs (N, 2, 65, 65), info."""
        if seed is not None:
            self.generator.manual_seed(seed)
        if episodes is None:
            episodes = sample_episodes(self.num_envs, generator=self.generator,
                                       fixed_wall=self.config.fixed_wall, shift=self.shift)
        if episodes.start.shape != (self.num_envs, 2):
            raise ValueError(f"episodes.start must be ({self.num_envs}, 2), got {tuple(episodes.start.shape)}")
        self.ep = episodes
        self.pos = episodes.start.clone()
        self.goal_obs = render(episodes.goal, episodes.wall_x, episodes.door_y,
                               walls=self.config.walls, shift=self.shift).to(self.device)
        self.t = 0
        return self._obs(), self._info()

    def step(self, actions: Tensor) -> tuple[Tensor, dict]:
        """Move every agent: actions (N, 2) -> obs (N, 2, 65, 65), info."""
        if actions.shape != (self.num_envs, 2):
            raise ValueError(f"actions must be ({self.num_envs}, 2), got {tuple(actions.shape)}")
        if self.t >= self.config.max_steps:
            raise RuntimeError(f"episode is over ({self.config.max_steps} steps): call reset()")
        a = actions.detach().to("cpu", torch.float32)
        if not bool(torch.isfinite(a).all()):
            raise ValueError("actions must be finite")
        self.pos = apply_action(self.pos, a, self.ep.wall_x, self.ep.door_y, physics=self.config.physics,
                                generator=self.generator, max_norm=self.config.max_action_norm,
                                shift=self.shift).float()
        self.t += 1
        return self._obs(), self._info()

    @property
    def done(self) -> bool:
        return self.t >= self.config.max_steps

    def distance(self) -> Tensor:
        """Distance to the goal (N,) in px."""
        return (self.pos - self.ep.goal).norm(dim=-1)

    def _obs(self) -> Tensor:
        return render(self.pos, self.ep.wall_x, self.ep.door_y, walls=self.config.walls,
                      shift=self.shift).to(self.device)

    def _info(self) -> dict:
        dist = self.distance()
        return {
            "pos": self.pos.clone(),
            "goal_pos": self.ep.goal.clone(),
            "goal_obs": self.goal_obs,
            "distance": dist,
            "success": dist < self.config.success_radius,
            "wall_x": self.ep.wall_x.clone(),
            "door_y": self.ep.door_y.clone(),
            "t": self.t,
        }
