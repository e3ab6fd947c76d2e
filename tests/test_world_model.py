"""World model: encoder/predictor oracles, the loss terms wired as documented, EMA, probe detachment."""

import math

import pytest
import torch

from jepa_world.methods.world_model import JEPAWorldModel, LossWeights, WorldModelConfig
from jepa_world.nn.encoders import ImpalaConfig, ImpalaEncoder, SpatialSoftmax
from jepa_world.nn.predictors import PredictorConfig, build_predictor
from jepa_world.objectives.vicreg import temporal_vicreg_terms
from jepa_world.presets.world_model import measure_input_stats, two_rooms_config


def tiny_config(**kw) -> WorldModelConfig:
    enc = ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=4, flat_dims=3)
    return WorldModelConfig(encoder=enc, predictor=PredictorConfig(latent_dim=8, hidden=16), idm_hidden=16, **kw)


def tiny_batch(b=6, t=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"obs": torch.rand(b, t + 1, 2, 65, 65, generator=g), "actions": torch.randn(b, t, 2, generator=g),
            "positions": torch.rand(b, t + 1, 2, generator=g) * 50 + 7}


def test_spatial_softmax_finds_a_hot_pixel():
    ss = SpatialSoftmax(1, 1)
    with torch.no_grad():
        ss.proj.weight.fill_(1.0)
        ss.proj.bias.zero_()
        ss.log_temperature.fill_(math.log(0.01))  # sharp softmax
    x = torch.zeros(2, 1, 9, 9)
    x[0, 0, 2, 6] = 1.0  # row 2, col 6
    x[1, 0, 8, 0] = 1.0
    kp = ss(x)  # (B, 2K) = (x, y) in [-1, 1]
    grid = torch.linspace(-1, 1, 9)
    assert torch.allclose(kp[0], torch.stack([grid[6], grid[2]]), atol=1e-3)
    assert torch.allclose(kp[1], torch.stack([grid[0], grid[8]]), atol=1e-3)


@pytest.mark.parametrize("kw", [dict(), dict(keypoints=3), dict(keypoints=3, flat_dims=0, channels=(4,)),
                                dict(keypoints=3, flat_dims=2), dict(input_pool=1, channels=(4, 4, 4), blocks=2)])
def test_encoder_shapes(kw):
    cfg = ImpalaConfig(embed_dim=5, **({"channels": (4, 8)} | kw))
    assert ImpalaEncoder(cfg)(torch.rand(3, 2, 65, 65)).shape == (3, 5)


def test_encoder_rejects_bad_input_and_config():
    enc = ImpalaEncoder(ImpalaConfig(channels=(4,), embed_dim=5))
    with pytest.raises(ValueError, match=r"expected obs \(B, 2, 65, 65\)"):
        enc(torch.rand(3, 3, 65, 65))
    with pytest.raises(ValueError, match="flat_dims"):
        ImpalaConfig(keypoints=4, flat_dims=64, embed_dim=64).validate()
    with pytest.raises(ValueError, match="input_std"):
        ImpalaConfig(input_std=(1.0,)).validate()


def test_input_standardisation_is_applied():
    cfg = ImpalaConfig(channels=(4,), embed_dim=5, input_mean=(0.5, 1.0), input_std=(2.0, 4.0))
    enc = ImpalaEncoder(cfg)
    plain = ImpalaEncoder(ImpalaConfig(channels=(4,), embed_dim=5))
    plain.load_state_dict(enc.state_dict())
    obs = torch.rand(2, 2, 65, 65)
    scaled = (obs - torch.tensor([0.5, 1.0]).view(1, 2, 1, 1)) / torch.tensor([2.0, 4.0]).view(1, 2, 1, 1)
    assert torch.allclose(enc(obs), plain(scaled), atol=1e-6)


def test_measured_input_stats_match_the_data():
    mean, std = measure_input_stats(two_rooms_config().data, seed=0)
    assert 0.001 < mean[0] < 0.005 and 0.05 < mean[1] < 0.12  # a small blob vs ~9 % wall pixels
    assert std[1] / std[0] > 4


