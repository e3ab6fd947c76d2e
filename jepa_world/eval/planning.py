"""Planning evaluation: success rate, distances and timings of latent MPC on Two Rooms goal reaching.

:func:`evaluate_planning` runs ``episodes`` goal-reaching episodes in batches of ``num_envs`` with
:func:`~jepa_world.planning.mpc.run_mpc` and summarises them in a :class:`PlanningReport`. The
episode set is a pure function of ``(seed, fixed_wall, episodes)``: every episode is sampled up
front and the batches are slices, so ``num_envs`` changes the speed, never the task.

Defaults are the recipe checked with the ground-truth model (``methods.oracle.TwoRoomsOracle``):
MPPI (64 samples, 3 iterations) over 10 macro-actions of 10 steps, so the 100-step horizon reaches
the door from anywhere; cost = L2 distance after the last macro-action; replanning every
macro-action from zero-padded warm starts; an environment stops once within the success radius.
It succeeds in 90 % of 60 random-wall episodes (3 seeds x 20). The "last" cost ignores where the
plan passes, so without ``stop_at_goal`` the agent reaches the goal and drifts off it again (60 %);
summing the distance over the horizon keeps it there but leaves ~10 % at the wall, and short greedy
horizons (16 single steps, sum) leave half of the agents at the wall.

Examples:
    >>> from jepa_world.methods.oracle import TwoRoomsOracle
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
import io
import statistics
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from jepa_world.config import to_dict
from jepa_world.envs import two_rooms_geometry as geo
from jepa_world.envs.two_rooms_batch import Episodes, TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms_render import render, render_walls, to_rgb
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import make_cost
from jepa_world.planning.mpc import MPCConfig, MPCResult, Probe, run_mpc
from jepa_world.planning.protocols import Planner, WorldModel
from jepa_world.planning.registry import make_planner, planner_config_cls


def _default_mpc() -> MPCConfig:
    return MPCConfig(replan_every=10, action_repeat=10, warm_fill="zero", stop_at_goal=True)


@dataclass
class PlanningEvalConfig:
    """Settings of a planning evaluation."""

    episodes: int = 100
    """Number of goal-reaching episodes."""
    num_envs: int = 100
    """Episodes run at once (in lock-step); the episodes are run in batches of this size."""
    seed: int = 0
    """Seed of the episode set (layouts, starts, goals)."""
    fixed_wall: bool = False
    """Use the fixed layout instead of a random wall and door per episode."""
    planner: str = "mppi"
    """Planner name: 'cem', 'mppi' or 'gradient' (see planning.registry)."""
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
    mpc: MPCConfig = field(default_factory=_default_mpc)
    """The receding-horizon loop (replanning period, macro-action length, warm start)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (unknown planner/cost names list the valid ones)."""
        for name in ("episodes", "num_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"PlanningEvalConfig.{name} must be >= 1, got {getattr(self, name)}")
        self.mpc.validate()
        make_cost(self.cost, reduce=self.reduce, discount=self.discount, path_weight=self.path_weight)
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
    final_distance: list[float]
    success: list[bool]
    steps_to_success: list[int]
    config: dict[str, Any] = field(default_factory=dict)
    results: list[MPCResult] = field(default_factory=list, repr=False, compare=False)
    """The raw batches (positions, planned paths) for plots; not part of as_dict()."""

    def as_dict(self) -> dict[str, Any]:
        """Everything but ``results``, JSON-able."""
        return {k: v for k, v in vars(self).items() if k != "results"}

    def table(self) -> str:
        """A two-column text table of the summary numbers (for the CLI)."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"planning: {self.planner}, {self.episodes} episodes")
        table.add_column("metric")
        table.add_column("value", justify="right")
        steps = "-" if self.mean_steps_to_success is None else f"{self.mean_steps_to_success:.1f}"
        rows = [
            ("success rate", f"{self.success_rate:.3f}"),
            ("mean final distance (px)", f"{self.mean_final_distance:.2f}"),
            ("median final distance (px)", f"{self.median_final_distance:.2f}"),
            ("mean steps to success", steps),
            (f"ms per replan ({self.num_envs} envs)", f"{self.ms_per_replan:.1f}"),
            ("ms per replan per env", f"{self.ms_per_replan_per_env:.2f}"),
            ("s per episode", f"{self.s_per_episode:.3f}"),
            (f"s per batch of {self.num_envs}", f"{self.s_per_episode_batch:.2f}"),
        ]
        for name, value in rows:
            table.add_row(name, value)
        out = io.StringIO()
        Console(file=out, width=100, force_terminal=False).print(table)
        return out.getvalue()


def build_planner(world_model: WorldModel, config: PlanningEvalConfig) -> Planner:
    """The configured planner over ``world_model`` (wrapped in ChunkedWorldModel when action_repeat > 1)."""
    repeat = config.mpc.action_repeat
    model = ChunkedWorldModel(world_model, repeat) if repeat > 1 else world_model
    cost = make_cost(config.cost, reduce=config.reduce, discount=config.discount,
                     path_weight=config.path_weight)
    return make_planner(config.planner, model, cost, config=config.planner_config())


