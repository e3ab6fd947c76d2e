"""Location probe and per-horizon metrics: closed forms, and the protocol on a perfect and a random predictor."""

import doctest
import itertools
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import jepa_world.eval.location_metrics as metrics_mod
import jepa_world.eval.location_probe as probe_mod
from jepa_world.data.video.moving_digits import MovingDigits, MovingDigitsConfig
from jepa_world.eval.location_metrics import average_precision, matched_location_error
from jepa_world.eval.location_probe import decode_locations, fit_ridge, location_heatmap
from jepa_world.eval.video_horizons import evaluate_horizons
from jepa_world.runs.video_run import verdicts


@pytest.mark.parametrize("module", [metrics_mod, probe_mod])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


def test_average_precision_closed_forms():
    labels = torch.tensor([1, 0, 0, 1, 0, 0])
    assert average_precision(torch.tensor([6.0, 1, 2, 5, 3, 4]), labels) == 1.0  # positives ranked first
    # positives ranked last (5th and 6th of 6): (1/5 + 2/6) / 2
    assert average_precision(torch.tensor([1.0, 6, 5, 2, 4, 3]), labels) == pytest.approx((1 / 5 + 2 / 6) / 2)
    with pytest.raises(ValueError, match="no positive"):
        average_precision(torch.zeros(3), torch.zeros(3))


def test_average_precision_of_random_scores_is_the_positive_rate():
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(200_000, generator=g) < 0.05).long()
    ap = average_precision(torch.rand(200_000, generator=g), labels)
    assert abs(ap - labels.float().mean().item()) < 0.005


def test_matched_error_ignores_object_order():
    g = torch.Generator().manual_seed(1)
    true = torch.rand(50, 3, 2, generator=g) * 64
    pred = true + torch.randn(50, 3, 2, generator=g)
    base = matched_location_error(pred, true)
    for perm in itertools.permutations(range(3)):
        assert torch.allclose(matched_location_error(pred[:, list(perm)], true), base)
    direct = (pred - true).norm(dim=-1).mean(-1)  # the identity assignment is one candidate
    assert bool((base <= direct + 1e-6).all())


def test_heatmap_marks_the_cell_of_each_centre():
    pos = torch.tensor([[[0.0, 0.0], [63.9, 63.9]], [[20.0, 33.0], [20.5, 33.5]]])
    heat = location_heatmap(pos, grid=16, image_size=64).view(2, 16, 16)
    assert heat[0].sum() == 2 and heat[0, 0, 0] == 1 and heat[0, 15, 15] == 1
    assert heat[1].sum() == 1 and heat[1, 33 // 4, 20 // 4] == 1  # both centres in one cell: row 8, column 5


def test_decoding_an_indicator_heatmap_lands_within_half_a_cell_diagonal():
    g = torch.Generator().manual_seed(2)
    pos = 14 + torch.rand(40, 2, 2, generator=g) * 36
    far = (pos[:, 0] - pos[:, 1]).abs().max(dim=-1).values > 24  # peaks well apart
    pos = pos[far]
    heat = location_heatmap(pos, grid=16, image_size=64).view(-1, 16, 16)
    where = decode_locations(heat, k=2, image_size=64)
    assert float(matched_location_error(where, pos).max()) <= 2 * 2**0.5 + 1e-6  # 4 px cells


def test_ridge_recovers_a_linear_map():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(400, 12, generator=g) * torch.linspace(0.5, 3, 12) + 2
    w = torch.randn(12, 4, generator=g)
    y = x @ w + 0.7
    probe = fit_ridge(x, y, alphas=(1e-8,))
    assert torch.allclose(probe.predict(x), y, atol=1e-3)
    wide = fit_ridge(x[:20], y[:20], alphas=(1e-8,))  # fewer samples than features: the dual solve
    assert torch.allclose(wide.predict(x[:20]), y[:20], atol=1e-3)


class PooledFrames:
    """A fixed "model": the representation is the frame average-pooled to 16x16; unroll is injected."""

    def __init__(self, clips, unroll):
        self.config = SimpleNamespace(context=2)
        self.clips, self._unroll = clips, unroll

    def eval(self):
        return self

    def encode(self, frames):
        x = frames.float().flatten(0, -4) / 255.0
        return F.avg_pool2d(x, 4).view(*frames.shape[:-3], 1, 16, 16)

    encode_target = encode

    def unroll(self, context, *, steps):
        return self._unroll(self, context, steps)


def perfect(model, context, steps):
    """Look the context up among the eval clips and return the encoded true future."""
    truth = model.encode(model.clips.frames)  # (N, T, 1, 16, 16)
    same = (context.flatten(1)[:, None] == truth[:, :2].flatten(1)[None]).all(-1)  # (B, N)
    return truth[same.float().argmax(1), 2:2 + steps]


def noise(model, context, steps):
    return torch.randn(context.shape[0], steps, *context.shape[2:], generator=torch.Generator().manual_seed(0))


def test_protocol_on_a_perfect_and_a_random_predictor():
    gen = MovingDigits(MovingDigitsConfig(speed=(3.0, 4.0)))
    fit = gen.sample(96, num_frames=6, generator=torch.Generator().manual_seed(4))
    clips = MovingDigits(MovingDigitsConfig(speed=(3.0, 4.0)), split="test").sample(
        48, num_frames=6, generator=torch.Generator().manual_seed(5))
    good = evaluate_horizons(PooledFrames(clips, perfect), fit, clips).metrics
    assert good["predicted"].ap == good["encoded"].ap  # a perfect predictor scores exactly the probe's ceiling
    assert good["predicted"].location_error_px == good["encoded"].location_error_px
    assert good["predicted"].latent_rel_error == [0.0] * 4
    assert verdicts(good["predicted"], good["copy_last"], None)["beats_copy_last"]
    assert good["predicted"].ap[0] > 0.3 and good["predicted"].location_error_px[0] < 4.0
    bad = evaluate_horizons(PooledFrames(clips, noise), fit, clips).metrics["predicted"]
    chance = 2 / 256  # two centre cells of 256
    assert all(ap < 3 * chance for ap in bad.ap)
    assert all(e > 10.0 for e in bad.location_error_px)  # uniform guesses are ~20 px off
    assert not verdicts(bad, good["copy_last"], good["predicted"])["beats_random_init"]
