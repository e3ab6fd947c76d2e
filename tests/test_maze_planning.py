"""MPC and the planning evaluation on the maze: flat and hierarchical planners over the maze oracle."""

import json

import pytest
import torch
from PIL import Image
from torch import Tensor
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.envs.maze.batch import MazeBatch, MazeConfig, sample_episodes
from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.eval.episodes import run_mpc
from jepa_world.eval.planning import (
    PlanningEvalConfig,
    default_eval_config,
    evaluate_planning,
    save_episode_gif,
    save_paths_png,
    save_summary_png,
)
from jepa_world.planning.costs import goal_distance_cost
from jepa_world.planning.high_level import HeldActionModel
from jepa_world.planning.mpc import MPCConfig
from jepa_world.planning.protocols import PlanResult
from jepa_world.planning.registry import make_planner

TINY_HIER = {"depth": 4, "width": 8, "branching": 4, "num_samples": 8, "num_elites": 4, "iterations": 1}
MAZE = MazeConfig(max_steps=20)


class ResetCountingPlanner:
    """Zero actions; counts reset() calls."""

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        return PlanResult(actions=torch.zeros(z0.shape[0], 4, 2), cost=torch.zeros(z0.shape[0]))


def test_run_mpc_drives_the_maze_and_resets_stateful_planners():
    planner, eps = ResetCountingPlanner(), sample_episodes(3, MAZE, generator=torch.Generator().manual_seed(0))
    result = run_mpc(MazeBatch(3, MAZE), MazeOracle(), planner, episodes=eps, config=MPCConfig(replan_every=4))
    assert planner.resets == 1 and result.distances.shape == (3, 21) and result.waypoints is None
    torch.testing.assert_close(result.positions[:, -1], eps.start)  # zero actions: nobody moved


@pytest.fixture(scope="module")
def reports():
    oracle = MazeOracle()
    hier = default_eval_config("hierarchical", env="maze", maze=MAZE, episodes=3, num_envs=3,
                               planner_overrides=TINY_HIER)
    flat = default_eval_config("mppi", env="maze", maze=MAZE, episodes=3, num_envs=2,
                               planner_overrides={"horizon": 4, "num_samples": 8, "num_elites": 4, "iterations": 1})
    return {"flat": evaluate_planning(oracle, flat, probe=oracle.probe),
            "hierarchical": evaluate_planning(oracle, hier, probe=oracle.probe)}


def test_maze_evaluation_uses_the_maze_episode_set(reports):
    expected = sample_episodes(3, MAZE, generator=torch.Generator().manual_seed(0))
    for rep in reports.values():
        assert rep.episodes == 3 and len(rep.success) == 3 and rep.plan_s_per_episode > 0
        assert torch.equal(torch.cat([r.episodes.doors for r in rep.results]), expected.doors)
        assert torch.equal(torch.cat([r.episodes.start for r in rep.results]), expected.start)
        assert rep.config["env"] == "maze" and rep.results[0].distances.shape[1] == 21
    assert [len(r.final_distance) for r in reports["flat"].results] == [2, 1]
    assert reports["hierarchical"].config["mpc"]["action_repeat"] == 5


def test_hierarchical_results_record_decoded_subgoals(reports):
    result = reports["hierarchical"].results[0]
    calls = len(result.replan_ms)
    assert calls == 4 and result.plan_steps == [0, 5, 10, 15]
    assert result.waypoints.shape[:2] == (calls, 3) and result.waypoints.shape[3] == 2
    assert result.targets.shape == (calls, 3, 2)
    goal = result.episodes.goal
    assert (result.waypoints[:, :, -1] - goal).abs().max() < 0.01  # the decoded list ends at the goal
    # every decoded target is one of the decoded waypoints of its plan
    hit = (result.waypoints - result.targets[:, :, None]).norm(dim=-1).min(dim=-1).values
    assert hit.max() < 1e-5
    assert reports["flat"].results[0].waypoints is None


def test_pictures_of_maze_runs(reports, tmp_path):
    results = {name: rep.results[0] for name, rep in reports.items()}
    save_paths_png(results, str(tmp_path / "paths.png"), episodes=[0, 1])
    with Image.open(tmp_path / "paths.png") as img:
        assert img.size == (468, 468)  # 2 columns (planners) x 2 rows (episodes), 2.6 in each at 90 dpi
    save_summary_png(reports["hierarchical"], results["hierarchical"], str(tmp_path / "summary.png"))
    save_episode_gif(results["hierarchical"], 0, str(tmp_path / "episode.gif"), stride=5)
    with Image.open(tmp_path / "episode.gif") as gif:
        assert gif.n_frames == 5
    with pytest.raises(ValueError, match="episode indices"):
        save_paths_png(results, str(tmp_path / "bad.png"), episodes=[7])


def test_eval_config_for_the_maze():
    with pytest.raises(ValueError, match="env"):
        PlanningEvalConfig(env="house")
    assert default_eval_config("hierarchical").planner_overrides == {}
    assert default_eval_config("mppi").mpc.action_repeat == 5 and default_eval_config("mppi").goal_stop


def test_oracle_hold_makes_flat_planning_exact_and_fast():
    """Over the maze oracle the flat planner's macro-actions are one-segment holds, equal to stepping."""
    oracle = MazeOracle()
    eps = sample_episodes(4, generator=torch.Generator().manual_seed(2))
    z0 = torch.cat([eps.start, eps.doors.float()], 1)
    actions = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0))
    held = HeldActionModel(oracle, 10).rollout(z0, actions)  # (4, 3, D)
    stepped = oracle.rollout(z0, actions.repeat_interleave(10, dim=1))[:, 9::10]
    torch.testing.assert_close(held, stepped, atol=1e-3, rtol=0)
    planner = make_planner("mppi", HeldActionModel(oracle, 10), goal_distance_cost("l2"), horizon=3, num_samples=8,
                           num_elites=4, iterations=1)
    assert planner.plan(z0, torch.cat([eps.goal, eps.doors.float()], 1)).actions.shape == (4, 3, 2)


def test_cli_eval_runs_the_hierarchical_planner_on_the_maze_oracle(tmp_path):
    out = CliRunner().invoke(app, ["eval", "none", "--oracle", "--planner", "hierarchical", "--episodes", "2",
                                   "--json", str(tmp_path / "r.json"), "--png", str(tmp_path / "r.png"), "env=maze",
                                   "maze.max_steps=10", "planner.depth=2", "planner.width=4"])
    assert out.exit_code == 0, out.output
    assert "planning s per episode" in out.output and (tmp_path / "r.png").stat().st_size > 10_000
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["config"]["env"] == "maze" and report["config"]["mpc"]["action_repeat"] == 5
    assert report["config"]["planner_overrides"] == {"depth": 2, "width": 4}
