"""The generative (pixel-predicting) world model baseline and planning in pixel space."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.config import from_dict, to_dict
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.eval.planning import PlanningEvalConfig, build_planner, default_eval_config, evaluate_planning
from jepa_world.methods.pixel_world_model import PixelWorldModel, PixelWorldModelConfig
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.objectives.gaussian_kl import gaussian_kl
from jepa_world.planning.actions import chunk_actions
from jepa_world.planning.costs import make_cost
from jepa_world.planning.mpc import MPCConfig
from jepa_world.planning.pixel_space import PixelSpaceModel
from jepa_world.planning.protocols import DecodingModel, FrameskipModel, HoldingModel, WorldModel
from jepa_world.planning.registry import PLANNERS

runner = CliRunner()


def shapes(frameskip: int = 2) -> dict:
    return {"encoder": SpatialEncoderConfig(channels=(4, 4, 4), latent_channels=3, blocks=0),
            "predictor": SpatialPredictorConfig(latent_channels=3, action_dim=2 * frameskip, hidden=6),
            "frameskip": frameskip}


def tiny_model(frameskip: int = 2, **fields) -> PixelWorldModel:
    torch.manual_seed(0)
    return PixelWorldModel(PixelWorldModelConfig(**shapes(frameskip), decoder_channels=(4, 4, 4), decoder_blocks=0,
                                                 **fields))


def randomize(module: torch.nn.Module) -> None:
    """Non-zero weights everywhere (the predictor starts as the identity map)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.3)


def test_world_model_verbs_and_capabilities_have_the_documented_shapes():
    wm = tiny_model(frameskip=2)
    assert isinstance(wm, WorldModel) and isinstance(wm, HoldingModel) and isinstance(wm, FrameskipModel)
    assert isinstance(wm, DecodingModel) and wm.frame_shape == (2, 65, 65)
    obs = torch.rand(3, 2, 65, 65)
    z = wm.encode(obs)
    assert z.shape == (3, wm.latent_dim) and wm.latent_shape == (3, 9, 9)
    assert wm.step(z, torch.zeros(3, 4)).shape == (3, 243)
    assert wm.rollout(z, torch.zeros(3, 5, 4)).shape == (3, 5, 243)
    assert wm.hold(z, torch.zeros(3, 2), steps=6).shape == (3, 243)
    assert wm.decode(z).shape == (3, 2, 65, 65) and wm.decode_position(z).shape == (3, 2)
    assert wm.diagnostic_embeddings({"obs": obs[:, None]}).shape == (3 * 81, 3)


def test_encoder_predictor_and_frameskip_are_the_generic_models():
    """With the generic model's encoder and predictor weights, encode, rollout and the window chunking agree."""
    pixel = tiny_model(frameskip=2)
    spatial = SpatialWorldModel(SpatialWorldModelConfig(**shapes(2)))
    randomize(spatial)
    pixel.encoder.load_state_dict(spatial.encoder.state_dict())
    pixel.predictor.load_state_dict(spatial.predictor.state_dict())
    obs, actions = torch.rand(2, 2, 65, 65), torch.randn(2, 3, 4)
    z = pixel.encode(obs)
    torch.testing.assert_close(z, spatial.encode(obs))
    torch.testing.assert_close(pixel.rollout(z, actions), spatial.rollout(z, actions))
    batch = {"obs": torch.rand(2, 7, 2, 65, 65), "actions": torch.randn(2, 6, 2), "positions": torch.rand(2, 7, 2)}
    for key, value in pixel.subsample(batch).items():
        torch.testing.assert_close(value, spatial.subsample(batch)[key])


def test_hold_equals_the_rollout_of_the_chunked_held_actions():
    wm = tiny_model(frameskip=2)
    randomize(wm.predictor)
    z, a = torch.randn(3, wm.latent_dim), torch.randn(3, 2)
    chunks = chunk_actions(a[:, None].expand(3, 6, 2), 2)  # 6 env steps of a -> 3 chunks (3, 3, 4)
    torch.testing.assert_close(wm.hold(z, a, steps=6), wm.rollout(z, chunks)[:, -1])
    with pytest.raises(ValueError, match="multiple of the frameskip 2"):
        wm.hold(z, a, steps=3)


