"""Planning over the moving part of a latent (planning/moving.py): exact against the full-latent path."""

import pytest
import torch
from torch import Tensor

from jepa_world.methods.keypoint_world_model import KeypointWorldModel, KeypointWorldModelConfig
from jepa_world.nn.keypoint_map import KeypointMapConfig
from jepa_world.nn.raymarch import RayMarchConfig
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import goal_distance_cost, sequence_cost
from jepa_world.planning.high_level import HeldActionModel
from jepa_world.planning.moving import moving_rollout
from jepa_world.planning.subgoal_search import SubgoalSearchConfig, search_subgoals


def _model() -> KeypointWorldModel:
    torch.manual_seed(0)
    cfg = KeypointWorldModelConfig(encoder=KeypointMapConfig(map_size=8),
                                   predictor=RayMarchConfig(map_size=8, grid=32, init_action_scale=2.0))
    model = KeypointWorldModel(cfg).eval()
    with torch.no_grad():  # a map with walls: random logits of both signs, large enough to block
        model.predictor.log_sharpness.fill_(1.0)
    return model


def _latents(model: KeypointWorldModel, n: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(n, 2, generator=g) * 32
    occupancy = torch.randn(n, 64, generator=g) * 3 - 3  # mostly free, some walls
    return torch.cat([kp, occupancy], dim=1)


class FullOnly:
    """The same world model without the moving-dims fast path (the reference)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def encode(self, obs: Tensor) -> Tensor:
        return self.inner.encode(obs)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return self.inner.step(z, a)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        return self.inner.rollout(z0, actions)


def test_rollout_moving_equals_the_full_rollout_for_every_candidate():
    model = _model()
    z0 = _latents(model, 3, seed=1)
    actions = torch.randn(3 * 4, 5, 2, generator=torch.Generator().manual_seed(2))  # 4 candidates per env
    full = HeldActionModel(model, 3).rollout(z0.repeat_interleave(4, 0), actions)  # (12, 5, D)
    with torch.no_grad():
        fast = model.rollout_moving(z0, actions, repeat=3)
        assert torch.allclose(fast, full[..., :2], atol=1e-5)
        starts = torch.rand(12, 2, generator=torch.Generator().manual_seed(3)) * 32  # own start per candidate
        own = model.rollout_moving(z0, actions, repeat=3, moving=starts)
    ref = HeldActionModel(model, 3).rollout(torch.cat([starts, z0.repeat_interleave(4, 0)[:, 2:]], 1), actions)
    assert torch.allclose(own, ref[..., :2], atol=1e-5)
    assert not torch.allclose(own, fast)  # the starts mattered
    with pytest.raises(ValueError, match="N\\*C"):
        model.rollout_moving(z0, actions[:10], repeat=3)


@pytest.mark.parametrize("distance", ["mse", "l2", "l1"])
@pytest.mark.parametrize("reduce", ["last", "sum", "discounted"])
@pytest.mark.parametrize("wrap", ["held", "chunked", "plain"])
def test_sequence_cost_is_the_same_with_and_without_the_fast_path(distance, reduce, wrap):
    model = _model()
    world = {"held": lambda m: HeldActionModel(m, 5), "chunked": lambda m: ChunkedWorldModel(m, 3),
             "plain": lambda m: m}[wrap]
    z0, goal = _latents(model, 3, seed=4), _latents(model, 3, seed=5)  # the goal's map differs from z0's
    actions = torch.randn(3, 16, 4, 2, generator=torch.Generator().manual_seed(6))
    cost = goal_distance_cost(distance, reduce=reduce, path_weight=0.5)
    assert moving_rollout(world(model)) is not None and moving_rollout(world(FullOnly(model))) is None
    with torch.no_grad():
        fast = sequence_cost(world(model), cost, z0=z0, goal=goal, actions=actions)
        slow = sequence_cost(world(FullOnly(model)), cost, z0=z0, goal=goal, actions=actions)
    assert torch.allclose(fast, slow, rtol=1e-5, atol=1e-5)
    assert fast.std() > 0  # candidates differ: the check is not vacuous


def test_the_fast_path_keeps_gradients_for_the_gradient_planner():
    model = _model()
    z0, goal = _latents(model, 2, seed=7), _latents(model, 2, seed=8)
    actions = torch.randn(2, 4, 3, 2, generator=torch.Generator().manual_seed(9))
    cost = goal_distance_cost("l2", reduce="sum")
    grads = []
    for world in (HeldActionModel(model, 2), HeldActionModel(FullOnly(model), 2)):
        leaf = actions.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(sequence_cost(world, cost, z0=z0, goal=goal, actions=leaf).sum(), leaf)
        grads.append(grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-3) and grads[0].abs().sum() > 0


def test_a_plain_callable_cost_takes_the_full_latent_path():
    model = _model()
    z0, goal = _latents(model, 2, seed=10), _latents(model, 2, seed=11)
    actions = torch.randn(2, 8, 3, 2, generator=torch.Generator().manual_seed(12))
    seen = []

    def cost(z_traj: Tensor, g: Tensor) -> Tensor:
        seen.append(z_traj.shape[-1])
        return (z_traj - g[:, None, None]).pow(2).sum(-1).sum(-1)

    with torch.no_grad():
        sequence_cost(HeldActionModel(model, 2), cost, z0=z0, goal=goal, actions=actions)
    assert seen == [z0.shape[1]]


def test_subgoal_search_on_moving_dims_finds_the_same_tree():
    model = _model()
    z0, goal = _latents(model, 3, seed=13), _latents(model, 3, seed=14)
    cfg = SubgoalSearchConfig(rounds=5, width=8, branching=6)
    cost = goal_distance_cost("l2", reduce="last")
    paths = [search_subgoals(HeldActionModel(m, 3, max_norm=2.0), z0, goal, cost=cost, config=cfg,
                             generator=torch.Generator().manual_seed(0)) for m in (model, FullOnly(model))]
    fast, slow = paths
    assert torch.equal(fast.length, slow.length) and torch.equal(fast.nodes, slow.nodes)
    assert fast.latents.shape == slow.latents.shape and fast.latents.shape[2] == z0.shape[1]
    assert torch.allclose(fast.latents, slow.latents, atol=1e-5)
    assert torch.allclose(fast.cost, slow.cost, rtol=1e-5)
    assert int(fast.length.max()) > 0
