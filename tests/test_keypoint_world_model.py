"""The keypoint + occupancy-map world model: encoder, ray-marching predictor, free-fraction loss, training."""

import math

import pytest
import torch

from jepa_world.envs.two_rooms.render import render_trajectories
from jepa_world.methods.keypoint_world_model import KeypointWorldModel, KeypointWorldModelConfig
from jepa_world.nn.keypoint_map import KeypointMapConfig, KeypointMapEncoder, expected_coordinates
from jepa_world.nn.raymarch import RayMarchConfig, RayMarchPredictor, transmittance_fraction
from jepa_world.objectives.free_fraction import collision_prior, free_fraction_loss, observed_free_fraction
from jepa_world.planning.protocols import WorldModel


def tiny_config(**weights) -> KeypointWorldModelConfig:
    cfg = KeypointWorldModelConfig(encoder=KeypointMapConfig(map_size=8, map_channels=4),
                                   predictor=RayMarchConfig(map_size=8))
    for name, value in weights.items():
        setattr(cfg.weights, name, value)
    return cfg


def blob_obs(positions: torch.Tensor, wall_x: int = 32, door_y: int = 18) -> torch.Tensor:
    """Two Rooms observations of agents at positions (N, 2) -> (N, 2, 65, 65)."""
    n = positions.shape[0]
    return render_trajectories(positions[:, None], torch.full((n,), wall_x), torch.full((n,), door_y))[:, 0]


def test_expected_coordinates_of_a_one_hot_map_is_the_pixel_centre():
    w = torch.zeros(1, 1, 10, 10)
    w[0, 0, 3, 7] = 1.0  # row 3, column 7
    assert expected_coordinates(w).tolist() == [[[7.5, 3.5]]]
    assert expected_coordinates(w, cell=2.0).tolist() == [[[3.75, 1.75]]]


def test_keypoint_is_an_affine_function_of_the_agent_position():
    """Scored on the (standardised) agent channel, keypoints follow the agent affinely to a small fraction of a
    pixel: the probe that turns them into pixels can be linear."""
    enc = KeypointMapEncoder(KeypointMapConfig(input_mean=(0.0, 0.0), input_std=(0.04, 1.0)))
    with torch.no_grad():
        enc.kp_weight.copy_(torch.tensor([[1.0, 0.0]]))
    pos = 8.0 + 48.0 * torch.rand(64, 2, generator=torch.Generator().manual_seed(0))
    pos[:, 0] = pos[:, 0].clamp(max=29.0)  # the left room of the fixed layout
    kp = enc.keypoints(enc.standardize(blob_obs(pos))).detach()  # (N, 2) in cells of 2 px
    design = torch.cat([pos, torch.ones(64, 1)], dim=1)
    fit = torch.linalg.lstsq(design, kp).solution
    residual = (design @ fit - kp).norm(dim=1)
    assert residual.mean() < 0.05 and residual.max() < 0.15, residual  # cells: 0.1 px on average, 0.3 px at most
    assert torch.allclose(fit[:2], torch.eye(2) / 2, atol=0.03)  # 2 px per cell, slightly shrunk to the centre


@pytest.mark.parametrize("map_net", ["local", "conv"])
def test_encoder_shapes_and_bad_input(map_net):
    cfg = KeypointMapConfig(keypoints=2, map_size=16, map_net=map_net)
    enc = KeypointMapEncoder(cfg)
    z = enc(torch.rand(3, 2, 65, 65))
    assert z.shape == (3, cfg.latent_dim) == (3, 4 + 256)
    with pytest.raises(ValueError, match=r"expected obs \(B, 2, 65, 65\)"):
        enc(torch.rand(3, 2, 64, 64))
    with pytest.raises(ValueError, match="map_size 5 must divide"):
        KeypointMapConfig(map_size=5).validate()
    with pytest.raises(ValueError, match="map_net"):
        KeypointMapConfig(map_net="unet").validate()


def test_local_map_gives_a_wall_the_same_logit_wherever_it_lies():
    """The per-pixel map network is translation-equivariant: a wall moved by 2 px (one cell) moves its logits."""
    enc = KeypointMapEncoder(KeypointMapConfig(map_size=32))
    torch.manual_seed(0)
    for p in enc.map_net.parameters():
        p.data.normal_()
    agent = torch.tensor([[10.0, 30.0]])
    m1 = enc(blob_obs(agent, wall_x=30, door_y=40))[0, 2:].view(32, 32)
    m2 = enc(blob_obs(agent, wall_x=32, door_y=40))[0, 2:].view(32, 32)
    cols = slice(12, 18)  # around the wall, away from the agent and the border
    assert torch.allclose(m1[8:28, cols], m2[8:28, 13:19], atol=1e-5)