def test_pixel_loss_lowers_the_loss_on_a_fixed_batch_and_reaches_the_encoder():
    wm = tiny_model(frameskip=2)
    g = torch.Generator().manual_seed(0)
    batch = {"obs": torch.rand(4, 5, 2, 65, 65, generator=g), "actions": torch.randn(4, 4, 2, generator=g),
             "positions": torch.rand(4, 5, 2, generator=g) * 60}
    opt = torch.optim.Adam(wm.parameters(), lr=1e-2)
    losses = []
    for step in range(15):
        loss, metrics = wm.training_step(batch, step)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            assert wm.encoder.head.weight.grad.abs().sum() > 0  # no stop-gradient: the pixel loss trains the encoder
            assert wm.probe.weight.grad.abs().sum() > 0
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert set(metrics) == {"recon", "pred", "probe_px"}


def test_kl_is_the_closed_form_and_the_vae_encodes_its_mean():
    mean, log_var = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    reference = torch.distributions.kl_divergence(torch.distributions.Normal(mean, (0.5 * log_var).exp()),
                                                   torch.distributions.Normal(0.0, 1.0)).mean()
    torch.testing.assert_close(gaussian_kl(mean=mean, log_var=log_var), reference)
    assert float(gaussian_kl(mean=torch.zeros(3), log_var=torch.zeros(3))) == 0.0

    wm = tiny_model(frameskip=2, kl_weight=0.5)
    obs = torch.rand(4, 5, 2, 65, 65)
    batch = {"obs": obs, "actions": torch.randn(4, 4, 2)}
    _, metrics = wm.training_step(batch, 0)
    stats = wm.encoder(obs[:, 0])  # (B, 2 C', h, w): the current frame's mean then log-variance channels
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(stats[:, :3], (0.5 * stats[:, 3:]).exp()), torch.distributions.Normal(0.0, 1.0))
    assert metrics["kl"] == pytest.approx(float(expected.mean().detach()), rel=1e-5)
    torch.testing.assert_close(wm.encode(obs[:, 0]), wm.encoder(obs[:, 0])[:, :3].flatten(1))


def test_decoder_reconstructs_held_out_frames_better_than_the_mean_frame():
    """A small model trained 250 steps on Two Rooms windows reconstructs frames of another data seed better than
    the training frames' mean frame does, in both channels (agent and walls); untrained, it does not."""
    torch.manual_seed(0)
    data = TwoRoomsDataConfig(length=2)
    stream = TwoRoomsStream(8, data, seed=0)
    train_frames = torch.cat([stream(k)["obs"][:, 0] for k in range(40)])  # (320, 2, 65, 65) of the training batches
    mean, std = train_frames.mean(dim=(0, 2, 3)), train_frames.std(dim=(0, 2, 3))
    encoder = SpatialEncoderConfig(channels=(8, 8, 8), latent_channels=4, blocks=0, input_mean=tuple(mean.tolist()),
                                   input_std=tuple(std.tolist()))
    wm = PixelWorldModel(PixelWorldModelConfig(encoder=encoder, decoder_blocks=0, frameskip=1,
                                               predictor=SpatialPredictorConfig(latent_channels=4, action_dim=2,
                                                                                hidden=8)))
    held_out = TwoRoomsStream(64, data, seed=1)(0)["obs"][:, 0]  # (64, 2, 65, 65)
    mean_frame_mse = (held_out - train_frames.mean(0)).pow(2).mean(dim=(0, 2, 3))  # (2,) per channel

    def reconstruction_mse() -> torch.Tensor:
        with torch.no_grad():
            return (wm.decode(wm.encode(held_out)) - held_out).pow(2).mean(dim=(0, 2, 3))

    assert reconstruction_mse().sum() > mean_frame_mse.sum()
    opt = torch.optim.Adam(wm.parameters(), lr=5e-3)
    for step in range(250):
        loss, _ = wm.training_step(stream(step), step)
        opt.zero_grad()
        loss.backward()
        opt.step()
    mse = reconstruction_mse()
    assert (mse < mean_frame_mse).all(), (mse, mean_frame_mse)
    assert mse.sum() < 0.7 * mean_frame_mse.sum(), (mse, mean_frame_mse)


