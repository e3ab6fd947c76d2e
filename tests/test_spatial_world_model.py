"""The generic (spatial-latent) world model: equivariance, frameskip chunks, holds, and every planner on its latent."""

from __future__ import annotations

import pytest
import torch

from jepa_world.eval.planning import build_planner, default_eval_config
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.spatial_encoder import SpatialEncoder, SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictor, SpatialPredictorConfig
from jepa_world.planning.registry import PLANNERS


def tiny_model(frameskip: int = 2, **fields) -> SpatialWorldModel:
    torch.manual_seed(0)
    cfg = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(channels=(4, 4, 4), latent_channels=3, blocks=0),
                                  predictor=SpatialPredictorConfig(latent_channels=3, action_dim=2 * frameskip,
                                                                   hidden=6),
                                  frameskip=frameskip, idm_hidden=4, **fields)
    return SpatialWorldModel(cfg)


def randomize(module: torch.nn.Module) -> None:
    """Non-zero weights everywhere (the predictor starts as the identity map)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.3)


def test_predictor_is_translation_equivariant_away_from_the_border():
    pred = SpatialPredictor(SpatialPredictorConfig(latent_channels=3, action_dim=2, hidden=5, depth=3))
    randomize(pred)
    z = torch.zeros(2, 3, 21, 21)
    z[:, :, 7:12, 6:13] = torch.randn(2, 3, 5, 7)
    a = torch.randn(2, 2)
    dy, dx = 2, -3
    shifted_in = torch.roll(z, (dy, dx), dims=(2, 3))
    out, out_shifted = pred(z, a), pred(shifted_in, a)
    # cells whose 7 x 7 receptive field (3 convs) stays off the zero padding, where they are and where they came from
    rows, cols = slice(3 + dy, 18), slice(3, 18 + dx)
    expected = torch.roll(out, (dy, dx), dims=(2, 3))
    torch.testing.assert_close(out_shifted[:, :, rows, cols], expected[:, :, rows, cols], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out_shifted[:, :, rows, cols], out[:, :, rows, cols], atol=1e-3)  # it did move


def test_predictor_action_field_is_the_same_at_every_cell():
    pred = SpatialPredictor(SpatialPredictorConfig(latent_channels=2, action_dim=3, hidden=4, depth=2))
    randomize(pred)
    out = pred(torch.zeros(1, 2, 9, 9), torch.randn(1, 3))  # a blank latent: only the action acts
    interior = out[0, :, 2:7, 2:7]
    torch.testing.assert_close(interior, interior[:, :1, :1].expand_as(interior))


def test_encoder_shift_by_its_stride_shifts_the_latent_by_one_cell():
    enc = SpatialEncoder(SpatialEncoderConfig(in_channels=1, image_size=65, channels=(3, 3, 3), latent_channels=2,
                                              blocks=0))
    randomize(enc)
    img = torch.zeros(1, 1, 65, 65)
    img[0, 0, 24:30, 20:27] = torch.rand(6, 7)
    moved = torch.roll(img, (8, 8), dims=(2, 3))  # 3 stride-2 stages: 8 px = 1 cell
    z, z_moved = enc(img), enc(moved)
    torch.testing.assert_close(z_moved[..., 2:8, 2:8], z[..., 1:7, 1:7], atol=1e-5, rtol=1e-5)


def test_subsample_reads_every_kth_frame_and_chunks_actions_in_time_order():
    wm = tiny_model(frameskip=2)
    obs = torch.arange(5.0).view(1, 5, 1, 1, 1).expand(1, 5, 2, 65, 65)
    actions = torch.arange(8.0).view(1, 4, 2)
    out = wm.subsample({"obs": obs, "actions": actions, "positions": torch.zeros(1, 5, 2)})
    assert out["obs"][0, :, 0, 0, 0].tolist() == [0.0, 2.0, 4.0]
    assert out["actions"].tolist() == [[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]]
    with pytest.raises(ValueError, match="T \\* 2"):
        wm.subsample({"obs": obs[:, :4], "actions": actions[:, :3]})


def test_hold_equals_stepping_the_repeated_chunk():
    wm = tiny_model(frameskip=2)
    randomize(wm.predictor)
    z = torch.randn(3, wm.latent_dim)
    a = torch.randn(3, 2)
    chunk = torch.cat([a, a], dim=1)
    torch.testing.assert_close(wm.hold(z, a, steps=4), wm.step(wm.step(z, chunk), chunk))
    with pytest.raises(ValueError, match="multiple of the frameskip 2"):
        wm.hold(z, a, steps=3)


def test_training_lowers_the_loss_and_features_need_a_frozen_encoder():
    wm = tiny_model(frameskip=2)
    g = torch.Generator().manual_seed(0)
    batch = {"obs": torch.rand(4, 5, 2, 65, 65, generator=g), "actions": torch.randn(4, 4, 2, generator=g),
             "positions": torch.rand(4, 5, 2, generator=g) * 60}
    opt = torch.optim.Adam([p for p in wm.parameters() if p.requires_grad], lr=1e-2)
    first = None
    for step in range(15):
        loss, metrics = wm.training_step(batch, step)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first
    assert {"pred", "var", "cov", "time", "idm", "probe_px"} <= set(metrics)
    features = torch.zeros(4, 3, wm.latent_dim)
    with pytest.raises(ValueError, match="freeze_encoder"):
        wm.training_step({**batch, "features": features}, 0)


@pytest.mark.parametrize("planner", sorted(PLANNERS))
def test_every_planner_plans_over_the_spatial_latent(planner):
    wm = tiny_model(frameskip=5).eval()
    randomize(wm.predictor)
    config = default_eval_config(planner, num_envs=3)
    small = {"horizon": 2, "num_samples": 8, "iterations": 1}
    small.update({"num_elites": 4} if planner in ("cem", "mppi") else {})
    small.update({"num_elites": 4, "depth": 2, "width": 4} if planner == "hierarchical" else {})
    config.planner_overrides.update(small)
    plan = build_planner(wm, config)
    obs = torch.rand(3, 2, 65, 65)
    with torch.no_grad():
        z0, goal = wm.encode(obs), wm.encode(obs.flip(-1))
        result = plan.plan(z0, goal)
    assert z0.shape == (3, wm.latent_dim)
    assert result.actions.shape[0] == 3 and result.actions.shape[2] == 2
    assert torch.isfinite(result.actions).all() and torch.isfinite(result.cost).all()


def test_stall_escapes_predict_the_executed_steps_as_frameskip_chunks():
    """The loop checks its own prediction of the steps executed since the last plan: for a frameskip model
    they are fed as chunks; an observation that never changes while the model predicts motion is a stall."""
    from jepa_world.planning.mpc import MPCAgent, MPCConfig

    wm = tiny_model(frameskip=5).eval()
    randomize(wm.predictor)
    config = default_eval_config("mppi", num_envs=2)
    config.planner_overrides.update(horizon=2, num_samples=8, num_elites=4, iterations=1)
    agent = MPCAgent(wm, build_planner(wm, config),
                     MPCConfig(replan_every=5, action_repeat=5, stall_ratio=0.5, escape_steps=2))
    obs = torch.rand(2, 2, 65, 65)
    with torch.no_grad():
        agent.reset(obs.flip(-1))
        actions = [agent.act(obs) for _ in range(11)]  # plans at steps 0, 5, 10: two checks of 5 executed steps
    assert all(a.shape == (2, 2) for a in actions)
    assert agent.escapes is not None and agent.escapes.tolist() == [2, 2]


def test_blurred_cost_needs_a_spatial_latent_and_keeps_the_plain_cost_at_blur_one():
    from jepa_world.planning.blurred_cost import BlurredCost
    from jepa_world.planning.costs import make_cost

    wm = tiny_model(frameskip=5)
    config = default_eval_config("mppi", blurs=(1, 3))
    assert isinstance(build_planner(wm, config).cost, BlurredCost)

    class Flat:
        def encode(self, obs): return obs.flatten(1)
        def step(self, z, a): return z
        def rollout(self, z0, actions): return z0[:, None].expand(-1, actions.shape[1], -1)

    with pytest.raises(ValueError, match="spatial latent"):
        build_planner(Flat(), config)
    plain = make_cost("mse", reduce="last")
    z, goal = torch.randn(2, 3, 4, wm.latent_dim), torch.randn(2, wm.latent_dim)
    torch.testing.assert_close(BlurredCost(plain, wm.latent_shape, blurs=(1,))(z, goal), plain(z, goal))