def test_transmittance_fraction_closed_forms():
    assert transmittance_fraction(torch.ones(4)).item() == 1.0
    assert transmittance_fraction(torch.tensor([0.0, 1.0, 1.0, 1.0])).item() == 0.0
    assert transmittance_fraction(torch.tensor([1.0, 1.0, 0.0, 1.0])).item() == 0.5  # (1 + 1 + 0 + 0) / 4
    assert math.isclose(transmittance_fraction(torch.tensor([0.5, 0.5])).item(), (0.5 + 0.25) / 2)


def _predictor_with_map(logits: torch.Tensor) -> tuple[RayMarchPredictor, torch.Tensor]:
    """An 8-cell-map predictor with identity action map (1 px of action = 1 cell) and a very sharp map."""
    m = logits.shape[-1]
    pred = RayMarchPredictor(RayMarchConfig(map_size=m, grid=m, samples=8, init_sharpness=50.0))
    with torch.no_grad():
        pred.action_map.copy_(torch.eye(2)[None])
    return pred, logits.flatten()


def test_free_map_moves_keypoints_by_the_linear_displacement():
    pred, flat = _predictor_with_map(torch.full((8, 8), -5.0))
    z = torch.cat([torch.tensor([[3.0, 4.0]]), flat[None]], dim=1)
    nxt = pred(z, torch.tensor([[1.5, -0.5]]))
    assert torch.allclose(nxt[0, :2], torch.tensor([4.5, 3.5]), atol=1e-4)
    assert torch.equal(nxt[0, 2:], z[0, 2:])  # the map is carried unchanged


def test_a_wall_stops_the_keypoint_before_it():
    logits = torch.full((8, 8), -5.0)
    logits[:, 5] = 5.0  # a wall filling column 5 = cells x in [5, 6)
    pred, flat = _predictor_with_map(logits)
    z = torch.cat([torch.tensor([[3.0, 4.0]]), flat[None]], dim=1)
    blocked = pred(z, torch.tensor([[2.0, 0.0]]))[0, 0]  # aims at x = 5: into the wall
    back = pred(z, torch.tensor([[-2.0, 0.0]]))[0, 0]  # away from it: free
    assert 4.5 <= blocked.item() < 5.0, blocked  # the interpolated logit crosses 0 at x = 5
    assert torch.isclose(back, torch.tensor(1.0), atol=1e-3)
    held = z
    for _ in range(20):  # pushing into the wall for many steps never crosses it
        held = pred(held, torch.tensor([[2.0, 0.0]]))
    assert held[0, 0].item() < 5.0


def test_free_fraction_terms():
    d = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    moved = torch.tensor([[1.0, 3.0], [0.0, -1.0], [2.0, 2.0]])  # half, backwards (clipped to 0), double (to 1)
    assert observed_free_fraction(moved, d).tolist() == [0.5, 0.0, 1.0]
    lam, obs = torch.tensor([0.9, 0.2]), torch.tensor([1.0, 0.0])
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert math.isclose(free_fraction_loss(lam, obs).item(), expected, rel_tol=1e-5)
    assert math.isclose(collision_prior(lam).item(), (0.1 + 0.8) / 2, rel_tol=1e-6)
    with pytest.raises(ValueError, match="shapes differ"):
        observed_free_fraction(moved, d[:2])


def tiny_batch(b=4, t=3, seed=0):
    from jepa_world.data.stream import TwoRoomsStream
    from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

    return TwoRoomsStream(b, TwoRoomsDataConfig(length=t + 1), seed=seed)(0)


def test_world_model_verbs_and_protocol():
    wm = KeypointWorldModel(tiny_config())
    assert isinstance(wm, WorldModel)
    batch = tiny_batch()
    z0 = wm.encode(batch["obs"][:, 0])
    assert z0.shape == (4, 2 + 64)
    roll = wm.rollout(z0, batch["actions"])
    z = z0
    for t in range(batch["actions"].shape[1]):
        z = wm.step(z, batch["actions"][:, t])
        assert torch.allclose(roll[:, t], z)
    assert wm.decode_position(roll).shape == (4, 3, 2)
    with pytest.raises(ValueError, match="rollout expects"):
        wm.rollout(z0, batch["actions"][0])


