"""MPC loop, macro-actions, the Two Rooms oracle and the planning evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from torch import Tensor

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
from jepa_world.envs.two_rooms.render import render, render_trajectories
from jepa_world.eval.episodes import run_mpc
from jepa_world.eval.planning import (
    PlanningEvalConfig,
    evaluate_planning,
    save_episode_gif,
    save_summary_png,
)
from jepa_world.planning.actions import shift_warm_start
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import goal_distance_cost
from jepa_world.planning.mpc import MPCConfig
from jepa_world.planning.protocols import PlanResult, WorldModel
from jepa_world.planning.registry import make_planner


class LinearModel:
    """z' = A z + B a, rolled out step by step."""

    def __init__(self, a_mat: Tensor, b_mat: Tensor) -> None:
        self.a_mat, self.b_mat = a_mat, b_mat  # (D, D), (D, A)

    def encode(self, obs: Tensor) -> Tensor:
        return obs

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return z @ self.a_mat.T + a @ self.b_mat.T

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        z, out = z0, []
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)


def random_layouts(n: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(seed))
    return eps.start, eps.wall_x, eps.door_y


# --- ChunkedWorldModel --------------------------------------------------------------------------


def test_chunked_rollout_equals_repeated_stepping():
    g = torch.Generator().manual_seed(0)
    base = LinearModel(0.3 * torch.randn(4, 4, generator=g), torch.randn(4, 2, generator=g))
    model = ChunkedWorldModel(base, repeat=3)
    z0, actions = torch.randn(5, 4, generator=g), torch.randn(5, 6, 2, generator=g)  # (B, D), (B, T, A)
    z, expected = z0, []
    for t in range(6):
        for _ in range(3):
            z = base.step(z, actions[:, t])
        expected.append(z)
    torch.testing.assert_close(model.rollout(z0, actions), torch.stack(expected, 1))
    torch.testing.assert_close(model.step(z0, actions[:, 0]), expected[0])
    assert isinstance(model, WorldModel)
    torch.testing.assert_close(ChunkedWorldModel(base, 1).rollout(z0, actions), base.rollout(z0, actions))


@pytest.mark.parametrize("repeat", [0, -2, 1.5])
def test_chunked_rejects_bad_repeat(repeat):
    with pytest.raises(ValueError, match="repeat"):
        ChunkedWorldModel(LinearModel(torch.eye(2), torch.eye(2)), repeat)


# --- the oracle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("uint8", [False, True])
def test_oracle_encode_recovers_state(uint8):
    pos, wall_x, door_y = random_layouts(300)
    pos = pos + torch.rand(300, 2) - 0.5  # sub-pixel offsets everywhere in the pixel
    if uint8:
        obs = render_trajectories(pos[:, None], wall_x, door_y, dtype=torch.uint8)[:, 0].float() / 255
    else:
        obs = render(pos, wall_x, door_y)
    z = TwoRoomsOracle().encode(obs)
    assert (z[:, :2] - pos).abs().max() < 0.05  # x = column, y = row
    assert torch.equal(z[:, 2], wall_x.float()) and torch.equal(z[:, 3], door_y.float())


def test_oracle_rollout_matches_environment():
    """Under the strict (noise-free) rule the oracle is the env; the 'ebjepa' rule: test_two_rooms_ebjepa.py."""
    eps = sample_episodes(8, generator=torch.Generator().manual_seed(1))
    env, oracle = TwoRoomsBatch(8, TwoRoomsConfig(physics="strict", walls="arena")), TwoRoomsOracle(physics="strict")
    obs, _ = env.reset(episodes=eps)
    actions = 3.0 * torch.randn(8, 30, 2, generator=torch.Generator().manual_seed(2))  # some exceed the norm
    predicted = oracle.rollout(oracle.encode(obs), actions)  # (8, 30, 4)
    for t in range(30):
        _, info = env.step(actions[:, t])
        assert (predicted[:, t, :2] - info["pos"]).abs().max() < 0.05


# --- the MPC loop -------------------------------------------------------------------------------


