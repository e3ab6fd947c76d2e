"""Planner oracles: analytic world models whose optimal plans are known in closed form."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import Tensor

from jepa_world.config import apply_overrides, field_docs
from jepa_world.planning.actions import clip_action_norm, shift_warm_start
from jepa_world.planning.costs import goal_distance_cost, make_cost
from jepa_world.planning.protocols import Planner, PlanResult
from jepa_world.planning.registry import PLANNERS, make_planner, planner_config_cls

MAX_NORM = 2.45
NAMES = sorted(set(PLANNERS) - {"hierarchical"})  # the flat planners; the two-level one: test_hierarchical.py
# A few more iterations than the defaults: each test is a single cold-start plan() call, whereas in
# MPC the warm start carries the search over from one replan to the next.
CONVERGED = {
    "cem": {"iterations": 20},
    "mppi": {"iterations": 20},
    "gradient": {"iterations": 80},
}


class PointMass:
    """z is a 2-D position; an action moves it: step(z, a) = z + a."""

    def encode(self, obs: Tensor) -> Tensor:
        return obs  # (B, 2) -> (B, 2)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return z + a

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        return z0[:, None] + actions.cumsum(dim=1)  # (B, D), (B, T, A) -> (B, T, D)


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


def _goals(n: int, radius: float, seed: int = 0) -> Tensor:
    """n points at distance ``radius`` from the origin in random directions: (n, 2)."""
    angle = torch.rand(n, generator=torch.Generator().manual_seed(seed)) * 2 * math.pi
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def _planner(name: str, model, cost=None, **overrides):
    cost = cost or goal_distance_cost(distance="l2")
    return make_planner(name, model, cost, **{**CONVERGED[name], **overrides})


# ----------------------------------------------------------------------------- point mass


@pytest.mark.parametrize("name", NAMES)
def test_reaches_reachable_goal_within_bound(name):
    horizon, n = 6, 8
    goal = _goals(n, radius=0.5 * horizon * MAX_NORM)  # reachable in 3 of the 6 steps
    planner = _planner(name, PointMass(), horizon=horizon)
    assert isinstance(planner, Planner)
    result = planner.plan(torch.zeros(n, 2), goal)
    assert isinstance(result, PlanResult)
    assert result.actions.shape == (n, horizon, 2) and result.cost.shape == (n,)
    final = result.actions.sum(dim=1)  # (N, 2): the last position
    assert (final - goal).norm(dim=1).max() < 0.25
    assert result.actions.norm(dim=-1).max() <= MAX_NORM + 1e-5
    assert {"iterations", "mean_cost"} <= set(result.stats)


@pytest.mark.parametrize("name", NAMES)
def test_far_goal_first_action_is_full_speed_toward_goal(name):
    horizon, n = 6, 4
    goal = _goals(n, radius=3 * horizon * MAX_NORM, seed=1)  # out of reach: go straight at full speed
    result = _planner(name, PointMass(), horizon=horizon).plan(torch.zeros(n, 2), goal)
    first = result.actions[:, 0]  # (N, 2)
    assert torch.nn.functional.cosine_similarity(first, goal, dim=1).min() > 0.98
    assert torch.allclose(first.norm(dim=1), torch.full((n,), MAX_NORM), rtol=0.03)
    assert result.actions.norm(dim=-1).max() <= MAX_NORM + 1e-5


@pytest.mark.parametrize("name", NAMES)
def test_reported_cost_is_the_cost_of_the_returned_actions(name):
    horizon, n = 5, 3
    cost = goal_distance_cost(distance="mse")
    goal, z0 = _goals(n, radius=4.0, seed=2), torch.randn(n, 2, generator=torch.Generator().manual_seed(3))
    result = make_planner(name, PointMass(), cost, horizon=horizon, iterations=3).plan(z0, goal)
    recomputed = cost(PointMass().rollout(z0, result.actions)[:, None], goal)[:, 0]  # (N,)
    assert torch.allclose(result.cost, recomputed, atol=1e-5)


# ----------------------------------------------------------------------------- linear model


def _linear_problem(seed: int = 0):
    """A stable 3-D linear system driven by 2-D actions, and the matrices of its stacked rollout.

    With a = actions flattened (T*A,), the predicted latents stack as Z = F z0 + G a, (T*D,).
    """
    g = torch.Generator().manual_seed(seed)
    d, a_dim, horizon = 3, 2, 4
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    a_mat, b_mat = 0.9 * q, torch.randn(d, a_dim, generator=g, dtype=torch.float64)
    powers = [torch.linalg.matrix_power(a_mat, k) for k in range(horizon + 1)]
    f = torch.cat([powers[t + 1] for t in range(horizon)])  # (T*D, D)
    big_g = torch.zeros(horizon * d, horizon * a_dim, dtype=torch.float64)  # (T*D, T*A)
    for t in range(horizon):
        for k in range(t + 1):
            big_g[t * d:(t + 1) * d, k * a_dim:(k + 1) * a_dim] = powers[t - k] @ b_mat
    return a_mat.float(), b_mat.float(), f, big_g, horizon


@pytest.mark.parametrize("name", NAMES)
def test_linear_model_matches_least_squares_optimum(name):
    a_mat, b_mat, f, big_g, horizon = _linear_problem()
    g = torch.Generator().manual_seed(5)
    z0, goal = torch.randn(1, 3, generator=g), torch.randn(1, 3, generator=g)
    # sum over the horizon of squared distances: min_a |F z0 + G a - goal stacked T times|^2
    target = goal.double().repeat(1, horizon).T - f @ z0.double().T  # (T*D, 1)
    a_star = torch.linalg.lstsq(big_g, target).solution.reshape(1, horizon, 2).float()
    cost = goal_distance_cost(distance="mse")
    model = LinearModel(a_mat, b_mat)
    best = cost(model.rollout(z0, a_star)[:, None], goal)[:, 0]
    overrides = {"gradient": {"iterations": 200}, "cem": {"iterations": 25}, "mppi": {"iterations": 25}}[name]
    result = make_planner(name, model, cost, horizon=horizon, max_norm=None, **overrides).plan(z0, goal)
    # gradient descent on a convex quadratic is exact; samplers get close in a few dozen iterations
    rel, atol = (1e-4, 1e-3) if name == "gradient" else (0.03, 0.2)
    assert result.cost.item() <= best.item() * (1 + rel) + 1e-5
    assert torch.allclose(result.actions, a_star, atol=atol)


def test_gradient_planner_last_step_least_squares():
    """Last-step cost with D=3 > T*A=2: a unique least-squares optimum with a nonzero residual."""
    g = torch.Generator().manual_seed(7)
    a_mat, b_mat = 0.8 * torch.eye(3) + 0.1 * torch.randn(3, 3, generator=g), torch.randn(3, 1, generator=g)
    z0, goal = torch.randn(1, 3, generator=g), torch.randn(1, 3, generator=g)
    # z_2 = A^2 z0 + A B a_0 + B a_1
    big_g = torch.cat([a_mat @ b_mat, b_mat], dim=1).double()  # (3, 2)
    target = (goal.T - a_mat @ a_mat @ z0.T).double()  # (3, 1)
    a_star = torch.linalg.lstsq(big_g, target).solution.reshape(1, 2, 1).float()
    cost = goal_distance_cost(distance="mse", reduce="last")
    planner = make_planner("gradient", LinearModel(a_mat, b_mat), cost, horizon=2, action_dim=1,
                           max_norm=None, iterations=200)
    result = planner.plan(z0, goal)
    assert torch.allclose(result.actions, a_star, atol=1e-2)
    assert result.cost.item() > 1e-3  # the residual is real: the optimum is not a trivial zero


def test_gradient_planner_leaves_model_parameters_alone():
    net = torch.nn.Linear(4, 2)

    class Learned(PointMass):
        def rollout(self, z0, actions):
            return super().rollout(z0, net(torch.cat([actions, actions], dim=-1)))

    planner = make_planner("gradient", Learned(), goal_distance_cost(), horizon=3, iterations=3)
    with torch.no_grad():  # the planner must still get its gradients
        result = planner.plan(torch.zeros(2, 2), torch.ones(2, 2))
    assert all(p.grad is None for p in net.parameters())
    assert torch.isfinite(result.cost).all() and not result.actions.requires_grad


# ----------------------------------------------------------------------------- batching


def _point_mass_optimal_cost(z0: Tensor, goal: Tensor, horizon: int) -> Tensor:
    """Summed l2 cost of going straight at full speed and then stopping: z0, goal (N, 2) -> (N,)."""
    remaining = (goal - z0).norm(dim=1, keepdim=True) - torch.arange(1, horizon + 1) * MAX_NORM  # (N, T)
    return remaining.clamp_min(0).sum(dim=1)


@pytest.mark.parametrize("name", NAMES)
def test_batched_plan_agrees_with_one_env_at_a_time(name):
    horizon, n = 6, 8
    goal = _goals(n, radius=0.4 * horizon * MAX_NORM, seed=4) + torch.randn(n, 2) * 0.1
    z0 = torch.randn(n, 2, generator=torch.Generator().manual_seed(8))
    joint = _planner(name, PointMass(), horizon=horizon).plan(z0, goal)
    alone = [_planner(name, PointMass(), horizon=horizon).plan(z0[i:i + 1], goal[i:i + 1]) for i in range(n)]
    alone_actions = torch.cat([r.actions for r in alone])  # (N, T, A)
    alone_cost = torch.cat([r.cost for r in alone])  # (N,)
    for actions in (joint.actions, alone_actions):
        assert (z0 + actions.sum(dim=1) - goal).norm(dim=1).max() < 0.25
    optimum = _point_mass_optimal_cost(z0, goal, horizon)  # (N,)
    assert (joint.cost >= optimum - 1e-4).all() and (alone_cost >= optimum - 1e-4).all()
    # samplers end with a residual jitter of about min_std per coordinate once they have arrived
    assert (joint.cost <= 1.1 * optimum + 0.5).all() and (alone_cost <= 1.1 * optimum + 0.5).all()


def test_gradient_planner_without_restarts_is_exactly_batch_invariant():
    horizon, n = 5, 4
    goal, z0 = _goals(n, radius=5.0, seed=9), torch.zeros(n, 2)
    make = lambda: make_planner("gradient", PointMass(), goal_distance_cost(), horizon=horizon,  # noqa: E731
                                num_samples=1, iterations=20)
    joint = make().plan(z0, goal)
    alone = torch.cat([make().plan(z0[i:i + 1], goal[i:i + 1]).actions for i in range(n)])
    assert torch.allclose(joint.actions, alone, atol=1e-6)


# ----------------------------------------------------------------------------- warm start, seeds


def test_shift_warm_start_moves_values_and_pads():
    prev = torch.arange(12.0).reshape(2, 3, 2)  # (N=2, T=3, A=2)
    zero = shift_warm_start(prev, shift=1, fill="zero")
    assert torch.equal(zero[:, :2], prev[:, 1:]) and torch.equal(zero[:, 2], torch.zeros(2, 2))
    last = shift_warm_start(prev, shift=2, fill="last")
    assert torch.equal(last, prev[:, 2:3].expand(2, 3, 2))
    assert torch.equal(shift_warm_start(prev, shift=0), prev)
    with pytest.raises(ValueError, match="shift"):
        shift_warm_start(prev, shift=4)


@pytest.mark.parametrize("name", NAMES)
def test_warm_start_with_optimal_plan_is_never_worsened(name):
    horizon, n = 6, 3
    goal = _goals(n, radius=10 * horizon * MAX_NORM, seed=6)
    optimal = (goal / goal.norm(dim=1, keepdim=True) * MAX_NORM)[:, None].expand(n, horizon, 2).contiguous()
    cost = goal_distance_cost(distance="l2")
    optimal_cost = cost(PointMass().rollout(torch.zeros(n, 2), optimal)[:, None], goal)[:, 0]
    result = make_planner(name, PointMass(), cost, horizon=horizon, iterations=2).plan(
        torch.zeros(n, 2), goal, warm_start=optimal
    )
    assert (result.cost <= optimal_cost + 1e-4).all()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_plan(name):
    goal, z0 = _goals(3, radius=6.0), torch.zeros(3, 2)
    plan = lambda seed: make_planner(name, PointMass(), goal_distance_cost(), horizon=5, iterations=2,  # noqa: E731
                                     seed=seed).plan(z0, goal).actions
    assert torch.equal(plan(0), plan(0))
    assert not torch.equal(plan(0), plan(1))


# ----------------------------------------------------------------------------- costs and bounds


def test_goal_distance_cost_reductions_on_known_values():
    z_traj = torch.tensor([[[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]],
                           [[0.0, 2.0], [0.0, 1.0], [0.0, 0.0]]]).reshape(1, 2, 3, 2)  # (N=1, S=2, T=3, D=2)
    goal = torch.zeros(1, 2)
    # per-step l2 distances: sample 0 -> 5, 0, 1; sample 1 -> 2, 1, 0
    assert torch.allclose(goal_distance_cost(distance="l2")(z_traj, goal), torch.tensor([[6.0, 3.0]]))
    last = goal_distance_cost(distance="l2", reduce="last")(z_traj, goal)
    assert torch.allclose(last, torch.tensor([[1.0, 0.0]]))
    disc = goal_distance_cost(distance="l2", reduce="discounted", discount=0.5)(z_traj, goal)
    assert torch.allclose(disc, torch.tensor([[5.0 + 0.25, 2.0 + 0.5]]))
    # mse = mean over D of squares: sample 0 -> 12.5, 0, 0.5; l1 = mean |.|: sample 0 -> 3.5, 0, 0.5
    assert torch.allclose(make_cost("mse")(z_traj, goal), torch.tensor([[13.0, 2.5]]))
    assert torch.allclose(make_cost("l1", reduce="last")(z_traj, goal), torch.tensor([[0.5, 0.0]]))
    # last + 0.3 * mean over the horizon: sample 0 -> 1 + 0.3 * 2, sample 1 -> 0 + 0.3 * 1
    path = goal_distance_cost(distance="l2", reduce="last", path_weight=0.3)(z_traj, goal)
    assert torch.allclose(path, torch.tensor([[1.6, 0.3]]))
    with pytest.raises(ValueError, match="path_weight"):
        goal_distance_cost(path_weight=-1.0)
    with pytest.raises(ValueError, match="valid"):
        make_cost("cosine")
    with pytest.raises(ValueError, match=r"\(1, 2\)"):
        make_cost("mse")(z_traj, torch.zeros(1, 3))


def test_clip_action_norm_rescales_only_rows_above_the_bound():
    a = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.1, -0.2], [0.0, 0.0]])
    out = clip_action_norm(a, max_norm=1.0)
    assert torch.allclose(out[0].norm(), torch.tensor(1.0))
    assert torch.allclose(out[0], torch.tensor([0.6, 0.8]))
    assert torch.equal(out[1:], a[1:])
    assert torch.equal(clip_action_norm(a, None), a)
    grad_in = a.clone().requires_grad_(True)
    clip_action_norm(grad_in, max_norm=1.0).sum().backward()
    assert torch.isfinite(grad_in.grad).all()


# ----------------------------------------------------------------------------- bad input, registry


@pytest.mark.parametrize("name", NAMES)
def test_bad_shapes_raise_with_the_shapes(name):
    planner = make_planner(name, PointMass(), goal_distance_cost(), horizon=4)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        planner.plan(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(2, 5, 2\)"):
        planner.plan(torch.zeros(2, 2), torch.zeros(2, 2), warm_start=torch.zeros(2, 5, 2))


def test_registry_names_and_configs():
    with pytest.raises(ValueError, match="cem.*gradient.*mppi"):
        make_planner("rrt", PointMass(), goal_distance_cost())
    with pytest.raises(ValueError, match="horizon"):
        make_planner("cem", PointMass(), goal_distance_cost(), horizn=3)
    for name, (planner_cls, config_cls) in PLANNERS.items():
        assert planner_config_cls(name) is config_cls
        assert isinstance(make_planner(name, PointMass(), goal_distance_cost()), planner_cls)
        docs = field_docs(config_cls)
        assert all(docs.get(f.name) for f in dataclasses.fields(config_cls)), f"undocumented field in {name}"
        cfg = apply_overrides(config_cls(), ["max_norm=none", "horizon=3"])
        assert cfg.max_norm is None and cfg.horizon == 3
        assert config_cls().max_norm == MAX_NORM
        with pytest.raises(ValueError):
            config_cls(horizon=0)