def test_training_step_terms_and_ema_target():
    wm = KeypointWorldModel(tiny_config())
    loss, metrics = wm.training_step(tiny_batch(), step=0)
    assert {"pred", "free", "prior", "idm", "motion", "map", "probe_px"} <= set(metrics)
    loss.backward()
    assert all(p.grad is None for p in wm.target_encoder.parameters())
    assert wm.encoder.kp_weight.grad is not None and wm.predictor.action_map.grad is not None
    with torch.no_grad():
        for p in wm.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in wm.target_encoder.parameters()]
    wm.after_optimizer_step(0, 10)  # momentum 0.99: the target moves 1 % of the way
    for b, p, q in zip(before, wm.target_encoder.parameters(), wm.encoder.parameters(), strict=True):
        assert torch.allclose(p, 0.99 * b + 0.01 * q, atol=1e-6)


def test_config_validation_names_the_problem():
    cfg = tiny_config()
    cfg.predictor.map_size = 16
    with pytest.raises(ValueError, match=r"predictor.map_size \(16\) must equal the encoder's \(8\)"):
        KeypointWorldModel(cfg)
    with pytest.raises(ValueError, match="negative"):
        KeypointWorldModel(tiny_config(free=-1.0))


def test_a_few_steps_lower_the_prediction_error():
    torch.manual_seed(0)
    wm = KeypointWorldModel(tiny_config())
    opt = torch.optim.Adam(wm.parameters(), lr=3e-3)
    batch = tiny_batch(b=16, t=4, seed=1)
    first = None
    for step in range(40):
        loss, metrics = wm.training_step(batch, step=step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        wm.after_optimizer_step(step, 40)
        first = first if first is not None else metrics["pred"]
    assert metrics["pred"] < 0.5 * first


def test_hold_equals_repeated_steps():
    wm = KeypointWorldModel(tiny_config())
    z = wm.encode(tiny_batch()["obs"][:, 0])
    a = torch.tensor([[2.0, 0.5], [-1.0, 1.0], [0.0, -2.4], [1.7, 1.7]])
    stepped = z
    for _ in range(7):
        stepped = wm.step(stepped, a)
    assert torch.allclose(wm.hold(z, a, 7), stepped, atol=1e-5)
    lam, d = wm.predictor.free_fraction(z, a)  # the training path: march from the split latent
    one = z[:, :2] + lam[..., None].mul(d).flatten(1)
    assert torch.allclose(wm.step(z, a)[:, :2], one, atol=1e-5)


def test_interrupted_training_resumes_to_the_same_losses(tmp_path):
    """The keypoint preset, interrupted after step 2 and resumed, logs bitwise the losses of an uninterrupted run
    (the optimizer's two parameter groups come back in the same order)."""
    from jepa_world.config import apply_overrides
    from jepa_world.presets import get_preset
    from jepa_world.train import read_metrics, train
    from jepa_world.train.protocol import Callback

    overrides = ["model.encoder.map_channels=4", "model.encoder.map_size=8", "model.predictor.map_size=8",
                 "model.idm_hidden=16", "batch_size=4", "data.length=3", "train.steps=4", "train.progress=false",
                 "train.tensorboard=false", "train.log_every=1", "train.warmup_steps=1", "train.diag_every=0"]
    preset = get_preset("two-rooms")

    def run(run_dir, callbacks=()):
        spec = preset.build(apply_overrides(preset.config(), overrides))
        return train(spec.method, spec.source, spec.train, run_dir=run_dir, kind=spec.kind,
                     model_config=spec.model_config, batch_size=spec.batch_size, callbacks=list(callbacks))

    def stop_at_2(step, method):
        if step == 2:
            raise KeyboardInterrupt
        return {}

    run(tmp_path / "straight")
    assert run(tmp_path / "resumed", [Callback(stop_at_2, every=1)]).status == "interrupted"
    assert run(tmp_path / "resumed").status == "finished"

    def losses(run_dir):
        return [(e["step"], e["metrics"]["train/loss"]) for e in read_metrics(run_dir / "metrics.jsonl")
                if "train/loss" in e["metrics"]]

    assert losses(tmp_path / "resumed") == losses(tmp_path / "straight") and len(losses(tmp_path / "straight")) == 4
