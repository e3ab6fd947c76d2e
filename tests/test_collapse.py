"""Oracles for jepa_world.objectives.collapse: constructed spectra, closed forms, numpy references."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest
import torch

from jepa_world.objectives.collapse import (
    CollapseReport,
    CollapseThresholds,
    CollapseWarning,
    collapse_report,
    effective_rank,
    normalized_std,
    per_dim_variance,
    singular_values,
    warn_if_collapsed,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _with_spectrum(s: torch.Tensor, n: int, d: int, seed: int = 0) -> torch.Tensor:
    """(n, d) float64 matrix with zero column means whose singular values are exactly ``s`` (k,)."""
    g = _gen(seed)
    k = s.shape[0]
    basis = torch.randn(n, k + 1, generator=g, dtype=torch.float64)
    basis[:, 0] = 1.0
    q, _ = torch.linalg.qr(basis)  # q[:, 0] is along ones, so q[:, 1:] has zero column means
    u = q[:, 1:]  # (n, k) orthonormal, centred
    v, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))  # (d, k) orthonormal
    return u @ torch.diag(s) @ v.T + 4.0  # a constant offset disappears after centring


@pytest.mark.parametrize("k", [1, 3, 7, 16])
def test_effective_rank_of_k_equal_singular_values_is_k(k):
    z = _with_spectrum(torch.full((k,), 2.5, dtype=torch.float64), n=200, d=16)
    assert effective_rank(z) == pytest.approx(k, abs=1e-8)


def test_effective_rank_closed_form_for_unequal_spectrum():
    s = torch.tensor([3.0, 1.0], dtype=torch.float64)
    p = np.array([0.75, 0.25])
    expected = math.exp(-(p * np.log(p)).sum())
    assert effective_rank(_with_spectrum(s, n=50, d=5)) == pytest.approx(expected, rel=1e-10)


def test_singular_values_match_numpy():
    z = torch.randn(40, 6, generator=_gen(1), dtype=torch.float64)
    zc = z.numpy() - z.numpy().mean(axis=0)
    np.testing.assert_allclose(singular_values(z).numpy(), np.linalg.svd(zc, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose(
        singular_values(z, center=False).numpy(), np.linalg.svd(z.numpy(), compute_uv=False), rtol=1e-10
    )


def test_effective_rank_isotropic_rank_one_and_constant():
    z = torch.randn(4096, 16, generator=_gen(2))
    assert effective_rank(z) == pytest.approx(16, rel=0.1)
    rank_one = torch.randn(512, 1, generator=_gen(3)) * torch.randn(1, 16, generator=_gen(4))
    assert effective_rank(rank_one) == pytest.approx(1.0, abs=1e-3)
    assert effective_rank(torch.full((64, 16), 0.37)) == 0.0  # centred matrix is zero: no spectrum


def test_normalized_std_isotropic_and_constant():
    z = torch.randn(4096, 16, generator=_gen(5))
    assert normalized_std(z) == pytest.approx(1 / math.sqrt(16), rel=0.05)
    assert normalized_std(torch.full((64, 16), 2.0)) == 0.0
    # Closed form: two antipodal unit vectors e_0, -e_0 -> dim 0 has std sqrt(2), the others 0.
    z2 = torch.tensor([[1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]])
    assert normalized_std(3.0 * z2) == pytest.approx(math.sqrt(2) / 4)


def test_per_dim_variance_and_flattening():
    z = torch.randn(4, 8, 5, generator=_gen(6))  # (B, T, D)
    flat = z.reshape(32, 5)
    reference = np.var(flat.numpy().astype(np.float64), axis=0, ddof=1)
    np.testing.assert_allclose(per_dim_variance(z).numpy(), reference, rtol=1e-10)
    assert effective_rank(z) == pytest.approx(effective_rank(flat), rel=1e-12)
    assert normalized_std(z) == pytest.approx(normalized_std(flat), rel=1e-12)


def test_diagnostics_reject_too_few_samples():
    with pytest.raises(ValueError, match=r"\(1, 4\)"):
        effective_rank(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        collapse_report(torch.zeros(4))


def test_report_flags_collapse_and_passes_isotropic():
    healthy = collapse_report(torch.randn(4096, 16, generator=_gen(7)))
    assert not healthy.collapsed and healthy.reasons == []
    assert healthy.normalized_std_ratio == pytest.approx(1.0, rel=0.05)
    assert healthy.rank_fraction == pytest.approx(1.0, rel=0.1)
    assert healthy.dead_dim_fraction == 0.0

    constant = collapse_report(torch.full((256, 16), 1.5))
    assert constant.collapsed and constant.dead_dim_fraction == 1.0
    assert any("normalized_std_ratio" in r for r in constant.reasons)

    rank_one = collapse_report(torch.randn(512, 1, generator=_gen(8)) * torch.randn(1, 16, generator=_gen(9)))
    assert rank_one.collapsed
    assert any("effective_rank" in r for r in rank_one.reasons)

    # Complete collapse with a little noise around a common point.
    near_point = torch.randn(16, generator=_gen(10)) + 1e-3 * torch.randn(512, 16, generator=_gen(11))
    assert collapse_report(near_point).collapsed


def test_report_dead_dims_and_custom_thresholds():
    z = torch.randn(1024, 16, generator=_gen(12))
    z[:, :10] = 0.0
    report = collapse_report(z)
    assert report.dead_dim_fraction == pytest.approx(10 / 16)
    assert report.min_dim_variance == 0.0
    assert report.collapsed and any("dead_dim_fraction" in r for r in report.reasons)
    z[:, :10] = torch.randn(1024, 10, generator=_gen(13))
    z[:, :2] = 0.0
    mild = collapse_report(z)
    assert mild.dead_dim_fraction == pytest.approx(2 / 16) and not mild.collapsed
    strict = collapse_report(z, thresholds=CollapseThresholds(max_dead_dim_fraction=0.1))
    assert strict.collapsed


def test_as_metrics():
    report = collapse_report(torch.randn(256, 8, generator=_gen(14)))
    metrics = report.as_metrics()
    expected_keys = {
        "collapse/effective_rank", "collapse/rank_fraction", "collapse/normalized_std",
        "collapse/normalized_std_ratio", "collapse/min_dim_variance", "collapse/median_dim_variance",
        "collapse/dead_dim_fraction", "collapse/collapsed",
    }
    assert set(metrics) == expected_keys
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["collapse/effective_rank"] == report.effective_rank
    assert metrics["collapse/collapsed"] == 0.0
    assert set(report.as_metrics(prefix="val/")) == {k.replace("collapse/", "val/") for k in expected_keys}


def test_warn_if_collapsed(caplog):
    collapsed = collapse_report(torch.zeros(64, 8))
    with pytest.warns(CollapseWarning, match="normalized_std_ratio"):
        assert warn_if_collapsed(collapsed) is True
    healthy = collapse_report(torch.randn(512, 8, generator=_gen(15)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_collapsed(healthy) is False
    logger = logging.getLogger("test_collapse")
    with caplog.at_level(logging.WARNING, logger="test_collapse"), pytest.warns(CollapseWarning):
        warn_if_collapsed(collapsed, logger=logger)
    assert "collapse" in caplog.text and "effective_rank" in caplog.text
    assert issubclass(CollapseWarning, UserWarning)
    assert isinstance(collapsed, CollapseReport)
