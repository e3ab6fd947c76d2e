"""Video JEPA: shapes of encode / predict / unroll, the objective's terms, the EMA variant, presets."""

import doctest

import pytest
import torch

import jepa_world.methods.video_jepa as video_jepa_mod
import jepa_world.nn.frame_encoder as frame_encoder_mod
import jepa_world.nn.frame_predictor as frame_predictor_mod
import jepa_world.nn.pixel_decoder as pixel_decoder_mod
from jepa_world.methods.video_jepa import VideoJEPA, VideoJEPAConfig, cell_groups
from jepa_world.nn.frame_encoder import FrameEncoderConfig
from jepa_world.nn.frame_predictor import FramePredictorConfig
from jepa_world.objectives.vicreg import covariance_term, variance_term


def tiny(**kw) -> VideoJEPAConfig:
    return VideoJEPAConfig(encoder=FrameEncoderConfig(patch=4, stem_channels=8, channels=(8,), dim=6),
                           predictor=FramePredictorConfig(dim=6, context=kw.pop("context", 2), hidden=8), **kw)


@pytest.mark.parametrize("module", [video_jepa_mod, frame_encoder_mod, frame_predictor_mod, pixel_decoder_mod])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("context", [1, 2, 3])
def test_unroll_shapes_and_autoregression(context):
    torch.manual_seed(0)
    model = VideoJEPA(tiny(context=context)).eval()
    frames = torch.randint(0, 256, (3, 7, 1, 64, 64), dtype=torch.uint8)
    z = model.encode(frames)
    assert z.shape == (3, 7, 6, 8, 8)
    out = model.unroll(z[:, :context], steps=5)
    assert out.shape == (3, 5, 6, 8, 8)
    window = list(z[:, :context].unbind(1))  # the same loop written out: predict, append, slide
    for h in range(5):
        nxt = model.predict_next(torch.stack(window[-context:], dim=1))
        assert torch.allclose(out[:, h], nxt, atol=1e-6)
        window.append(nxt)


def test_encode_accepts_uint8_and_float_alike():
    model = VideoJEPA(tiny()).eval()
    frames = torch.randint(0, 256, (2, 3, 1, 64, 64), dtype=torch.uint8)
    assert torch.allclose(model.encode(frames), model.encode(frames.float() / 255.0))


def test_unroll_errors_name_shapes():
    model = VideoJEPA(tiny())
    with pytest.raises(ValueError, match=r"context \(B, k=2"):
        model.unroll(torch.zeros(2, 3, 6, 8, 8), steps=2)
    with pytest.raises(ValueError, match="leave nothing to predict"):
        model.training_step({"frames": torch.zeros(2, 2, 1, 64, 64)}, step=0)


def test_vicreg_terms_are_per_cell_statistics():
    torch.manual_seed(1)
    model = VideoJEPA(tiny())
    z = torch.randn(4, 5, 6, 8, 8)
    terms = model._regularizer_terms(z)
    per_cell = [(variance_term(z[:, :, :, i, j].reshape(20, 6)), covariance_term(z[:, :, :, i, j].reshape(20, 6)))
                for i in range(8) for j in range(8)]
    assert torch.allclose(terms["var"], torch.stack([v for v, _ in per_cell]).mean())
    assert torch.allclose(terms["cov"], torch.stack([c for _, c in per_cell]).mean())
    assert cell_groups(z).shape == (64, 20, 6)


def test_prediction_energy_is_zero_for_a_static_clip_with_an_identity_predictor():
    model = VideoJEPA(tiny())
    for p in model.predictor.net.parameters():  # residual predictor with a zero update: copies the last map
        torch.nn.init.zeros_(p)
    frames = torch.rand(1, 1, 1, 64, 64).expand(4, 6, 1, 64, 64)
    _, metrics = model.training_step({"frames": frames}, step=0)
    assert metrics["pred"] == 0.0