def test_oracle_mpc_reaches_goals_through_the_door():
    """MPPI over 10 macro-actions of 10 steps (100-step horizon), cost = distance after the last one."""
    oracle, n = TwoRoomsOracle(physics="strict"), 20
    planner = make_planner("mppi", ChunkedWorldModel(oracle, 10), goal_distance_cost("l2", reduce="last"),
                           horizon=10, num_samples=64, iterations=3)
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(0))
    # the agent stops where its own energy (oracle latents: mse over (x, y, wall_x, door_y)) says it is < 4 px away
    config = MPCConfig(replan_every=10, action_repeat=10, warm_fill="zero", goal_energy=4.0)
    env = TwoRoomsBatch(n, TwoRoomsConfig(physics="strict", walls="arena"))
    result = run_mpc(env, oracle, planner, episodes=eps, config=config, record=True, probe=oracle.probe)
    assert result.success_first_hit.float().mean() >= 0.9 and result.success.float().mean() >= 0.9
    assert len(result.replan_ms) == 20 and min(result.replan_ms) > 0 and result.wall_s > 0
    assert result.distances.shape == (n, 201) and result.positions.shape == (n, 201, 2)
    assert (result.success_first_hit >= result.success).all()  # ending inside means having been inside
    for i in torch.nonzero(result.success_first_hit).flatten().tolist():
        k = int(result.steps_to_success[i])
        assert result.distances[i, k] < geo.SUCCESS_RADIUS <= result.distances[i, :k].min()
        assert result.success[i] == (result.distances[i, -1] < geo.SUCCESS_RADIUS)
    # the oracle is exact: the first plan's decoded path is the executed trajectory
    assert result.planned_paths.shape == (20, n, 101, 2)
    torch.testing.assert_close(result.planned_paths[0, :, :11], result.positions[:, :11], atol=0.05, rtol=0)


class RecordingPlanner:
    """Returns plan number c as actions[n, t, :] = (c, t) and records the warm starts it was given."""

    def __init__(self, horizon: int) -> None:
        self.horizon, self.warm_starts, self.plans = horizon, [], []

    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        self.warm_starts.append(None if warm_start is None else warm_start.clone())
        c, t = float(len(self.plans)), torch.arange(self.horizon, dtype=torch.float32)
        actions = torch.stack([torch.full_like(t, c), t], -1).expand(z0.shape[0], -1, -1) * 0.01  # (N, T, 2)
        self.plans.append(actions)
        return PlanResult(actions=actions, cost=torch.zeros(z0.shape[0]))


@pytest.mark.parametrize("fill", ["last", "zero"])
def test_warm_start_is_the_previous_plan_shifted(fill):
    planner, n = RecordingPlanner(horizon=5), 3
    config = MPCConfig(replan_every=4, action_repeat=2, warm_fill=fill)
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(0))
    run_mpc(TwoRoomsBatch(n), TwoRoomsOracle(), planner, episodes=eps, config=config)
    assert len(planner.plans) == 50 and planner.warm_starts[0] is None
    for prev, warm in zip(planner.plans, planner.warm_starts[1:], strict=False):
        torch.testing.assert_close(warm, shift_warm_start(prev, shift=2, fill=fill))  # 4 steps = 2 macro-actions


def test_run_mpc_rejects_mismatched_inputs():
    oracle, eps = TwoRoomsOracle(), sample_episodes(2, generator=torch.Generator().manual_seed(0))
    planner = make_planner("cem", ChunkedWorldModel(oracle, 5), goal_distance_cost(), horizon=4, num_samples=8,
                           num_elites=2)
    with pytest.raises(ValueError, match="action_repeat"):
        run_mpc(TwoRoomsBatch(2), oracle, planner, episodes=eps, config=MPCConfig(action_repeat=2))
    with pytest.raises(ValueError, match="planned actions"):
        run_mpc(TwoRoomsBatch(2), oracle, planner, episodes=eps, config=MPCConfig(replan_every=30, action_repeat=5))
    with pytest.raises(ValueError, match="replan_every"):
        MPCConfig(replan_every=0)
    with pytest.raises(ValueError, match="warm_fill"):
        MPCConfig(warm_fill="mean")


