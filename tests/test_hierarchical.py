"""The high-level model protocol, the latent subgoal search and the hierarchical planner on analytic worlds."""

import math

import pytest
import torch
from torch import Tensor

from jepa_world.envs.free_space import last_free_point
from jepa_world.planning.actions import clip_action_norm
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import goal_distance_cost
from jepa_world.planning.hierarchical import HierarchicalConfig, HierarchicalPlanner, HierarchicalPlanResult
from jepa_world.planning.high_level import HeldActionModel, HighLevelAsWorldModel, HighLevelModel, uniform_ball
from jepa_world.planning.protocols import Planner, WorldModel
from jepa_world.planning.registry import make_planner, search_planner
from jepa_world.planning.subgoal_search import SubgoalSearchConfig, search_subgoals

COST = goal_distance_cost("l2", reduce="last", path_weight=0.1)


class PointMass:
    """z is a 2-D position; an action moves it: step(z, a) = z + a."""

    def encode(self, obs: Tensor) -> Tensor:
        return obs

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return z + a

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        return z0[:, None] + actions.cumsum(dim=1)


class UCorridor:
    """z = (x, y) in a U-shaped corridor of width 2: left bar [0, 2] x [0, 10], bottom bar [0, 10] x [0, 2],
    right bar [8, 10] x [0, 10]; actions of norm <= 1, the Two Rooms collision rule (stop, no sliding).

    From the top of the left bar the goal at the top of the right bar is 8 units to the right, but the only
    way there goes 8 down, 8 right and 8 up: every subgoal path must pass through the bottom bar, while the
    goal distance rewards pushing right into the wall.
    """

    LO = torch.tensor([[0.0, 0.0], [0.0, 0.0], [8.0, 0.0]], dtype=torch.float64)
    HI = torch.tensor([[2.0, 10.0], [10.0, 2.0], [10.0, 10.0]], dtype=torch.float64)

    def __init__(self) -> None:
        self.steps = 0

    def encode(self, obs: Tensor) -> Tensor:
        return obs

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        self.steps += z.shape[0]
        n = z.shape[0]
        return last_free_point(z, clip_action_norm(a, 1.0), self.LO.expand(n, -1, -1), self.HI.expand(n, -1, -1),
                               hops=2)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        z, out = z0, []
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    @classmethod
    def is_free(cls, z: Tensor) -> Tensor:
        """z (..., 2) -> (...,) bool."""
        p = z.unsqueeze(-2).double()
        return ((p >= cls.LO - 1e-6) & (p <= cls.HI + 1e-6)).all(-1).any(-1)


START, GOAL = torch.tensor([1.0, 9.0]), torch.tensor([9.0, 9.0])


class LatentMacroModel:
    """A stand-in for a learned high-level model: 3-D latent macro-actions mapped linearly to 2-D moves."""

    macro_dim, steps_per_macro = 3, 4

    def __init__(self) -> None:
        self.weight = torch.tensor([[2.0, 0.0, 1.0], [0.0, 2.0, -1.0]])
        self.calls = 0

    def step(self, z: Tensor, macro: Tensor) -> Tensor:
        self.calls += 1
        return z + macro @ self.weight.T

    def sample_macros(self, n: int, *, generator: torch.Generator) -> Tensor:
        return torch.randn(n, 3, generator=generator)


def _hier(model, **overrides) -> HierarchicalPlanner:
    cfg = {"horizon": 6, "macro_steps": 3, "depth": 16, "width": 16, "branching": 8, "max_norm": 1.0,
           "high_every": 3, "num_samples": 32, "iterations": 2, **overrides}
    return HierarchicalPlanner(model, COST, HierarchicalConfig(**cfg), make_search=search_planner)


def _closed_loop(planner, model, z: Tensor, goal: Tensor, steps: int, radius: float = 0.5) -> Tensor:
    """MPC on the model itself: plan, execute the first action (none once within ``radius``), repeat
    -> distances to the goal (steps + 1, N)."""
    dists, plan = [(z - goal).norm(dim=1)], None
    for _ in range(steps):
        warm = None if plan is None else torch.cat([plan[:, 1:], torch.zeros_like(plan[:, :1])], 1)
        plan = planner.plan(z, goal, warm).actions
        arrived = (torch.stack(dists).min(dim=0).values < radius)[:, None]
        z = model.step(z, torch.where(arrived, torch.zeros_like(plan[:, 0]), plan[:, 0]))
        dists.append((z - goal).norm(dim=1))
    return torch.stack(dists)


# --- the high-level model protocol -------------------------------------------------------------


