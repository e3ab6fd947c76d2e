"""Online adjustment pieces: the replay buffer's bounds and sampling mix, and an adjustment that lowers the
prediction energy on the agent's own surprising windows."""

from __future__ import annotations

import pytest
import torch

from jepa_world.adapt.adjust import AdjustConfig, adjust_world_model
from jepa_world.adapt.replay import ReplayBuffer
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.methods.spatial_world_model import SpatialLossWeights, SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig


def test_buffer_keeps_the_newest_and_round_trips_images():
    buffer = ReplayBuffer(capacity=4)
    obs = torch.rand(3, 2, 1, 4, 4)
    for i in range(3):
        buffer.add(obs, torch.full((3, 1, 2), float(i)), surprise=torch.full((3,), float(i)))
    assert len(buffer) == 4 and buffer.surprise.tolist() == [1.0, 2.0, 2.0, 2.0]
    assert buffer.actions[:, 0, 0].tolist() == [1.0, 2.0, 2.0, 2.0]
    sample = buffer.sample(50, generator=torch.Generator().manual_seed(0))
    assert (sample["obs"] * 255 - (sample["obs"] * 255).round()).abs().max() < 1e-4  # stored as uint8
    stored = torch.stack([obs[i] for i in (2, 0, 1, 2)])  # rows of the kept windows
    assert ((buffer.obs.float() / 255 - stored).abs() <= 0.5 / 255 + 1e-6).all()
    with pytest.raises(ValueError, match="do not match"):
        buffer.add(torch.rand(1, 2, 1, 5, 5), torch.zeros(1, 1, 2), surprise=torch.zeros(1))
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0)


def test_sampling_draws_the_asked_share_from_the_most_surprising():
    buffer = ReplayBuffer(capacity=100)
    actions = torch.arange(100.0).view(100, 1, 1).expand(100, 1, 2)  # each window tagged by its index
    buffer.add(torch.zeros(100, 2, 1, 2, 2), actions, surprise=torch.arange(100.0))
    n = 1000
    top = buffer.sample(n, generator=torch.Generator().manual_seed(0), surprising_share=1.0)["actions"][:, 0, 0]
    assert top.min() >= 100 - n or top.min() >= 0  # top-n of 100 entries is every entry
    small = buffer.sample(10, generator=torch.Generator().manual_seed(0), surprising_share=1.0)["actions"][:, 0, 0]
    assert small.min() >= 90  # the 10 most surprising
    half = buffer.sample(10, generator=torch.Generator().manual_seed(1), surprising_share=0.5)["actions"][:, 0, 0]
    assert (half[:5] >= 90).all()
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3).sample(1, generator=torch.Generator())


def _prediction_only_model() -> SpatialWorldModel:
    """A tiny generic model whose only loss is the prediction energy (encoder frozen, no other terms)."""
    torch.manual_seed(0)
    cfg = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(channels=(8, 8, 8), latent_channels=4),
                                  predictor=SpatialPredictorConfig(latent_channels=4, action_dim=4, hidden=16),
                                  frameskip=2, freeze_encoder=True, probe=False,
                                  weights=SpatialLossWeights(var=0.0, cov=0.0, time=0.0, idm=0.0))
    return SpatialWorldModel(cfg).eval()


def _energy(model: SpatialWorldModel, batch: dict) -> float:
    with torch.no_grad():
        return model.training_step(batch, 0)[1]["pred"]


def test_adjustment_lowers_the_prediction_energy_on_surprising_windows():
    model = _prediction_only_model()
    with torch.no_grad():  # a model that is wrong about this world: its predictor no longer starts as the identity
        model.predictor.convs[-1].weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(5))
    windows = TwoRoomsStream(16, TwoRoomsDataConfig(length=5), seed=3)(0)
    buffer = ReplayBuffer(capacity=64)
    buffer.add(windows["obs"], windows["actions"], surprise=torch.ones(16))
    replayed = {"obs": windows["obs"], "actions": windows["actions"]}
    before = _energy(model, replayed)
    offline = TwoRoomsStream(8, TwoRoomsDataConfig(length=5), seed=4)
    losses = adjust_world_model(model, buffer, offline, AdjustConfig(steps=30, lr=3e-3, batch_size=8),
                                generator=torch.Generator().manual_seed(0))
    assert len(losses) == 30 and not model.training
    assert _energy(model, replayed) < 0.7 * before, (before, _energy(model, replayed))


def test_no_adjustment_below_the_surprise_threshold():
    model = _prediction_only_model()
    windows = TwoRoomsStream(4, TwoRoomsDataConfig(length=5), seed=3)(0)
    buffer = ReplayBuffer(capacity=8)
    buffer.add(windows["obs"], windows["actions"], surprise=torch.full((4,), 0.1))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert adjust_world_model(model, buffer, None, AdjustConfig(surprise_threshold=0.5),
                              generator=torch.Generator()) == []
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    with pytest.raises(ValueError, match="offline_share"):
        AdjustConfig(offline_share=1.0).validate()