def test_training_step_reaches_encoder_and_predictor():
    torch.manual_seed(2)
    model = VideoJEPA(tiny(regularizer="sigreg", sigreg_samples=256))
    loss, metrics = model.training_step({"frames": torch.rand(4, 5, 1, 64, 64)}, step=0)
    loss.backward()
    assert set(metrics) == {"pred", "sigreg"} and torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_ema_target_gets_no_gradient_and_follows_the_cosine_schedule():
    torch.manual_seed(3)
    model = VideoJEPA(tiny(target="ema", regularizer="none", ema_momentum=0.9))
    loss, metrics = model.training_step({"frames": torch.rand(3, 5, 1, 64, 64)}, step=0)
    loss.backward()
    assert set(metrics) == {"pred"}
    assert all(p.grad is None for p in model.target_encoder.parameters())
    before = [p.clone() for p in model.target_encoder.parameters()]
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    model.after_optimizer_step(0, 10)  # momentum 0.9 at step 0: target <- 0.9 target + 0.1 online
    for old, new, online in zip(before, model.target_encoder.parameters(), model.encoder.parameters(), strict=True):
        assert torch.allclose(new, 0.9 * old + 0.1 * online, atol=1e-6)


def test_stopgrad_target_changes_the_gradient_not_the_loss():
    """target=stopgrad computes the same loss as target=online (same forward pass), but its prediction gradient
    reaches the encoder only through the context frames, not through the targets."""
    frames = torch.rand(3, 5, 1, 64, 64)
    grads, losses = {}, {}
    for target in ("online", "stopgrad"):
        torch.manual_seed(4)
        model = VideoJEPA(tiny(target=target, var_weight=0.0, cov_weight=0.0))
        loss, _ = model.training_step({"frames": frames}, step=0)
        loss.backward()
        losses[target] = loss.item()
        grads[target] = torch.cat([p.grad.flatten() for p in model.encoder.parameters()])
    assert losses["online"] == pytest.approx(losses["stopgrad"], rel=1e-6)
    assert not torch.allclose(grads["online"], grads["stopgrad"], rtol=1e-3, atol=1e-6)


def test_diagnostics_report_collapse_and_horizon_error():
    model = VideoJEPA(tiny()).eval()
    out = model.diagnostics({"frames": torch.rand(4, 6, 1, 64, 64)})
    assert {"repr_effective_rank", "repr_collapsed", "rel_pred_err_h1", "rel_pred_err_h4"} <= set(out)


@pytest.mark.parametrize("change,match", [
    ({"regularizer": "none"}, "regularizer=none needs target=ema"),
    ({"regularizer": "none", "target": "stopgrad"}, "regularizer=none needs target=ema"),
    ({"target": "teacher"}, "target must be one of"),
    ({"regularizer": "barlow"}, "regularizer must be one of"),
    ({"var_weight": -1.0}, "var_weight"),
    ({"horizon_discount": 0.0}, "horizon_discount"),
])
def test_config_errors_name_the_value(change, match):
    with pytest.raises(ValueError, match=match):
        tiny(**change).validate()
    with pytest.raises(ValueError, match="predictor.dim"):
        VideoJEPAConfig(predictor=FramePredictorConfig(dim=5)).validate()


def test_presets_build_and_rebuild_from_their_saved_config():
    from jepa_world.config import apply_overrides
    from jepa_world.presets import build_method, get_preset

    for name in ("video-digits", "video-digits-sigreg", "video-digits-ema"):
        preset = get_preset(name)
        cfg = apply_overrides(preset.config(), ["batch_size=2", "data.num_frames=4"])
        spec = preset.build(cfg)
        assert spec.kind == "video_jepa" and spec.source(0)["frames"].shape == (2, 4, 1, 64, 64)
        clone = build_method(spec.kind, spec.model_config)
        assert clone.state_dict().keys() == spec.method.state_dict().keys()
    with pytest.raises(ValueError, match="must exceed the context"):
        apply_overrides(get_preset("video-digits").config(), ["data.num_frames=2"])