# --- evaluate_planning --------------------------------------------------------------------------

FAST = {"horizon": 10, "num_samples": 8, "num_elites": 4, "iterations": 1}


def fast_config(**kw) -> PlanningEvalConfig:
    mpc = MPCConfig(replan_every=100, action_repeat=10, warm_fill="zero")
    return PlanningEvalConfig(**{"episodes": 5, "num_envs": 5, "planner_overrides": FAST, "mpc": mpc, **kw})


@pytest.fixture(scope="module")
def report():
    oracle = TwoRoomsOracle()
    return evaluate_planning(oracle, fast_config(num_envs=3), probe=oracle.probe)


def test_episode_set_does_not_depend_on_num_envs(report):
    one = evaluate_planning(TwoRoomsOracle(), fast_config(num_envs=1))
    five = evaluate_planning(TwoRoomsOracle(), fast_config(num_envs=5))
    expected = sample_episodes(5, generator=torch.Generator().manual_seed(0))
    for rep in (one, five, report):
        starts = torch.cat([r.episodes.start for r in rep.results])
        goals = torch.cat([r.episodes.goal for r in rep.results])
        walls = torch.cat([r.episodes.wall_x for r in rep.results])
        assert torch.equal(starts, expected.start) and torch.equal(goals, expected.goal)
        assert torch.equal(walls, expected.wall_x)
    assert [len(r.final_distance) for r in one.results] == [1] * 5


def test_report_fields_are_sane(report):
    assert report.episodes == 5 and report.num_envs == 3 and len(report.results) == 2
    assert len(report.final_distance) == len(report.success) == len(report.steps_to_success) == 5
    assert 0.0 <= report.success_rate <= 1.0
    assert report.success_rate == pytest.approx(sum(report.success) / 5)
    assert 0 <= report.median_final_distance <= 80 and 0 <= report.mean_final_distance <= 80
    assert report.ms_per_replan > 0 and report.ms_per_replan_per_env == pytest.approx(report.ms_per_replan / 3)
    assert report.s_per_episode == pytest.approx(sum(r.wall_s for r in report.results) / 5)
    assert report.s_per_episode_batch > report.s_per_episode
    if report.mean_steps_to_success is not None:
        assert 1 <= report.mean_steps_to_success <= 200
    data = json.loads(json.dumps(report.as_dict()))
    assert data["planner"] == "mppi" and "results" not in data and data["config"]["mpc"]["action_repeat"] == 10
    assert "success rate" in report.table()


def test_bad_eval_configs_name_the_problem():
    with pytest.raises(ValueError, match="valid.*cem"):
        PlanningEvalConfig(planner="rrt")
    with pytest.raises(ValueError, match="horizonn"):
        PlanningEvalConfig(planner_overrides={"horizonn": 3})
    with pytest.raises(ValueError, match="valid"):
        PlanningEvalConfig(cost="cosine")
    with pytest.raises(ValueError, match="horizon=2"):
        PlanningEvalConfig(planner_overrides={"horizon": 2}, mpc=MPCConfig(replan_every=30, action_repeat=10))


