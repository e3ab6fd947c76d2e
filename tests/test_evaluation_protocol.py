"""The control loop sees observations only; success is scored outside it under two named protocols."""

from __future__ import annotations

import inspect

import pytest
import torch

from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
from jepa_world.eval.episodes import run_mpc
from jepa_world.eval.planning import PlanningEvalConfig, evaluate_planning
from jepa_world.eval.protocols import PROTOCOLS, final_success, first_hit_step, first_hit_success
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import goal_distance_cost
from jepa_world.planning.mpc import MPCAgent, MPCConfig
from jepa_world.planning.registry import make_planner


class ScrambledInfo(TwoRoomsBatch):
    """The same env, but every privileged field of ``info`` is replaced by noise, and the actions are logged."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = torch.Generator().manual_seed(123)
        self.actions: list[torch.Tensor] = []

    def _info(self) -> dict:
        info = super()._info()
        n = self.num_envs
        info["pos"] = torch.rand(n, 2, generator=self.noise) * 60
        info["distance"] = torch.rand(n, generator=self.noise) * 60
        info["success"] = torch.rand(n, generator=self.noise) < 0.5
        info["goal_pos"] = torch.rand(n, 2, generator=self.noise) * 60
        return info

    def step(self, actions):
        self.actions.append(actions.clone())
        return super().step(actions)


class LoggedEnv(TwoRoomsBatch):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actions: list[torch.Tensor] = []

    def step(self, actions):
        self.actions.append(actions.clone())
        return super().step(actions)


def _planner(oracle):
    return make_planner("mppi", ChunkedWorldModel(oracle, 5), goal_distance_cost("l2", reduce="last"),
                        horizon=10, num_samples=32, iterations=2)


def test_actions_do_not_depend_on_the_envs_privileged_state():
    """Scrambling the true position/distance the env reports changes nothing the agent does."""
    oracle, n = TwoRoomsOracle(), 4
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(0))
    config = MPCConfig(replan_every=10, action_repeat=5, stall_ratio=0.5)
    short = TwoRoomsConfig(max_steps=60)
    honest, scrambled = LoggedEnv(n, short), ScrambledInfo(n, short)
    run_mpc(honest, oracle, _planner(oracle), episodes=eps, config=config)
    run_mpc(scrambled, oracle, _planner(oracle), episodes=eps, config=config)
    assert len(honest.actions) == 60
    for a, b in zip(honest.actions, scrambled.actions, strict=True):
        assert torch.equal(a, b)


def test_the_agent_accepts_observations_only():
    oracle = TwoRoomsOracle()
    agent = MPCAgent(oracle, _planner(oracle), MPCConfig(replan_every=5, action_repeat=5))
    assert list(inspect.signature(MPCAgent.act).parameters) == ["self", "obs"]
    assert list(inspect.signature(MPCAgent.reset).parameters) == ["self", "goal_obs"]
    env = TwoRoomsBatch(2)
    obs, info = env.reset(seed=0)
    with pytest.raises(TypeError, match="observations"):
        agent.reset(info["goal_pos"])  # a goal position is not a goal observation
    agent.reset(info["goal_obs"])
    for privileged in (info["pos"], info["distance"], info):
        with pytest.raises(TypeError, match="observations"):
            agent.act(privileged)
    assert agent.act(obs).shape == (2, 2)


def test_protocols_on_hand_built_trajectories():
    r = 4.5
    d = torch.tensor([
        [10.0, 6.0, 4.0, 3.0, 2.0],   # arrives and stays: both
        [10.0, 4.0, 6.0, 8.0, 9.0],   # touches and drifts off: first-hit only
        [10.0, 9.0, 8.0, 6.0, 4.4],   # arrives on the last step: both
        [10.0, 9.0, 8.0, 7.0, 4.5],   # ends exactly on the radius: neither (strict <)
        [3.0, 9.0, 9.0, 9.0, 9.0],    # starts inside, leaves: first-hit at step 0
    ])
    assert final_success(d, radius=r).tolist() == [True, False, True, False, False]
    assert first_hit_success(d, radius=r).tolist() == [True, True, True, False, True]
    assert first_hit_step(d, radius=r).tolist() == [2, 1, 4, -1, 0]
    assert set(PROTOCOLS) == {"final", "first-hit"}
    with pytest.raises(ValueError, match="distances"):
        final_success(d[0], radius=r)


def test_goal_stop_is_decided_from_the_agents_own_energy():
    """With goal_energy on, an agent whose latent is at its goal executes zero actions; off, it keeps planning."""
    oracle, n = TwoRoomsOracle(), 3
    eps = sample_episodes(n, generator=torch.Generator().manual_seed(4))
    eps.start = eps.goal.clone()  # start on the goal
    stay = LoggedEnv(n, TwoRoomsConfig(max_steps=20))
    run_mpc(stay, oracle, _planner(oracle), episodes=eps, config=MPCConfig(replan_every=5, action_repeat=5,
                                                                          goal_energy=1.0))
    assert all(bool((a == 0).all()) for a in stay.actions)
    report = evaluate_planning(oracle, PlanningEvalConfig(episodes=2, num_envs=2, planner_overrides={
        "horizon": 10, "num_samples": 32, "iterations": 1}, mpc=MPCConfig(replan_every=50, action_repeat=10)))
    assert 0.0 <= report.success_rate <= report.success_rate_first_hit <= 1.0
    assert set(report.as_dict()["protocols"]) == {"final", "first-hit"}