class FrameIsLatent:
    """A decoding world model whose latent is the frame itself and whose step leaves it unchanged."""

    frame_shape = (2, 65, 65)

    def encode(self, obs):
        return obs.flatten(1)

    def decode(self, z):
        return z.view(-1, *self.frame_shape)

    def step(self, z, a):
        return z

    def rollout(self, z0, actions):
        return z0[:, None].expand(-1, actions.shape[1], -1)


def test_pixel_space_cost_is_zero_at_the_goal_image_and_ranks_a_shifted_one_higher():
    view = PixelSpaceModel(FrameIsLatent())
    goal_obs = torch.zeros(1, 2, 65, 65)
    goal_obs[0, 0, 30:34, 20:24] = 1.0
    goal_obs[0, 1, :, 32] = 1.0
    goal = view.encode(goal_obs)
    torch.testing.assert_close(view.encode(goal_obs.clone()), goal)
    shifted = view.encode(goal_obs.roll(3, dims=-1))
    cost = make_cost("l2", reduce="last")
    actions = torch.zeros(1, 2, 2)
    paths = torch.stack([view.rollout(goal, actions), view.rollout(shifted, actions)], dim=1)  # (1, S=2, T, P)
    costs = cost(paths, goal)[0]
    assert float(costs[0]) == 0.0 and float(costs[1]) > 0.0


def test_pooled_pixel_latent_undoes_itself_on_block_constant_frames():
    view = PixelSpaceModel(FrameIsLatent(), pool=2)
    blocks = torch.rand(2, 2, 33, 33)
    frame = blocks.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)[:, :, :65, :65]  # (2, 2, 65, 65)
    z = view.encode(frame)
    assert z.shape == (2, 2 * 33 * 33)
    torch.testing.assert_close(z, blocks.flatten(1))
    torch.testing.assert_close(view.frames(z), frame)


def test_pixel_space_rollout_decodes_the_models_latent_rollout():
    """Held actions stay in the model's latent: decode(hold(encode(frame))) per action, never re-encoded between."""
    wm = tiny_model(frameskip=2).eval()
    randomize(wm.predictor)
    view = PixelSpaceModel(wm, repeat=4)
    obs, actions = torch.rand(2, 2, 65, 65), torch.randn(2, 3, 2)
    with torch.no_grad():
        expected, z = [], wm.encode(obs)
        for t in range(3):
            z = wm.hold(z, actions[:, t], steps=4)
            expected.append(wm.decode(z).flatten(1))
        torch.testing.assert_close(view.rollout(view.encode(obs), actions), torch.stack(expected, dim=1))
    assert PixelSpaceModel(wm).frameskip == 2 and view.frameskip == 1  # view's actions: env actions held 4 steps


def test_chunked_decoding_changes_nothing(monkeypatch):
    from jepa_world.planning import pixel_space

    wm = tiny_model(frameskip=2).eval()
    randomize(wm.predictor)
    view = PixelSpaceModel(wm, pool=2)
    z0, actions = view.encode(torch.rand(3, 2, 65, 65)), torch.randn(3, 4, 4)
    with torch.no_grad():
        whole = view.rollout(z0, actions)
        monkeypatch.setattr(pixel_space, "DECODE_CHUNK", 5)  # 12 frames -> chunks of 5, 5, 2
        torch.testing.assert_close(view.rollout(z0, actions), whole)


def test_space_is_validated_defaults_to_latent_in_old_configs_and_needs_a_decoder():
    saved = to_dict(PlanningEvalConfig(episodes=2, num_envs=2))
    del saved["space"], saved["pixel_pool"]
    old = from_dict(PlanningEvalConfig, saved)
    assert (old.space, old.pixel_pool) == ("latent", 1)
    for bad in ({"space": "pixels"}, {"space": "pixel", "pixel_pool": 0}):
        with pytest.raises(ValueError, match="space must be 'latent' or 'pixel' and pixel_pool >= 1"):
            PlanningEvalConfig(**bad)
    spatial = SpatialWorldModel(SpatialWorldModelConfig(**shapes(5)))
    with pytest.raises(ValueError, match="needs a world model with a decoder"):
        build_planner(spatial, default_eval_config("mppi", space="pixel"))