def test_gif_and_summary_png_are_written(report, tmp_path):
    result = report.results[0]
    assert result.planned_paths is not None
    save_episode_gif(result, 1, str(tmp_path / "episode.gif"), stride=10)
    save_summary_png(report, result, str(tmp_path / "summary.png"))
    with Image.open(tmp_path / "episode.gif") as gif:
        assert gif.n_frames == 21 and gif.size == (260, 260)
    assert (tmp_path / "summary.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="index"):
        save_episode_gif(result, 3, str(tmp_path / "bad.gif"))


class WallBlindModel:
    """The oracle's encoding, but the agent moves freely through walls: z' = z + (a, 0, 0)."""

    def __init__(self) -> None:
        self.oracle = TwoRoomsOracle()

    def encode(self, obs: Tensor) -> Tensor:
        return self.oracle.encode(obs)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return z + torch.cat([a, torch.zeros_like(a)], dim=-1)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        step = torch.cat([actions, torch.zeros_like(actions)], dim=-1)  # (B, T, 4)
        return z0[:, None] + step.cumsum(dim=1)


class PushRight:
    """Always plans the action (2, 0): into the middle wall for an agent in the left room."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def plan(self, z0: Tensor, goal: Tensor, warm_start: Tensor | None = None) -> PlanResult:
        actions = torch.tensor([2.0, 0.0]).expand(z0.shape[0], self.horizon, 2).clone()
        return PlanResult(actions=actions, cost=torch.zeros(z0.shape[0]))


def _left_room_episodes(n: int):
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(3))
    left = eps.start[:, 0] < eps.wall_x.float()
    eps.start[:, 0] = torch.where(left, eps.start[:, 0], eps.wall_x.float() - 10.0)  # everyone starts left
    eps.start[:, 1] = (eps.door_y.float() + 20.0).where(eps.door_y < 32, eps.door_y.float() - 20.0)  # off the door
    return eps


def test_unpredicted_stalls_trigger_random_escapes_of_the_planned_norm():
    n, config = 6, MPCConfig(replan_every=5, action_repeat=1, stall_ratio=0.5, escape_steps=2)
    eps = _left_room_episodes(n)
    strict = TwoRoomsBatch(n, TwoRoomsConfig(physics="strict"))  # no collision noise: pinned means motionless
    result = run_mpc(strict, WallBlindModel(), PushRight(5), episodes=eps, config=config)
    # after a few replans of pushing the agent is pinned on the wall: the blind model predicts 10 px per replan,
    # the agent moves 0
    assert (result.escapes >= 20).all(), result.escapes  # of 40 replans
    steps = result.positions[:, 1:] - result.positions[:, :-1]  # (N, S, 2) executed displacements
    escaped = steps[:, -5:-3]  # the first 2 steps after the last replan are random escapes...
    assert (escaped.norm(dim=-1) <= 2.0 + 1e-5).all() and (escaped[..., 1].abs() > 1e-3).any()
    assert (steps[:, -3:, 1].abs() < 1e-9).all()  # ...then the plan: pure x pushes, y unchanged


def test_an_exact_model_never_stalls_unpredicted():
    n, config = 6, MPCConfig(replan_every=5, action_repeat=1, stall_ratio=0.5)
    strict = TwoRoomsConfig(physics="strict")  # the exact model of a noise-free rule
    result = run_mpc(TwoRoomsBatch(n, strict), TwoRoomsOracle(physics="strict"), PushRight(5),
                     episodes=_left_room_episodes(n), config=config)
    assert result.escapes.tolist() == [0] * n
    off = run_mpc(TwoRoomsBatch(n, strict), WallBlindModel(), PushRight(5), episodes=_left_room_episodes(n),
                  config=MPCConfig(replan_every=5, action_repeat=1))
    assert off.escapes is None and (off.positions[:, -1, 0] - off.positions[:, -2, 0]).abs().max() < 1e-9


def test_surprise_is_zero_for_the_exact_model_and_the_closed_form_for_a_wall_blind_one():
    n, config = 6, MPCConfig(replan_every=5, action_repeat=1)
    strict = TwoRoomsConfig(physics="strict")
    exact = run_mpc(TwoRoomsBatch(n, strict), TwoRoomsOracle(physics="strict"), PushRight(5),
                    episodes=_left_room_episodes(n), config=config)
    assert exact.surprise.shape == (n, 200 // 5 - 1)
    assert exact.surprise.abs().max() < 1e-8
    blind = run_mpc(TwoRoomsBatch(n, strict), WallBlindModel(), PushRight(5), episodes=_left_room_episodes(n),
                    config=config)
    # pinned on the wall: the model predicts +10 px in x per replan (5 steps of 2 px), the agent moves 0; the
    # latent energy is the mean over the oracle's D dims of the squared error
    d = TwoRoomsOracle().encode(torch.zeros(1, 2, 65, 65)).shape[1]
    torch.testing.assert_close(blind.surprise[:, -1], torch.full((n,), 100.0 / d))