def test_held_action_model_shapes_and_protocols():
    high = HeldActionModel(PointMass(), 5, action_dim=2, max_norm=1.0)
    assert isinstance(high, HighLevelModel) and isinstance(high, WorldModel)
    assert (high.macro_dim, high.steps_per_macro, high.repeat) == (2, 5, 5)
    z, macro = torch.randn(7, 2), torch.randn(7, 2)
    torch.testing.assert_close(high.step(z, macro), z + 5 * macro)
    assert high.rollout(z, torch.ones(7, 3, 2)).shape == (7, 3, 2)
    nested = HeldActionModel(high, 2)  # uses high.hold: 10 base steps per macro-action
    torch.testing.assert_close(nested.step(z, macro), z + 10 * macro)
    macros = high.sample_macros(4000, generator=torch.Generator().manual_seed(0))
    assert macros.shape == (4000, 2) and macros.norm(dim=1).max() <= 1.0 + 1e-6
    # uniform in the disc: the fraction inside radius 1/2 is 1/4
    assert abs((macros.norm(dim=1) < 0.5).float().mean().item() - 0.25) < 0.03
    assert uniform_ball(5, 3, 2.0, generator=torch.Generator().manual_seed(0)).shape == (5, 3)
    assert isinstance(LatentMacroModel(), HighLevelModel)
    wm = HighLevelAsWorldModel(LatentMacroModel())
    assert wm.rollout(torch.zeros(2, 2), torch.ones(2, 4, 3)).shape == (2, 4, 2)
    with pytest.raises(ValueError, match="steps"):
        HeldActionModel(PointMass(), 0)


# --- the subgoal search ----------------------------------------------------------------------------


def test_search_finds_the_known_subgoals_of_the_u_corridor():
    """The subgoal path must go down the left bar, along the bottom and up the right bar."""
    n = 4
    high = HeldActionModel(UCorridor(), 3, max_norm=1.0)
    z0, goal = START.expand(n, 2).double(), GOAL.expand(n, 2).double()
    path = search_subgoals(high, z0, goal, cost=COST, config=SubgoalSearchConfig(rounds=16, width=16, branching=8),
                           generator=torch.Generator().manual_seed(0))
    assert path.latents.shape[:2] == (n, int(path.length.max())) and path.macros.shape[2] == 2
    assert (path.cost < 1.0).all()  # the search got to the goal
    for i in range(n):
        way = path.latents[i, : int(path.length[i])]  # (L, 2)
        assert UCorridor.is_free(way).all()
        bottom = torch.nonzero(way[:, 1] <= 2.0).flatten()
        right = torch.nonzero(way[:, 0] >= 8.0).flatten()
        assert len(bottom) and len(right) and bottom[0] < right[0]  # the bottom bar before the right bar
        assert (way[: bottom[0], 0] <= 2.0).all()  # down the left bar first
        # consecutive subgoals are one macro-action (3 steps of norm <= 1) apart
        steps = torch.cat([way[:1] - z0[i], way[1:] - way[:-1]]).norm(dim=1)
        assert steps.max() <= 3.0 + 1e-6
    # the exact model reproduces the path from its macro-actions
    z = z0
    for k in range(path.latents.shape[1]):
        z = high.step(z, path.macros[:, k])
        torch.testing.assert_close(z, path.latents[:, k])


class StaticTail:
    """UCorridor with 50 extra latent dims that never change (like a carried occupancy map)."""

    def __init__(self) -> None:
        self.inner = UCorridor()

    def encode(self, obs: Tensor) -> Tensor:
        return obs

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return torch.cat([self.inner.step(z[:, :2], a), z[:, 2:]], dim=1)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        from jepa_world.nn.rollout import unroll

        return unroll(self.step, z0, actions)