def test_mpc_plans_in_pixel_space_with_surprise_in_pixels():
    wm = tiny_model(frameskip=2).eval()
    randomize(wm.predictor)
    fast = {"horizon": 2, "num_samples": 8, "num_elites": 4, "iterations": 1}
    config = default_eval_config("mppi", episodes=2, num_envs=2, planner_overrides=fast, space="pixel",
                                 mpc=MPCConfig(replan_every=40, action_repeat=20))
    report = evaluate_planning(wm, config, probe=wm.decode_position)
    assert report.config["space"] == "pixel" and report.episodes == 2
    assert report.mean_surprise is not None and report.mean_surprise >= 0.0
    paths = report.results[0].planned_paths  # the plans, decoded to positions through the re-encoded frames
    assert paths is not None and torch.isfinite(paths).all()


TINY_PIXEL = ["model.encoder.channels=(4,4,4)", "model.encoder.latent_channels=4", "model.predictor.latent_channels=4",
              "model.predictor.hidden=8", "model.frameskip=2", "model.predictor.action_dim=4",
              "model.decoder_channels=(4,4,4)", "model.decoder_blocks=0", "data.length=5", "batch_size=4",
              "train.progress=false", "train.tensorboard=false", "train.warmup_steps=0", "train.log_every=1"]
FAST_PLAN = ["planner.horizon=2", "planner.num_samples=8", "planner.num_elites=4", "planner.iterations=1",
             "mpc.replan_every=40", "mpc.action_repeat=20"]


@pytest.mark.parametrize("preset", ["two-rooms-pixel", "maze-pixel"])
def test_pixel_presets_share_the_generic_data_batch_and_budget(preset):
    from jepa_world.presets import PRESETS, load_builtin_presets

    load_builtin_presets()
    pixel, generic = PRESETS[preset].config(), PRESETS[preset.replace("pixel", "generic")].config()
    assert (pixel.data, pixel.batch_size, pixel.train) == (generic.data, generic.batch_size, generic.train)
    assert (pixel.model.encoder, pixel.model.predictor) == (generic.model.encoder, generic.model.predictor)
    assert pixel.model.frameskip == generic.model.frameskip


def test_cli_trains_the_pixel_preset_and_evaluates_in_latent_and_pixel_space(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "two-rooms-pixel", "--run-dir", str(run), *TINY_PIXEL,
                            "train.steps=2"])
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["architecture"] == "pixel"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"train/recon", "train/pred"} <= set(records[-1]["metrics"])
    for space in ("latent", "pixel"):
        out = tmp_path / f"{space}.json"
        r = runner.invoke(app, ["eval", str(run), "--planner", "mppi", "--episodes", "2", "--num-envs", "2",
                                "--json", str(out), "--png", str(tmp_path / f"{space}.png"), *FAST_PLAN,
                                f"space={space}", "pixel_pool=2"])
        assert r.exit_code == 0, r.output
        report = json.loads(out.read_text())
        assert report["config"]["space"] == space and report["config"]["pixel_pool"] == 2
        assert report["episodes"] == 2
        assert 0.0 <= report["success_rate"] <= 1.0 and len(report["final_distance"]) == 2
        assert report["mean_surprise"] is not None and report["goal_energy"] > 0
        assert (tmp_path / f"{space}.png").stat().st_size > 1000


def test_cli_trains_the_maze_pixel_preset(tmp_path):
    r = runner.invoke(app, ["train", "--preset", "maze-pixel", "--run-dir", str(tmp_path / "maze"), *TINY_PIXEL,
                            "train.steps=1"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "maze" / "config.json").read_text())["model"]["env"]["name"] == "maze"


@pytest.mark.parametrize("planner", sorted(PLANNERS))
def test_every_planner_plans_over_the_pixel_space_view(planner):
    wm = tiny_model(frameskip=5).eval()
    randomize(wm.predictor)
    config = default_eval_config(planner, num_envs=3, space="pixel")
    small = {"horizon": 2, "num_samples": 8, "iterations": 1}
    small.update({"num_elites": 4} if planner in ("cem", "mppi") else {})
    small.update({"num_elites": 4, "depth": 2, "width": 4} if planner == "hierarchical" else {})
    config.planner_overrides.update(small)
    view = PixelSpaceModel(wm)
    obs = torch.rand(3, 2, 65, 65)
    with torch.no_grad():
        result = build_planner(wm, config).plan(view.encode(obs), view.encode(obs.flip(-1)))
    assert result.actions.shape == (3, 2, 2)
    assert torch.isfinite(result.actions).all() and torch.isfinite(result.cost).all()
