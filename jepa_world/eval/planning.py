"""Planning evaluation: success rates, distances and timings of latent MPC on Two Rooms or maze goal reaching.

:func:`evaluate_planning` runs ``episodes`` goal-reaching episodes in batches of ``num_envs`` with
:func:`~jepa_world.eval.episodes.run_mpc` and summarises them in a :class:`PlanningReport`. The
episode set is a pure function of ``(seed, fixed_wall, episodes)``: every episode is sampled up
front and the batches are slices, so ``num_envs`` changes the speed, never the task. ``env="maze"``
runs the long-horizon maze task instead (:mod:`jepa_world.envs.maze.batch`, settings in ``maze``).

The agent acts for the whole step budget (it is never told it has arrived) and every episode is scored
under both protocols of :mod:`jepa_world.eval.protocols`: ``success_rate`` is protocol 'final' (EB-JEPA,
PLDM: distance after the budget), ``success_rate_first_hit`` protocol 'first-hit'. Measured numbers and
the history of the defaults live in docs/world_model.md and docs/evaluation.md.

Examples:
    >>> from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
    >>> from jepa_world.planning.mpc import MPCConfig
    >>> fast = {"horizon": 10, "num_samples": 32, "iterations": 1}
    >>> cfg = PlanningEvalConfig(episodes=2, num_envs=2, planner_overrides=fast,
    ...                          mpc=MPCConfig(replan_every=50, action_repeat=10))
    >>> report = evaluate_planning(TwoRoomsOracle(), cfg)
    >>> report.episodes, len(report.final_distance), 0.0 <= report.success_rate <= 1.0
    (2, 2, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from jepa_world.config import added_field, to_dict
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.maze_stream import MazeStream
from jepa_world.data.pusht_gen import PushTDataConfig
from jepa_world.data.pusht_gen import generate as generate_pusht
from jepa_world.data.pusht_stream import load_pusht_states
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.envs.maze import render as maze_render
from jepa_world.envs.maze.batch import MazeBatch, MazeConfig, MazeEpisodes
from jepa_world.envs.maze.batch import sample_episodes as sample_maze_episodes
from jepa_world.envs.pointmaze import PointMazeBatch, PointMazeConfig, PointMazeEpisodes
from jepa_world.envs.pointmaze import sample_episodes as sample_pointmaze_episodes
from jepa_world.envs.pusht.batch import PushTBatch, PushTConfig, PushTEpisodes, episodes_from_trajectories
from jepa_world.envs.pusht.batch import sample_episodes as sample_pusht_episodes
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.batch import Episodes, TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms.render import render, render_walls, to_rgb
from jepa_world.envs.two_rooms.shift import parse_shift
from jepa_world.errors import UserError
from jepa_world.eval.episodes import GoalEnv, MPCResult, run_mpc
from jepa_world.eval.pointmaze_pictures import pointmaze_episode_drawer
from jepa_world.eval.protocols import PROTOCOL_LABELS
from jepa_world.planning.blurred_cost import BlurredCost, SpatialLatent
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import make_cost
from jepa_world.planning.critic_cost import Critic, CriticCost
from jepa_world.planning.goal_stop import calibrate_goal_energy
from jepa_world.planning.mpc import MPCConfig, Probe
from jepa_world.planning.pixel_space import PixelSpaceModel, pixel_probe
from jepa_world.planning.protocols import Planner, WorldModel, WrapsModel
from jepa_world.planning.registry import POLICY, make_planner, planner_config_cls


def _default_mpc() -> MPCConfig:
    return MPCConfig(replan_every=10, action_repeat=10, warm_fill="zero", stall_ratio=0.5, escape_steps=5)


@dataclass
class PlanningEvalConfig:
    """Settings of a planning evaluation."""

    episodes: int = 100
    """Number of goal-reaching episodes."""
    num_envs: int = 100
    """Episodes run at once (in lock-step); the episodes are run in batches of this size."""
    seed: int = 0
    """Seed of the episode set (layouts, starts, goals)."""
    env: Literal["two_rooms", "maze", "pusht", "pointmaze"] = "two_rooms"
    """The task: 'two_rooms' (PLDM / EB-JEPA benchmark), 'maze' (rooms several doors apart, see maze.*), 'pusht'
    (gym-pusht from pixels, extra [pusht], see pusht.*) or 'pointmaze' (gymnasium-robotics PointMaze from pixels,
    extra [pointmaze], see pointmaze.*)."""
    fixed_wall: bool = False
    """Two Rooms: use the fixed layout instead of a random wall and door per episode."""
    physics: str = "ebjepa"
    """Two Rooms collision rule: 'ebjepa' (EB-JEPA's, comparable with published numbers) or 'strict'."""
    walls: str = "ebjepa"
    """Two Rooms wall pixels: 'ebjepa' or 'arena' (use the model's training ones: ``eval`` reads them from the run)."""
    doors: str = added_field("all", absent="all")
    """Two Rooms random layouts' door rows: 'all', 'low' or 'high' (envs.two_rooms.geometry.DOOR_SPLITS); evaluate
    a model trained on ``data.doors=low`` with ``doors=high`` to test layouts it never saw."""
    shift: str = added_field("none", absent="none")
    """Two Rooms: a shift of the world the offline data never showed (envs/two_rooms/shift.py): 'none', 'gain0.5',
    'drift' (or drift<dx>,<dy>), 'pillar', 'segment', 'narrow-door', or several joined by '+'."""
    maze: MazeConfig = field(default_factory=MazeConfig)
    """The maze task (env='maze'): rooms per side, extra doors, minimum door distance, step budget."""
    pusht: PushTConfig = field(default_factory=PushTConfig)
    """The PushT task (env='pusht'): image size, step budget, goal offset along exploration, action units."""
    pusht_episodes: str = ""
    """env='pusht': a PushT dataset directory (e.g. a held-out `data generate --env pusht --seed 99`) whose
    trajectories give the episodes, start = state t, goal = state t + pusht.goal_offset (DINO-WM's goals from
    data); empty: fresh exploration trajectories from the seed."""
    pointmaze: PointMazeConfig = field(default_factory=PointMazeConfig)
    """The PointMaze task (env='pointmaze'): maze, image size, frame stack, step budget (0: the package's)."""
    planner: str = "mppi"
    """Planner name: 'cem', 'mppi', 'gradient' or 'hierarchical' (see planning.registry), or 'policy': a trained
    goal-conditioned policy acts instead of a search (planning/policy.py, docs/baselines.md)."""
    planner_overrides: dict[str, Any] = field(default_factory=lambda: {"horizon": 10, "num_samples": 64,
                                                                       "iterations": 3})
    """Fields of the planner's config to change, e.g. {'horizon': 10, 'num_samples': 128}."""
    cost: str = "l2"
    """Distance between predicted and goal latents: 'mse', 'l2' or 'l1' (see planning.costs)."""
    reduce: Literal["sum", "last", "discounted"] = "last"
    """How per-step distances are reduced over the horizon."""
    discount: float = 0.95
    """Per-step weight factor when reduce='discounted'."""
    path_weight: float = 0.1
    """Adds path_weight * (mean distance over the horizon) to the cost: plans that arrive early and stay win."""
    motion_weight: float = 0.0
    """Adds motion_weight * (latent path length of the plan) to the cost: holds an agent at its goal (costs.py)."""
    blurs: tuple[int, ...] = ()
    """Spatial-latent models only: compare latent maps box-blurred by these odd kernel sizes (cells), e.g.
    (1, 3, 5, 9), so that the distance keeps growing when the compared regions stop overlapping
    (planning/blurred_cost.py); () compares the latents as they are."""
    mpc: MPCConfig = field(default_factory=_default_mpc)
    """The receding-horizon loop (replanning period, macro-action length, warm start)."""
    goal_stop: bool = False
    """The agent stops where its own latent energy to the goal is below a threshold calibrated, without labels, on
    random-walk clips of the task (the median energy between frames goal_stop_k steps apart); mpc.goal_energy > 0
    sets the threshold instead."""
    goal_stop_k: int = 2
    """Frames apart in the calibration clips (Two Rooms and maze walks move ~1 px per step)."""
    critic_weight: float = 1.0
    """With a critic (``eval --critic DIR``): the cost adds critic_weight x its cost-to-go from the plan's last
    latent (planning/critic_cost.py); ignored without one."""
    space: Literal["latent", "pixel"] = added_field("latent", absent="latent")
    """What the cost compares: 'latent' the model's latents, 'pixel' the decoded predicted frames with the goal
    image (models with a decoder, the pixel world model: planning/pixel_space.py); the agent's surprise and
    goal-stop energies are then pixel energies too."""
    pixel_pool: int = added_field(1, absent=1)
    """space='pixel': frames are average-pooled by this factor before they are compared (1 = every pixel; 2 makes
    a plan's predicted frames 4x smaller in memory; the decoder still runs at full resolution)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (unknown planner/cost names list the valid ones)."""
        for name in ("episodes", "num_envs", "goal_stop_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"PlanningEvalConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.env not in ("two_rooms", "maze", "pusht", "pointmaze"):
            raise ValueError(f"PlanningEvalConfig.env must be 'two_rooms', 'maze', 'pusht' or 'pointmaze', "
                             f"got {self.env!r}")
        self.mpc.validate()
        self.maze.validate()
        self.pusht.validate()
        self.pointmaze.validate()
        TwoRoomsConfig(physics=self.physics, walls=self.walls)  # validates both names
        geo.check_doors(self.doors)
        if self.space not in ("latent", "pixel") or self.pixel_pool < 1:
            raise ValueError(f"PlanningEvalConfig.space must be 'latent' or 'pixel' and pixel_pool >= 1, "
                             f"got {self.space!r}, {self.pixel_pool}")
        if self.shift != "none" and self.env != "two_rooms":
            raise ValueError(f"PlanningEvalConfig.shift={self.shift!r} is a Two Rooms option; env is {self.env!r}")
        parse_shift(self.shift)
        if not self.critic_weight >= 0:
            raise ValueError(f"PlanningEvalConfig.critic_weight must be >= 0, got {self.critic_weight}")
        make_cost(self.cost, reduce=self.reduce, discount=self.discount, path_weight=self.path_weight,
                  motion_weight=self.motion_weight)
        horizon = self.planner_config().horizon
        needed = (self.mpc.replan_every - 1) // self.mpc.action_repeat + 1
        if horizon < needed:
            raise ValueError(f"planner horizon={horizon} is shorter than the {needed} planned actions executed "
                             f"per replan (replan_every={self.mpc.replan_every}, "
                             f"action_repeat={self.mpc.action_repeat})")

    def planner_config(self) -> Any:
        """The planner's config dataclass with ``planner_overrides`` applied (validated)."""
        cls = planner_config_cls(self.planner)
        unknown = sorted(set(self.planner_overrides) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}; valid: {sorted(cls.__dataclass_fields__)}")
        return cls(**self.planner_overrides)


@dataclass
class PlanningReport:
    """Summary of a planning evaluation; per-episode lists are in episode order."""

    planner: str
    episodes: int
    num_envs: int
    """Environments per batch (min of the configured num_envs and episodes)."""
    success_rate: float
    """Protocol 'final' (the headline): distance after the whole budget < radius."""
    success_rate_first_hit: float
    """Protocol 'first-hit': the distance dropped below the radius at some step of the budget."""
    mean_final_distance: float
    median_final_distance: float
    mean_steps_to_success: float | None
    """Mean first step within the success radius, over successful episodes (None if none)."""
    ms_per_replan: float
    """Median wall ms of one plan() call for a batch of num_envs environments, encoding included."""
    ms_per_replan_per_env: float
    s_per_episode: float
    """Total wall seconds / episodes (amortised over the batch)."""
    s_per_episode_batch: float
    """Mean wall seconds of one batch of num_envs episodes."""
    plan_s_per_episode: float
    """Wall seconds of all plan() calls (encoding included) / episodes: the planning time of an episode."""
    final_distance: list[float]
    success: list[bool]
    """Per episode, protocol 'final'."""
    success_first_hit: list[bool]
    """Per episode, protocol 'first-hit'."""
    steps_to_success: list[int]
    goal_energy: float = 0.0
    """The agent's goal-stop threshold (0 = no goal stop)."""
    mean_surprise: float | None = None
    """Mean over episodes and replans of the agent's surprise (latent energy between the predicted and the observed
    latent after each executed chunk; planning/mpc.py); None when no episode replanned twice."""
    surprise: list[list[float]] = field(default_factory=list)
    """Per episode, the surprise at each replan after the first."""
    protocols: dict[str, str] = field(default_factory=lambda: dict(PROTOCOL_LABELS))
    """What each success number means (JSON readers see the labels beside the numbers)."""
    config: dict[str, Any] = field(default_factory=dict)
    results: list[MPCResult] = field(default_factory=list, repr=False, compare=False)
    """The raw batches (positions, planned paths) for plots; not part of as_dict()."""

    def as_dict(self) -> dict[str, Any]:
        """Everything but ``results``, JSON-able."""
        return {k: v for k, v in vars(self).items() if k != "results"}

    @property
    def distance_unit(self) -> str:
        """What the distances measure: px (Two Rooms, maze), maze units (PointMaze), tolerances (PushT)."""
        return {"pointmaze": "maze units", "pusht": "tolerances"}.get(self.config.get("env"), "px")

    def table(self) -> str:
        """A two-column text table of the summary numbers (for the CLI)."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"planning: {self.planner}, {self.episodes} episodes")
        table.add_column("metric")
        table.add_column("value", justify="right")
        steps = "-" if self.mean_steps_to_success is None else f"{self.mean_steps_to_success:.1f}"
        unit = self.distance_unit
        rows = [
            ("success rate, final (distance after the budget)", f"{self.success_rate:.3f}"),
            ("success rate, first-hit (reached at some step)", f"{self.success_rate_first_hit:.3f}"),
            ("goal-stop threshold (latent energy; 0 = off)", f"{self.goal_energy:.4g}"),
            ("mean surprise (latent energy, predicted vs observed)",
             "-" if self.mean_surprise is None else f"{self.mean_surprise:.4g}"),
            (f"mean final distance ({unit})", f"{self.mean_final_distance:.2f}"),
            (f"median final distance ({unit})", f"{self.median_final_distance:.2f}"),
            ("mean steps to success", steps),
            (f"ms per replan ({self.num_envs} envs)", f"{self.ms_per_replan:.1f}"),
            ("ms per replan per env", f"{self.ms_per_replan_per_env:.2f}"),
            ("s per episode", f"{self.s_per_episode:.3f}"),
            ("planning s per episode", f"{self.plan_s_per_episode:.3f}"),
            (f"s per batch of {self.num_envs}", f"{self.s_per_episode_batch:.2f}"),
        ]
        for name, value in rows:
            table.add_row(name, value)
        out = io.StringIO()
        Console(file=out, width=100, force_terminal=False).print(table)
        return out.getvalue()


def hierarchical_mpc() -> MPCConfig:
    """The loop the hierarchical planner's defaults were tuned with: 5-step actions, replanning every 5 steps,
    stall escapes on (docs/hierarchical.md)."""
    return MPCConfig(replan_every=5, action_repeat=5, warm_fill="zero", stall_ratio=0.5, escape_steps=5)


def flat_mpc() -> MPCConfig:
    """The loop the flat planners' defaults were tuned with (Two Rooms, episode seed 100, docs/evaluation.md):
    5-step macro-actions replanned every 5 steps, stall escapes on."""
    return MPCConfig(replan_every=5, action_repeat=5, warm_fill="zero", stall_ratio=0.5, escape_steps=5)


def policy_mpc() -> MPCConfig:
    """The loop a goal-conditioned policy runs in (planner 'policy', planning/policy.py): it acts at every step."""
    return MPCConfig(replan_every=1, action_repeat=1, warm_fill="zero")


def default_eval_config(planner: str = "mppi", **fields: Any) -> PlanningEvalConfig:
    """A PlanningEvalConfig with the settings ``planner`` was tuned with; ``fields`` override any of them.

    Every planner runs with the agent's **goal stop** (``goal_stop=True``, threshold = median latent energy
    between random-walk frames 4 steps apart, no labels): with the agent acting until the end of the budget
    (protocol 'final'), a flat planner otherwise drifts off a goal it reached. The flat planners plan 20
    macro-actions of 5 steps (64 samples, 3 iterations) under the squared-distance cost ``mse`` (last step +
    0.1 x mean) and replan every 5 steps; 'hierarchical' keeps its own config defaults and runs under
    :func:`hierarchical_mpc` with the ``l2`` cost, the unit its tree search's length penalty is expressed in,
    and ``path_weight=2``: the low level heads for its subgoal at once and holds it. Tuning runs and the
    trade-offs of each choice: docs/evaluation.md, docs/hierarchical.md. Planner 'policy' (a trained goal-conditioned
    policy, planning/policy.py) acts at every step without a goal stop (:func:`policy_mpc`).

    Examples:
        >>> hier = default_eval_config("hierarchical", env="maze")
        >>> hier.mpc.action_repeat, hier.path_weight, hier.goal_stop
        (5, 2.0, True)
        >>> cem = default_eval_config("cem")
        >>> cem.planner_overrides["horizon"], cem.mpc.action_repeat, cem.cost
        (20, 5, 'mse')
        >>> policy = default_eval_config("policy")
        >>> policy.mpc.replan_every, policy.mpc.action_repeat, policy.goal_stop
        (1, 1, False)
    """
    stop = {"goal_stop": True, "goal_stop_k": 4}
    if planner == POLICY:  # a trained policy acts every step until the budget ends, as OGBench's agents do
        return PlanningEvalConfig(planner=planner, **{"planner_overrides": {}, "mpc": policy_mpc(), **fields})
    if planner == "hierarchical":
        fields = {"planner_overrides": {}, "mpc": hierarchical_mpc(), "cost": "l2", "path_weight": 2.0, **stop,
                  **fields}
    else:
        fields = {"cost": "mse", "mpc": flat_mpc(), "planner_overrides": {"horizon": 20, "num_samples": 64,
                                                                          "iterations": 3}, **stop, **fields}
    return PlanningEvalConfig(planner=planner, **fields)


def trained_env_overrides(env: dict[str, Any] | None, overrides: list[str]) -> list[str]:
    """PlanningEvalConfig overrides for the env a world model was trained in (``model_config["env"]`` of its run:
    ``{"name": "maze", "rooms": 3}`` or ``{"name": "two_rooms", "fixed_wall": ..., "physics": ..., "walls": ...}``),
    before ``overrides``; an ``env=`` override (or, on Two Rooms, ``fixed_wall=``, ``physics=``, ``walls=``) the user
    gave wins. Two Rooms runs that predate the physics option record none: they were trained under 'strict'/'arena'.

    Examples:
        >>> trained_env_overrides({"name": "maze", "rooms": 4}, ["seed=1"])
        ['env=maze', 'maze.rooms=4', 'seed=1']
        >>> trained_env_overrides({"name": "pusht", "image_size": 64, "action_scale": 100.0}, [])
        ['env=pusht', 'pusht.image_size=64', 'pusht.action_scale=100.0']
        >>> trained_env_overrides({"name": "maze", "rooms": 4}, ["env=two_rooms"])
        ['env=two_rooms']
        >>> trained_env_overrides({"name": "pointmaze", "maze": "medium", "image_size": 64, "frame_stack": 2}, [])
        ['env=pointmaze', 'pointmaze.maze=medium', 'pointmaze.image_size=64', 'pointmaze.frame_stack=2']
        >>> trained_env_overrides({"name": "two_rooms", "fixed_wall": False}, ["physics=ebjepa"])
        ['fixed_wall=false', 'walls=arena', 'physics=ebjepa']
    """
    if not env or any(o.startswith("env=") for o in overrides):
        return overrides
    if env.get("name") == "maze":
        return ["env=maze", f"maze.rooms={env['rooms']}", *overrides]
    if env.get("name") == "pusht":  # frames of the size the model was trained on, actions in the same units
        return ["env=pusht", f"pusht.image_size={env['image_size']}", f"pusht.action_scale={env['action_scale']}",
                *overrides]
    if env.get("name") == "pointmaze":
        trained = [f"pointmaze.{k}={env[k]}" for k in ("maze", "image_size", "frame_stack")]
        return ["env=pointmaze", *trained, *overrides]
    given = {o.split("=", 1)[0] for o in overrides}
    # runs from before the physics option were trained under the strict rule with arena walls
    trained = {"fixed_wall": str(bool(env.get("fixed_wall"))).lower(), "physics": env.get("physics", "strict"),
               "walls": env.get("walls", "arena")}
    return [f"{k}={v}" for k, v in trained.items() if k not in given] + overrides


def build_planner(world_model: WorldModel, config: PlanningEvalConfig, *, critic: Critic | None = None) -> Planner:
    """The configured planner over ``world_model``, wrapped when action_repeat > 1 in ChunkedWorldModel (one action
    held for action_repeat steps, through the model's ``hold`` when it has one); with a ``critic``
    its cost-to-go from each plan's last latent joins the cost (``config.critic_weight``). With ``space='pixel'``
    the planner searches over the model's PixelSpaceModel, actions held in its latent."""
    repeat = config.mpc.action_repeat
    model = world_model
    if config.space == "pixel":
        if critic is not None:
            raise ValueError("a critic reads the model's latents: it cannot join a space='pixel' cost")
        pool = config.pixel_pool
        model, world_model = PixelSpaceModel(world_model, repeat=repeat, pool=pool), PixelSpaceModel(world_model,
                                                                                                     pool=pool)
    elif repeat > 1:
        model = ChunkedWorldModel(world_model, repeat)
    cost = make_cost(config.cost, reduce=config.reduce, discount=config.discount,
                     path_weight=config.path_weight, motion_weight=config.motion_weight)
    if config.blurs:
        if not isinstance(world_model, SpatialLatent):
            raise ValueError(f"blurs={config.blurs} needs a world model with a spatial latent (latent_shape), "
                             f"got {type(world_model).__name__}")
        cost = BlurredCost(cost, world_model.latent_shape, blurs=config.blurs)
    if critic is not None:
        cost = CriticCost(cost, critic, weight=config.critic_weight)
    return make_planner(config.planner, model, cost, config=config.planner_config())


def evaluate_planning(
    world_model: WorldModel, config: PlanningEvalConfig, *, probe: Probe | None = None, progress: bool = False,
    critic: Critic | None = None,
) -> PlanningReport:
    """Run the configured episodes with MPC and summarise them. A ``probe`` also records planned paths; a
    ``critic`` (z, goal) -> cost-to-go adds a terminal cost (``build_planner``)."""
    config.validate()
    all_episodes = sample_eval_episodes(config)
    planner = build_planner(world_model, config, critic=critic)
    results = []
    with _eval_mode(world_model):
        if config.space == "pixel":  # the agent encodes, predicts and compares frames too
            world_model = PixelSpaceModel(world_model, pool=config.pixel_pool)
            probe = None if probe is None else pixel_probe(world_model, probe)
        mpc = agent_loop_config(world_model, config)
        for start in range(0, config.episodes, config.num_envs):
            batch = slice_episodes(all_episodes, start, start + config.num_envs)
            env = make_eval_env(config, len(batch.start), device=str(_device_of(world_model)))
            results.append(run_mpc(env, world_model, planner, episodes=batch, config=mpc,
                                   record=probe is not None, probe=probe, progress=progress))
    report = summarize(results, config)
    report.goal_energy = mpc.goal_energy
    return report


def agent_loop_config(world_model: WorldModel, config: PlanningEvalConfig) -> MPCConfig:
    """``config.mpc``, with the goal-stop threshold calibrated for ``world_model`` when ``goal_stop`` asks for it."""
    if not config.goal_stop or config.mpc.goal_energy > 0:
        return config.mpc
    frames = calibration_clips(config).to(_device_of(world_model))  # (B, T+1, C, H, W), no labels used
    threshold = calibrate_goal_energy(world_model, frames, k=config.goal_stop_k)
    return dataclasses.replace(config.mpc, goal_energy=threshold)


def calibration_clips(config: PlanningEvalConfig, *, clips: int = 64, seed: int = 7_777) -> Tensor:
    """Random-walk clips of the task's offline training distribution: (clips, 9, C, H, W) observations."""
    if config.env == "pusht":
        data = PushTDataConfig(length=9, image_size=config.pusht.image_size, action_scale=config.pusht.action_scale)
        return torch.from_numpy(generate_pusht(clips, data, seed=seed).obs).float() / 255.0
    if config.env == "pointmaze":
        return pointmaze_clips(config.pointmaze, clips=clips, seed=seed)
    if config.env == "maze":
        stream = MazeStream(clips, MazeDataConfig(length=9, rooms=config.maze.rooms), seed=seed)
    else:
        data = TwoRoomsDataConfig(length=9, fixed_wall=config.fixed_wall, physics=config.physics, walls=config.walls)
        stream = TwoRoomsStream(clips, data, seed=seed)
    return stream(0)["obs"]


def pointmaze_clips(task: PointMazeConfig, *, clips: int, seed: int) -> Tensor:
    """Exploration clips of the PointMaze training data's kind, frames stacked like the task's observations:
    (clips, 9, 3k, S, S) float in [0, 1]."""
    from jepa_world.data.pointmaze_gen import PointMazeDataConfig, generate, stack_frames

    data = PointMazeDataConfig(maze=task.maze, length=9, image_size=task.image_size)
    obs = generate(clips, data, generator=torch.Generator().manual_seed(seed)).obs.float().div(255.0)
    return stack_frames(obs, task.frame_stack)


def sample_eval_episodes(config: PlanningEvalConfig) -> Any:
    """The evaluation's episode set: a pure function of (env, seed, task settings, episodes)."""
    generator = torch.Generator().manual_seed(config.seed)
    if config.env == "pusht" and config.pusht_episodes:
        states = torch.from_numpy(load_pusht_states(Path(config.pusht_episodes)))
        return episodes_from_trajectories(states, config.pusht.goal_offset, config.episodes, generator=generator)
    if config.env == "pusht":
        return sample_pusht_episodes(config.episodes, config.pusht, generator=generator)
    if config.env == "pointmaze":
        return sample_pointmaze_episodes(config.episodes, config.pointmaze.maze, generator=generator,
                                         min_cell_distance=config.pointmaze.min_cell_distance)
    if config.env == "maze":
        return sample_maze_episodes(config.episodes, config.maze, generator=generator)
    return sample_episodes(config.episodes, generator=generator, fixed_wall=config.fixed_wall, doors=config.doors,
                           shift=parse_shift(config.shift))


def make_eval_env(config: PlanningEvalConfig, num_envs: int, *, device: str = "cpu") -> GoalEnv:
    """The batched env of the configured task."""
    if config.env == "pusht":
        return PushTBatch(num_envs, config.pusht, device=device)
    if config.env == "pointmaze":
        return PointMazeBatch(num_envs, config.pointmaze, device=device)
    if config.env == "maze":
        return MazeBatch(num_envs, config.maze, device=device)
    task = TwoRoomsConfig(fixed_wall=config.fixed_wall, physics=config.physics, walls=config.walls)
    return TwoRoomsBatch(num_envs, task.with_shift(parse_shift(config.shift)), device=device)


def slice_episodes(episodes: Any, start: int, stop: int) -> Any:
    """Episodes start..stop-1 of a set."""
    if isinstance(episodes, MazeEpisodes | PushTEpisodes | PointMazeEpisodes):
        return episodes.slice(start, stop)
    return Episodes(episodes.wall_x[start:stop], episodes.door_y[start:stop],
                    episodes.start[start:stop], episodes.goal[start:stop])


def summarize(results: list[MPCResult], config: PlanningEvalConfig) -> PlanningReport:
    """Merge MPC batches into a report."""
    final = torch.cat([r.final_distance for r in results])  # (E,)
    success = torch.cat([r.success for r in results])
    first_hit = torch.cat([r.success_first_hit for r in results])
    steps = torch.cat([r.steps_to_success for r in results])
    wall = [r.wall_s for r in results]
    ms = statistics.median(ms for r in results for ms in r.replan_ms)
    num_envs = min(config.num_envs, config.episodes)
    surprise = [r.surprise for r in results if r.surprise is not None]
    surprises = torch.cat(surprise) if surprise else None  # (E, R - 1)
    return PlanningReport(
        planner=config.planner, episodes=len(final), num_envs=num_envs,
        success_rate=success.float().mean().item(), success_rate_first_hit=first_hit.float().mean().item(),
        mean_final_distance=final.mean().item(),
        median_final_distance=final.median().item(),
        mean_steps_to_success=steps[success].float().mean().item() if success.any() else None,
        ms_per_replan=ms, ms_per_replan_per_env=ms / num_envs, s_per_episode=sum(wall) / len(final),
        s_per_episode_batch=statistics.fmean(wall),
        plan_s_per_episode=sum(sum(r.replan_ms) for r in results) / 1e3 / len(final),
        final_distance=final.tolist(), success=success.tolist(), success_first_hit=first_hit.tolist(),
        steps_to_success=steps.tolist(), config=to_dict(config), results=results,
        mean_surprise=None if surprises is None else surprises.mean().item(),
        surprise=[] if surprises is None else surprises.tolist(),
    )


def _device_of(world_model: WorldModel) -> torch.device:
    world_model = world_model.base if isinstance(world_model, WrapsModel) else world_model
    params = getattr(world_model, "parameters", None)
    first = next(iter(params()), None) if callable(params) else None
    return first.device if first is not None else torch.device("cpu")


@contextlib.contextmanager
def _eval_mode(world_model: WorldModel):
    """nn.Module models run in eval mode (dropout/batch-norm off) and get their mode back afterwards."""
    training = getattr(world_model, "training", None)
    if training is not None:
        world_model.eval()
    try:
        yield
    finally:
        if training is not None:
            world_model.train(training)


# --- pictures ------------------------------------------------------------------------------------


def _no_pointmaze_pictures(ep: Any) -> None:
    """These episode pictures draw Two Rooms / maze layouts (PointMaze summaries: eval/pointmaze_pictures.py)."""
    if isinstance(ep, PointMazeEpisodes):
        raise UserError("episode GIFs (plan --gif) are not available for env=pointmaze yet; eval --png is")


def _active_plan(result: MPCResult, index: int, t: int) -> Tensor | None:
    """Positions still ahead (L', 2) of the plan in force at step t, or None without recorded plans."""
    if result.planned_paths is None:
        return None
    r = max(i for i, s in enumerate(result.plan_steps) if s <= t)
    return result.planned_paths[r, index, t - result.plan_steps[r]:]


def _frame(result: MPCResult, index: int, t: int, scale: int) -> np.ndarray:
    """One GIF frame (65 * scale, 65 * scale, 3) uint8: observation, goal, executed and planned paths."""
    from PIL import Image, ImageDraw

    ep = result.episodes
    obs = _render_one(ep, index, result.positions[index, t])
    img = Image.fromarray(to_rgb(obs, goal_pos=ep.goal[index]).numpy()).resize((65 * scale,) * 2, Image.NEAREST)
    draw = ImageDraw.Draw(img)

    def points(xy: Tensor) -> list[tuple[float, float]]:
        return [((x + 0.5) * scale, (y + 0.5) * scale) for x, y in xy.tolist()]

    draw.line(points(result.positions[index, : t + 1]), fill=(255, 255, 255), width=1)
    plan = _active_plan(result, index, t)
    if plan is not None and len(plan) > 1:
        draw.line(points(plan), fill=(0, 170, 255), width=1)
    draw.text((3, 2), f"t={t} d={result.distances[index, t]:.1f}", fill=(255, 255, 0))
    return np.asarray(img)


def save_episode_gif(result: MPCResult, index: int, path: str, *, fps: int = 20, scale: int = 4,
                     stride: int = 2) -> None:
    """Animate episode ``index`` of a batch: agent and walls, goal (green), executed path (white) and the
    current plan decoded by the probe (blue, when the result was recorded with one); every ``stride`` steps."""
    import imageio.v3 as iio

    if not 0 <= index < result.num_envs:
        raise ValueError(f"index must be in [0, {result.num_envs}), got {index}")
    steps = list(range(0, result.positions.shape[1], stride))
    frames = np.stack([_frame(result, index, t, scale) for t in steps])  # (F, H, W, 3)
    iio.imwrite(path, frames, duration=1000 / fps, loop=0)


def _render_one(ep: Episodes | MazeEpisodes, i: int, pos: Tensor) -> Tensor:
    """Observation (2, 65, 65) of episode i's layout with the agent at pos (2,)."""
    _no_pointmaze_pictures(ep)
    if isinstance(ep, MazeEpisodes):
        return maze_render.render(pos[None], ep.doors[i:i + 1])[0]
    return render(pos[None], ep.wall_x[i:i + 1], ep.door_y[i:i + 1])[0]


def _walls(ep: Episodes | MazeEpisodes, i: int) -> np.ndarray:
    """Wall channel (65, 65) of episode i."""
    _no_pointmaze_pictures(ep)
    if isinstance(ep, MazeEpisodes):
        return maze_render.render_walls(ep.doors[i:i + 1])[0].numpy()
    return render_walls(ep.wall_x[i:i + 1], ep.door_y[i:i + 1])[0].numpy()


def _draw_episode(ax: Any, result: MPCResult, i: int) -> None:
    ep = result.episodes
    pusht = isinstance(ep, PushTEpisodes)  # states (5,): the agent path, start and goal agent, goal block (square)
    if pusht:
        ax.set(xlim=(0, 512), ylim=(512, 0), aspect="equal")
        ax.plot(*ep.goal[i, 2:4].tolist(), "s", color="gold", mec="k", ms=7)
    else:
        ax.imshow(_walls(ep, i), cmap="gray_r", vmax=2.5)
    ok = bool(result.success[i])
    xy = result.positions[i].numpy()  # (S + 1, 2)
    ax.plot(xy[:, 0], xy[:, 1], color="tab:green" if ok else "tab:red", lw=1.2)
    ax.plot(*ep.start[i, :2].tolist(), "ko", ms=3)
    ax.plot(*ep.goal[i, :2].tolist(), "*", color="gold", mec="k", ms=9)
    unit = "" if pusht else " px"
    ax.set_title(f"#{i}: {result.final_distance[i]:.1f}{unit}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def save_summary_png(report: PlanningReport, result: MPCResult, path: str, *, max_episodes: int = 6) -> None:
    """Trajectories of the first episodes of ``result`` (green = success, red = failure; decoded subgoals of a
    hierarchical planner as in :func:`save_paths_png`), the histogram of all final distances and the fraction of
    episodes that reached the goal radius by each step, and the agent's surprise at each replan (one curve per
    drawn episode, and the mean over all)."""
    from matplotlib.figure import Figure

    env = report.config.get("env")
    draw = pointmaze_episode_drawer(report) if env == "pointmaze" else _draw_two_rooms_episode
    fig = Figure(figsize=(15, 6), layout="constrained")
    axes = fig.subplots(2, 5)
    for k, ax in enumerate(axes[:, :3].flat):
        if k < min(max_episodes, result.num_envs):
            draw(ax, result, k)
        else:
            ax.axis("off")
    final = np.asarray(report.final_distance)
    axes[0, 3].hist(final, bins=30)
    radius = report.config[env]["success_radius"] if env in ("pusht", "pointmaze") else geo.SUCCESS_RADIUS
    axes[0, 3].axvline(radius, color="k", ls="--", lw=1)
    axes[0, 3].set(xlabel=f"final distance ({report.distance_unit})", ylabel="episodes")
    first = np.asarray(report.steps_to_success, dtype=float)
    t = np.arange(result.distances.shape[1])
    reached = ((first >= 0)[:, None] & (first[:, None] <= t)).mean(0)  # (S + 1,)
    axes[1, 3].plot(t, reached)
    axes[1, 3].set(xlabel="step", ylabel="reached goal radius", ylim=(0, 1))
    _draw_surprise(axes[:, 4], report, result, max_episodes)
    where = f"PointMaze {report.config['pointmaze']['maze']}, " if env == "pointmaze" else ""
    fig.suptitle(f"{where}{report.planner}: success {report.success_rate:.0%} (final), "
                 f"{report.success_rate_first_hit:.0%} (first hit) over {report.episodes} episodes, "
                 f"{report.ms_per_replan:.0f} ms/replan ({report.num_envs} envs)")
    fig.savefig(path, dpi=80)



def _draw_two_rooms_episode(ax: Any, result: MPCResult, i: int) -> None:
    """Episode i of a Two Rooms / maze / PushT evaluation, with a hierarchical planner's decoded subgoals."""
    _draw_episode(ax, result, i)
    _draw_subgoals(ax, result, i)


def _draw_surprise(axes: Any, report: PlanningReport, result: MPCResult, max_episodes: int) -> None:
    """Top: the surprise of the first drawn episodes by replan step; bottom: its mean over every episode."""
    if result.surprise is None or not report.surprise:
        for ax in axes:
            ax.axis("off")
        return
    steps = np.arange(1, result.surprise.shape[1] + 1)  # replans after the first
    for i in range(min(max_episodes, result.num_envs)):
        color = "tab:green" if result.success[i] else "tab:red"
        axes[0].plot(steps, result.surprise[i].numpy(), color=color, lw=1)
    axes[0].set(xlabel="replan", ylabel="surprise (latent energy)", title="drawn episodes")
    axes[1].plot(steps, np.asarray(report.surprise).mean(0))
    axes[1].set(xlabel="replan", ylabel="mean surprise", title=f"all {report.episodes} episodes")


def _draw_subgoals(ax: Any, result: MPCResult, i: int) -> None:
    """Decoded subgoals of episode i: the first high-level path (dashed) and every target aimed at (dots)."""
    if result.waypoints is None or result.targets is None:
        return
    first = result.waypoints[0, i].numpy()  # (K, 2)
    ax.plot(first[:, 0], first[:, 1], "--", color="tab:blue", lw=0.8, alpha=0.8)
    targets = result.targets[:, i].numpy()  # (R, 2)
    steps = np.asarray(result.plan_steps[: len(targets)], dtype=float)
    ax.scatter(targets[:, 0], targets[:, 1], c=steps, cmap="cool", s=10, zorder=3, edgecolors="none")


def save_paths_png(results: dict[str, MPCResult], path: str, *, episodes: list[int] | None = None) -> None:
    """Side by side per planner (columns) and episode (rows): the layout, start (black), goal (star), the executed
    path (green = success, red = failure) and, for a hierarchical planner recorded with a probe, the decoded
    subgoals (dashed blue: the first high-level path; dots: the subgoal aimed at by each plan, cyan to magenta
    over time)."""
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("save_paths_png needs at least one result")
    first = next(iter(results.values()))
    episodes = list(range(min(4, first.num_envs))) if episodes is None else episodes
    bad = [i for i in episodes if not 0 <= i < first.num_envs]
    if bad:
        raise ValueError(f"episode indices must be in [0, {first.num_envs}), got {bad}")
    fig = Figure(figsize=(2.6 * len(results), 2.6 * len(episodes)), layout="constrained")
    axes = np.asarray(fig.subplots(len(episodes), len(results), squeeze=False))
    for col, (name, result) in enumerate(results.items()):
        for row, i in enumerate(episodes):
            ax = axes[row, col]
            _draw_episode(ax, result, i)
            _draw_subgoals(ax, result, i)
            steps = int(result.steps_to_success[i])
            ax.set_title(f"{name} #{i}: " + (f"{steps} steps" if steps >= 0 else f"{result.final_distance[i]:.0f} px"),
                         fontsize=8)
    fig.savefig(path, dpi=90)