def test_static_latent_dims_do_not_change_the_search():
    """Node distances are taken over the moving dims only: a static tail gives bitwise the same tree path."""
    from jepa_world.planning.subgoal_search import moving_dims

    n, config = 3, SubgoalSearchConfig(rounds=8, width=8, branching=6)
    z0, goal = START.expand(n, 2).double(), GOAL.expand(n, 2).double()
    tail = torch.randn(n, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    plain = search_subgoals(HeldActionModel(UCorridor(), 3, max_norm=1.0), z0, goal, cost=COST, config=config,
                            generator=torch.Generator().manual_seed(0))
    padded = search_subgoals(HeldActionModel(StaticTail(), 3, max_norm=1.0), torch.cat([z0, tail], 1),
                             torch.cat([goal, tail], 1), cost=COST, config=config,
                             generator=torch.Generator().manual_seed(0))
    assert torch.equal(padded.latents[..., :2], plain.latents) and torch.equal(padded.length, plain.length)
    assert torch.equal(padded.latents[..., 2:], tail[:, None].expand(-1, padded.latents.shape[1], -1))
    children = torch.cat([z0, tail], 1)[:, None].repeat(1, 4, 1)
    children[1, 2, 40] += 1.0
    assert moving_dims(children, torch.cat([z0, tail], 1)).tolist() == [40]
    assert moving_dims(children, torch.cat([z0, tail], 1), known=torch.tensor([0, 1])).tolist() == [0, 1, 40]


def test_search_on_an_open_plane_goes_straight():
    high = HeldActionModel(PointMass(), 4, max_norm=1.0)
    goal = torch.tensor([[20.0, 0.0], [0.0, -12.0], [3.0, 4.0]])
    path = search_subgoals(high, torch.zeros(3, 2), goal, cost=COST,
                           config=SubgoalSearchConfig(rounds=8, width=16, branching=8),
                           generator=torch.Generator().manual_seed(1))
    assert (path.cost < 2.5).all()  # cost = 1.1 x the distance (path_weight 0.1)
    # about the fewest macro-actions of length <= 4: 5, 3 and 2
    assert (path.length <= torch.tensor([7, 5, 3])).all()
    assert path.scale.shape == (3,) and 2.0 < path.scale[0] < 4.01


# --- the hierarchical planner -----------------------------------------------------------------------


def test_hierarchical_reaches_the_goal_where_flat_mpc_fails():
    n = 3
    z0, goal = START.expand(n, 2).double(), GOAL.expand(n, 2).double()
    model = UCorridor()
    planner = _hier(model)
    dist = _closed_loop(planner, model, z0, goal, steps=45)
    assert (dist[-1] < 0.5).all()
    flat = make_planner("mppi", model, COST, horizon=6, num_samples=64, iterations=3, max_norm=1.0)
    flat_dist = _closed_loop(flat, model, z0, goal, steps=45)
    assert (flat_dist.min(dim=0).values > 6.0).all()  # pinned against the left bar's wall


def test_plan_result_targets_follow_the_waypoints():
    model = UCorridor()
    planner = _hier(model, high_every=100)  # one search, then tracking only
    z, goal = START[None].double(), GOAL[None].double()
    indices, plan, closest = [], None, float("inf")
    for _ in range(60):
        result = planner.plan(z, goal)
        assert isinstance(result, HierarchicalPlanResult) and isinstance(planner, Planner)
        k = result.waypoints.shape[1]
        torch.testing.assert_close(result.waypoints[:, -1], goal)  # the goal closes the list
        torch.testing.assert_close(result.target, result.waypoints[0, result.target_index])
        indices.append(int(result.target_index))
        plan = result.actions
        z = model.step(z, plan[:, 0])
        closest = min(closest, (z - goal).norm().item())
    assert planner.high_searches == 1
    assert indices == sorted(indices) and indices[0] == 1 and indices[-1] == k - 1  # monotone, up to the goal
    assert closest < 1.0


def test_learned_high_level_model_is_used_and_found_through_wrappers():
    high = LatentMacroModel()
    planner = HierarchicalPlanner(PointMass(), COST, HierarchicalConfig(horizon=4, depth=3, width=4), high_level=high,
                                  make_search=search_planner)
    result = planner.plan(torch.zeros(2, 2), torch.full((2, 2), 6.0))
    assert high.calls == 3 and result.waypoints.shape[2] == 2 and result.actions.shape == (2, 4, 2)

    class WithHigh(PointMass):
        high_level = LatentMacroModel()

    wrapped = ChunkedWorldModel(WithHigh(), 2)
    planner = HierarchicalPlanner(wrapped, COST, HierarchicalConfig(horizon=4, depth=3, width=4, high_level="model"),
                                  make_search=search_planner)
    assert planner.high_level is WithHigh.high_level
    with pytest.raises(ValueError, match="high_level"):
        HierarchicalPlanner(PointMass(), COST, HierarchicalConfig(high_level="model"), make_search=search_planner)


def test_state_resets_with_the_goal_and_sampled_search_runs():
    planner = _hier(PointMass(), high_every=2)
    z = torch.zeros(2, 2)
    for _ in range(3):
        planner.plan(z, torch.ones(2, 2))
    assert planner.high_searches == 2
    planner.plan(z, 2 * torch.ones(2, 2))  # a new goal: a new episode
    assert planner.high_searches == 1
    planner.reset()
    assert planner.high_searches == 0
    sampled = _hier(PointMass(), search="cem", high_samples=32, high_iterations=2)
    result = sampled.plan(z, torch.full((2, 2), 5.0))
    assert result.waypoints.shape[:1] == (2,) and (result.waypoints[:, -1] == 5.0).all()


def test_registry_and_bad_inputs():
    planner = make_planner("hierarchical", PointMass(), COST, horizon=3, depth=2, width=4)
    assert isinstance(planner, HierarchicalPlanner)
    assert planner.plan(torch.zeros(1, 2), torch.ones(1, 2)).actions.shape == (1, 3, 2)
    with pytest.raises(ValueError, match=r"\(2, 3, 2\)"):
        planner.plan(torch.zeros(2, 2), torch.ones(2, 2), warm_start=torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        planner.plan(torch.zeros(2, 2), torch.ones(2, 3))
    for bad, match in [({"low_planner": "rrt"}, "low_planner"), ({"search": "bfs"}, "search"),
                       ({"depth": 0}, "depth"), ({"reach": -1.0}, "reach"), ({"novelty": -0.1}, "novelty")]:
        with pytest.raises(ValueError, match=match):
            HierarchicalConfig(**bad)
    low = make_planner("hierarchical", PointMass(), COST, low_planner="gradient", horizon=3, depth=2, width=4)
    assert low.plan(torch.zeros(1, 2), torch.ones(1, 2)).actions.shape == (1, 3, 2)
    assert math.isfinite(low.plan(torch.zeros(1, 2), torch.ones(1, 2)).cost.item())