def test_residual_mlp_starts_as_identity_and_gru_shapes():
    z, a = torch.randn(4, 8), torch.randn(4, 2)
    mlp = build_predictor(PredictorConfig(latent_dim=8, hidden=16))
    assert torch.equal(mlp(z, a), z)  # zero-initialised output layer: "no change" before training
    gru = build_predictor(PredictorConfig(kind="gru", latent_dim=8, hidden=16))
    assert gru(z, a).shape == (4, 8)
    with pytest.raises(ValueError, match=r"z \(B, 8\) and a \(B, 2\)"):
        mlp(z, torch.randn(4, 3))


def test_rollout_equals_repeated_steps():
    wm = JEPAWorldModel(tiny_config())
    torch.nn.init.normal_(wm.predictor.mlp[-1].weight, std=0.3)
    z0, actions = torch.randn(3, 8), torch.randn(3, 5, 2)
    z, expected = z0, []
    for t in range(5):
        z = wm.step(z, actions[:, t])
        expected.append(z)
    assert torch.allclose(wm.rollout(z0, actions), torch.stack(expected, 1))


def test_training_step_combines_the_documented_terms():
    torch.manual_seed(0)
    wm = JEPAWorldModel(tiny_config(probe=False))
    batch = tiny_batch()
    loss, m = wm.training_step(batch, 0)
    z = wm._encode_sequence(batch["obs"], wm.encoder)
    var, cov = temporal_vicreg_terms(z.detach())
    w = wm.config.weights
    assert m["var"] == pytest.approx(var.item(), rel=1e-5) and m["cov"] == pytest.approx(cov.item(), rel=1e-5)
    total = w.pred * m["pred"] + w.var * m["var"] + w.cov * m["cov"] + w.time * m["time"] + w.idm * m["idm"]
    assert loss.item() == pytest.approx(total, rel=1e-5)


def test_probe_gradient_never_reaches_the_encoder():
    wm = JEPAWorldModel(tiny_config(weights=LossWeights(pred=0, var=0, cov=0, time=0, idm=0)))
    loss, _ = wm.training_step(tiny_batch(), 0)  # only the probe's loss is left
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in wm.encoder.parameters())
    assert wm.probe.weight.grad.abs().sum() > 0


def test_ema_target_gets_no_gradient_and_follows_the_online_encoder():
    wm = JEPAWorldModel(tiny_config(target="ema", ema_momentum=0.5))
    assert not any(p.requires_grad for p in wm.target_encoder.parameters())
    loss, _ = wm.training_step(tiny_batch(), 0)
    loss.backward()
    assert all(p.grad is None for p in wm.target_encoder.parameters())
    with torch.no_grad():
        for p in wm.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in wm.target_encoder.parameters()]
    wm.after_optimizer_step(0, 10)  # momentum 0.5 at step 0: halfway to the online weights
    for b, t, o in zip(before, wm.target_encoder.parameters(), wm.encoder.parameters(), strict=True):
        assert torch.allclose(t, 0.5 * b + 0.5 * o, atol=1e-6)


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="latent_dim"):
        WorldModelConfig(predictor=PredictorConfig(latent_dim=7)).validate()
    with pytest.raises(ValueError, match="target"):
        tiny_config(target="teacher").validate()
    with pytest.raises(ValueError, match="negative"):
        tiny_config(weights=LossWeights(var=-1)).validate()


def test_a_few_steps_lower_the_loss():
    from jepa_world.data.stream import TwoRoomsStream
    from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

    torch.manual_seed(0)
    wm = JEPAWorldModel(tiny_config())
    opt = torch.optim.Adam(wm.parameters(), lr=1e-2)
    batch = TwoRoomsStream(16, TwoRoomsDataConfig(length=4), seed=0)(0)
    losses = []
    for _ in range(30):
        loss, _ = wm.training_step(batch, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0]