def evaluate_planning(
    world_model: WorldModel, config: PlanningEvalConfig, *, probe: Probe | None = None, progress: bool = False
) -> PlanningReport:
    """Run the configured episodes with MPC and summarise them. A ``probe`` also records planned paths."""
    config.validate()
    all_episodes = sample_episodes(config.episodes, generator=torch.Generator().manual_seed(config.seed),
                                   fixed_wall=config.fixed_wall)
    planner = build_planner(world_model, config)
    env_config = TwoRoomsConfig(fixed_wall=config.fixed_wall)
    results = []
    with _eval_mode(world_model):
        for start in range(0, config.episodes, config.num_envs):
            batch = slice_episodes(all_episodes, start, start + config.num_envs)
            env = TwoRoomsBatch(len(batch.start), env_config, device=str(_device_of(world_model)))
            results.append(run_mpc(env, world_model, planner, episodes=batch, config=config.mpc,
                                   record=probe is not None, probe=probe, progress=progress))
    return summarize(results, config)


def slice_episodes(episodes: Episodes, start: int, stop: int) -> Episodes:
    """Episodes start..stop-1 of a set."""
    return Episodes(episodes.wall_x[start:stop], episodes.door_y[start:stop],
                    episodes.start[start:stop], episodes.goal[start:stop])


def summarize(results: list[MPCResult], config: PlanningEvalConfig) -> PlanningReport:
    """Merge MPC batches into a report."""
    final = torch.cat([r.final_distance for r in results])  # (E,)
    success = torch.cat([r.success for r in results])
    steps = torch.cat([r.steps_to_success for r in results])
    wall = [r.wall_s for r in results]
    ms = statistics.median(ms for r in results for ms in r.replan_ms)
    num_envs = min(config.num_envs, config.episodes)
    return PlanningReport(
        planner=config.planner, episodes=len(final), num_envs=num_envs,
        success_rate=success.float().mean().item(), mean_final_distance=final.mean().item(),
        median_final_distance=final.median().item(),
        mean_steps_to_success=steps[success].float().mean().item() if success.any() else None,
        ms_per_replan=ms, ms_per_replan_per_env=ms / num_envs, s_per_episode=sum(wall) / len(final),
        s_per_episode_batch=statistics.fmean(wall), final_distance=final.tolist(), success=success.tolist(),
        steps_to_success=steps.tolist(), config=to_dict(config), results=results,
    )


def _device_of(world_model: WorldModel) -> torch.device:
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
    obs = render(result.positions[index, t][None], ep.wall_x[index:index + 1], ep.door_y[index:index + 1])[0]
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


def _draw_episode(ax: Any, result: MPCResult, i: int) -> None:
    ep = result.episodes
    ax.imshow(render_walls(ep.wall_x[i:i + 1], ep.door_y[i:i + 1])[0].numpy(), cmap="gray_r", vmax=2.5)
    ok = bool(result.success[i])
    xy = result.positions[i].numpy()  # (S + 1, 2)
    ax.plot(xy[:, 0], xy[:, 1], color="tab:green" if ok else "tab:red", lw=1.2)
    ax.plot(*ep.start[i].tolist(), "ko", ms=3)
    ax.plot(*ep.goal[i].tolist(), "*", color="gold", mec="k", ms=9)
    ax.set_title(f"#{i}: {result.final_distance[i]:.1f} px", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def save_summary_png(report: PlanningReport, result: MPCResult, path: str, *, max_episodes: int = 6) -> None:
    """Trajectories of the first episodes of ``result`` (green = success, red = failure), the histogram of
    all final distances and the fraction of episodes that reached the goal radius by each step."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplots(2, 4)
    for k, ax in enumerate(axes[:, :3].flat):
        if k < min(max_episodes, result.num_envs):
            _draw_episode(ax, result, k)
        else:
            ax.axis("off")
    final = np.asarray(report.final_distance)
    axes[0, 3].hist(final, bins=30)
    axes[0, 3].axvline(geo.SUCCESS_RADIUS, color="k", ls="--", lw=1)
    axes[0, 3].set(xlabel="final distance (px)", ylabel="episodes")
    first = np.asarray(report.steps_to_success, dtype=float)
    t = np.arange(result.distances.shape[1])
    reached = ((first >= 0)[:, None] & (first[:, None] <= t)).mean(0)  # (S + 1,)
    axes[1, 3].plot(t, reached)
    axes[1, 3].set(xlabel="step", ylabel="reached goal radius", ylim=(0, 1))
    fig.suptitle(f"{report.planner}: success {report.success_rate:.0%} over {report.episodes} episodes, "
                 f"{report.ms_per_replan:.0f} ms/replan ({report.num_envs} envs)")
    fig.savefig(path, dpi=80)

