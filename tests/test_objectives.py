"""Oracles for jepa_world.objectives: closed forms, independent numpy references, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jepa_world.objectives import (
    REGULARIZERS,
    EMATarget,
    InverseDynamicsHead,
    SIGRegLoss,
    VICRegLoss,
    cosine_momentum,
    covariance_term,
    ema_update,
    energy,
    epps_pulley,
    epps_pulley_null_mean,
    idm_loss,
    invariance_term,
    multistep_prediction_loss,
    per_horizon_prediction_loss,
    prediction_energy,
    sigreg,
    temporal_smoothness,
    temporal_vicreg_terms,
    variance_term,
    vicreg_loss,
    vicreg_regularizer,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------- prediction


def test_energy_distances_match_manual():
    g = _gen()
    z, goal = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    torch.testing.assert_close(energy(z, goal, distance="mse"), ((z - goal) ** 2).sum(1) / 7)
    torch.testing.assert_close(energy(z, goal, distance="l1"), (z - goal).abs().sum(1) / 7)
    cos = (z * goal).sum(1) / (z.norm(dim=1) * goal.norm(dim=1))
    torch.testing.assert_close(energy(z, goal, distance="cosine"), 1 - cos)


def test_energy_broadcasts_goal_over_samples_and_time():
    g = _gen(1)
    z_traj = torch.randn(3, 4, 5, 6, generator=g)  # (N, S, T, D)
    goal = torch.randn(3, 6, generator=g)  # (N, D)
    out = energy(z_traj, goal[:, None, None, :])
    assert out.shape == (3, 4, 5)
    torch.testing.assert_close(out[2, 1, 3], ((z_traj[2, 1, 3] - goal[2]) ** 2).mean())


def test_energy_rejects_bad_shapes_and_distance():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        energy(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="broadcast"):
        energy(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="hamming"):
        energy(torch.zeros(4, 3), torch.zeros(4, 3), distance="hamming")


def test_prediction_energy_matches_manual():
    g = _gen(2)
    pred, target = torch.randn(2, 3, 8, generator=g), torch.randn(2, 3, 8, generator=g)
    torch.testing.assert_close(prediction_energy(pred, target), F.mse_loss(pred, target))
    torch.testing.assert_close(prediction_energy(pred, target, distance="l1"), F.l1_loss(pred, target))
    cos = F.cosine_similarity(pred, target, dim=-1)
    torch.testing.assert_close(prediction_energy(pred, target, distance="cosine"), (1 - cos).mean())
    with pytest.raises(ValueError, match=r"\(2, 3, 8\).*\(2, 8\)"):
        prediction_energy(pred, target[:, 0])


def test_multistep_per_horizon_values():
    z_pred = torch.zeros(4, 3, 5)
    offsets = torch.tensor([1.0, 2.0, 3.0])
    z_target = z_pred + offsets[None, :, None]  # step k is off by (k + 1) in every dim
    torch.testing.assert_close(per_horizon_prediction_loss(z_pred, z_target), torch.tensor([1.0, 4.0, 9.0]))
    torch.testing.assert_close(per_horizon_prediction_loss(z_pred, z_target, distance="l1"), offsets)
    torch.testing.assert_close(multistep_prediction_loss(z_pred, z_target), torch.tensor(14.0 / 3))
    torch.testing.assert_close(
        multistep_prediction_loss(z_pred, z_target), prediction_energy(z_pred, z_target)
    )
    w = torch.tensor([1.0, 0.0, 1.0])
    weighted = multistep_prediction_loss(z_pred, z_target, horizon_weights=w)
    torch.testing.assert_close(weighted, torch.tensor(5.0))


def test_multistep_rejects_bad_weights():
    z = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        multistep_prediction_loss(z, z, horizon_weights=torch.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        multistep_prediction_loss(z, z, horizon_weights=torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(B, T, D\)"):
        per_horizon_prediction_loss(torch.zeros(3, 4), torch.zeros(3, 4))


# ------------------------------------------------------------------------------------------------- vicreg


def test_covariance_term_hand_built_and_numpy():
    rows = [[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [2.0, 1.0, 5.0], [0.0, 1.0, 2.0]]
    z = torch.tensor(rows, dtype=torch.float64)
    cov = np.cov(z.numpy(), rowvar=False)  # unbiased, (D, D)
    expected = ((cov**2).sum() - (np.diag(cov) ** 2).sum()) / 3
    assert covariance_term(z).item() == pytest.approx(expected, rel=1e-12)
    # Two perfectly correlated columns with variance 2: C = [[2, 2], [2, 2]] -> (4 + 4) / 2.
    assert covariance_term(torch.tensor([[1.0, 1.0], [-1.0, -1.0]])).item() == pytest.approx(4.0)
    # Uncorrelated columns by construction: zero.
    assert covariance_term(torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])).item() == 0.0


def test_variance_term_closed_form():
    x = torch.tensor([-1.5, -0.5, 0.5, 1.5], dtype=torch.float64)
    x = x / x.std()  # unbiased std exactly 1
    stds = torch.tensor([0.0, 0.25, 0.5, 1.0, 2.0], dtype=torch.float64)
    z = x[:, None] * stds[None, :]  # column j has std stds[j]
    expected = torch.relu(1 - stds).mean()
    assert variance_term(z, eps=0.0).item() == pytest.approx(expected.item(), rel=1e-12)
    expected_eps = torch.relu(1 - torch.sqrt(stds**2 + 1e-4)).mean()
    assert variance_term(z).item() == pytest.approx(expected_eps.item(), rel=1e-12)
    expected_gamma = torch.relu(2 - stds).mean()
    assert variance_term(z, gamma=2.0, eps=0.0).item() == pytest.approx(expected_gamma.item(), rel=1e-12)


def test_variance_and_covariance_group_convention():
    z = torch.randn(3, 16, 4, generator=_gen(3))  # 3 groups of 16 samples
    torch.testing.assert_close(variance_term(z), torch.stack([variance_term(zi) for zi in z]).mean())
    torch.testing.assert_close(covariance_term(z), torch.stack([covariance_term(zi) for zi in z]).mean())


def test_temporal_vicreg_terms_are_per_time_step():
    z = torch.randn(16, 5, 4, generator=_gen(4)) * torch.linspace(0.1, 2.0, 5)[None, :, None]  # (B, T, D)
    var, cov = temporal_vicreg_terms(z)
    torch.testing.assert_close(var, torch.stack([variance_term(z[:, t]) for t in range(5)]).mean())
    torch.testing.assert_close(cov, torch.stack([covariance_term(z[:, t]) for t in range(5)]).mean())
    torch.testing.assert_close(vicreg_regularizer(z), 25 * var + cov)
    with pytest.raises(ValueError, match=r"\(1, 5, 4\)"):
        temporal_vicreg_terms(z[:1])


def test_invariance_and_total_loss_composition():
    g = _gen(5)
    a, b = torch.randn(32, 8, generator=g), torch.randn(32, 8, generator=g)
    assert invariance_term(a, b).item() == pytest.approx(((a - b) ** 2).mean().item(), rel=1e-6)
    assert invariance_term(a, a).item() == 0.0
    loss, terms = vicreg_loss(a, b, sim_weight=2.0, var_weight=3.0, cov_weight=0.5)
    expected = (2.0 * invariance_term(a, b) + 3.0 * (variance_term(a) + variance_term(b))
                + 0.5 * (covariance_term(a) + covariance_term(b)))
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(terms["loss"], expected)
    torch.testing.assert_close(terms["variance"], variance_term(a) + variance_term(b))
    module_loss, _ = VICRegLoss(sim_weight=2.0, var_weight=3.0, cov_weight=0.5)(a, b)
    torch.testing.assert_close(module_loss, expected)


def test_vicreg_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(1, 4\)"):
        variance_term(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"\(8, 4\).*\(8, 3\)"):
        vicreg_loss(torch.zeros(8, 4), torch.zeros(8, 3))


# ------------------------------------------------------------------------------------- temporal and idm


def test_temporal_smoothness_linear_ramp():
    v = torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, 1.0]])  # one velocity per batch row, (B, D)
    t = torch.arange(6.0)
    z = t[None, :, None] * v[:, None, :] + 7.0  # z_t = t * v + c, (B, T, D)
    assert temporal_smoothness(z).item() == pytest.approx((v**2).mean().item(), rel=1e-6)
    assert temporal_smoothness(torch.ones(2, 4, 3)).item() == 0.0
    with pytest.raises(ValueError, match=r"\(2, 1, 3\)"):
        temporal_smoothness(torch.zeros(2, 1, 3))


def test_idm_loss_and_head_shapes():
    a = torch.randn(4, 5, 2, generator=_gen(6))
    assert idm_loss(a, a).item() == 0.0
    assert idm_loss(a, torch.zeros_like(a)).item() == pytest.approx((a**2).mean().item())
    with pytest.raises(ValueError, match=r"\(4, 5, 2\).*\(4, 5, 3\)"):
        idm_loss(a, torch.zeros(4, 5, 3))
    head = InverseDynamicsHead(dim=8, action_dim=2, hidden=16)
    z = torch.randn(4, 6, 8, generator=_gen(7))  # (B, T + 1, D)
    a_pred = head.from_sequence(z)
    assert a_pred.shape == (4, 5, 2)
    torch.testing.assert_close(a_pred[:, 2], head(z[:, 2], z_next=z[:, 3]))
    assert head(z[:, 0], z_next=z[:, 1]).shape == (4, 2)
    idm_loss(a_pred, a).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    with pytest.raises(ValueError, match=r"\(4, 8\).*\(4, 7\)"):
        head(z[:, 0], z_next=z[:, 1, :7])


# ------------------------------------------------------------------------------------------------- sigreg


def _fine_integral(f, t_max: float = 10.0) -> float:
    """Independent reference: integral_{-t_max}^{t_max} f(t) exp(-t^2/2) dt on a very fine grid."""
    t = np.linspace(-t_max, t_max, 200_001)
    return float(np.trapezoid(f(t) * np.exp(-(t**2) / 2), t))


@pytest.mark.parametrize(
    "sample, cf",
    [
        (torch.zeros(50, dtype=torch.float64), lambda t: np.ones_like(t)),  # point mass at 0
        (torch.tensor([-1.0, 1.0] * 25, dtype=torch.float64), np.cos),  # +-1 coin
    ],
)
def test_epps_pulley_matches_reference_integral(sample, cf):
    def integrand(t):
        return (cf(t) - np.exp(-(t**2) / 2)) ** 2

    expected = 50 * _fine_integral(integrand)  # whole line (tail beyond 10 is < 1e-20)
    got = epps_pulley(sample, num_knots=65, t_max=6.0).item()  # fine quadrature: tight oracle
    assert got == pytest.approx(expected, rel=1e-3)
    # Defaults (17 knots on [0, 3]) integrate the truncated window [-3, 3]; measured error ~0.2%.
    assert epps_pulley(sample).item() == pytest.approx(50 * _fine_integral(integrand, 3.0), rel=1e-2)


def test_epps_pulley_null_mean_matches_gaussian_samples():
    x = torch.randn(256, 2000, generator=_gen(8), dtype=torch.float64)  # 2000 independent N(0,1) samples
    got = epps_pulley(x).mean().item()
    assert got == pytest.approx(epps_pulley_null_mean(), rel=0.08)
    t = np.linspace(-3.0, 3.0, 100_001)
    w = np.exp(-(t**2) / 2) * (1 - np.exp(-(t**2)))
    assert epps_pulley_null_mean() == pytest.approx(float(np.trapezoid(w, t)), rel=0.02)


def test_sigreg_gaussian_small_collapsed_large():
    g = _gen(9)
    gauss = sigreg(torch.randn(2048, 16, generator=g), generator=g).item()
    raw = sigreg(torch.randn(2048, 16, generator=g), generator=g, scale_by_n=False).item()
    constant = sigreg(torch.full((2048, 16), 0.3), generator=g).item()
    rank1 = sigreg(torch.randn(2048, 1, generator=g) * torch.randn(1, 16, generator=g), generator=g).item()
    wide = sigreg(3.0 * torch.randn(2048, 16, generator=g), generator=g).item()
    # Measured (seeded): gauss ~1.05 (= null mean, std ~0.2 over seeds), raw ~5e-4, constant ~800,
    # rank-1 ~300, std-3 Gaussian ~1000.
    assert gauss < 2.0
    assert raw < 2e-3
    assert constant > 100 * gauss
    assert rank1 > 100 * gauss
    assert wide > 100 * gauss


def test_sigreg_invariances_and_fixed_directions():
    g = _gen(10)
    z = torch.randn(128, 8, generator=g, dtype=torch.float64)
    dirs = torch.randn(8, 32, generator=g, dtype=torch.float64)
    base = sigreg(z, directions=dirs)
    torch.testing.assert_close(sigreg(z[torch.randperm(128, generator=g)], directions=dirs), base)
    torch.testing.assert_close(sigreg(z, directions=5.0 * dirs), base)  # directions are normalised
    torch.testing.assert_close(sigreg(z.reshape(4, 32, 8), directions=dirs), base)  # (B, T, D) flattened
    torch.testing.assert_close(sigreg(z, directions=dirs, scale_by_n=False), base / 128)
    a = sigreg(z, num_directions=32, generator=_gen(11))
    torch.testing.assert_close(sigreg(z, num_directions=32, generator=_gen(11)), a)
    first, second = (sigreg(z, num_directions=32, generator=g).item() for _ in range(2))
    assert first != second  # fresh directions each call
    torch.testing.assert_close(SIGRegLoss(num_directions=32)(z, generator=_gen(11)), a)
    with pytest.raises(ValueError, match=r"\(7, 32\)"):
        sigreg(z, directions=dirs[:7])


def test_sigreg_gradient_moves_towards_gaussian():
    g = _gen(12)
    z = (3.0 * torch.randn(256, 8, generator=g)).requires_grad_(True)
    dirs = torch.randn(8, 32, generator=g)
    start = sigreg(z, directions=dirs)
    start.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    opt = torch.optim.SGD([z], lr=2.0)
    for _ in range(30):
        opt.zero_grad()
        sigreg(z, directions=dirs).backward()
        opt.step()
    assert sigreg(z, directions=dirs).item() < 0.25 * start.item()  # measured ~0.1 * start


# ------------------------------------------------------------------------------------------ registry


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_regularizer_contract(name):
    fn = REGULARIZERS[name]
    g = _gen(13)
    for shape in [(256, 8), (64, 4, 8)]:
        healthy = torch.randn(*shape, generator=g).requires_grad_(True)
        value = fn(healthy)
        assert value.shape == () and torch.isfinite(value)
        value.backward()
        assert healthy.grad is not None and torch.isfinite(healthy.grad).all()
        collapsed = torch.full(shape, 0.5)
        assert fn(collapsed).item() > 2 * fn(healthy.detach()).item()


# -------------------------------------------------------------------------------------------------- ema


def _bn_net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_ema_update_closed_form():
    torch.manual_seed(0)
    online, target = _bn_net(), _bn_net()
    online(torch.randn(8, 3))  # move BatchNorm running stats and num_batches_tracked
    before = {k: v.clone() for k, v in target.state_dict().items()}
    on = online.state_dict()

    ema_update(target, online, momentum=1.0)
    for k, v in target.state_dict().items():
        if v.is_floating_point():
            assert torch.equal(v, before[k]), k

    ema_update(target, online, momentum=0.5)
    for k, v in target.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, 0.5 * before[k] + 0.5 * on[k])
        else:
            assert torch.equal(v, on[k]), k  # integer buffers are copied

    ema_update(target, online, momentum=0.0)
    for k, v in target.state_dict().items():
        torch.testing.assert_close(v, on[k])


def test_ema_update_rejects_mismatch_and_bad_momentum():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(5, 3\)"):
        ema_update(nn.Linear(3, 4), nn.Linear(3, 5), momentum=0.9)
    with pytest.raises(ValueError, match="differ"):
        ema_update(nn.Linear(3, 4), nn.Linear(3, 4, bias=False), momentum=0.9)
    with pytest.raises(ValueError, match="1.5"):
        ema_update(nn.Linear(3, 4), nn.Linear(3, 4), momentum=1.5)


def test_cosine_momentum_schedule():
    assert cosine_momentum(0, 100) == pytest.approx(0.996)
    assert cosine_momentum(100, 100) == pytest.approx(1.0)
    assert cosine_momentum(50, 100) == pytest.approx(0.998)
    expected = 1 - 0.1 * (1 + math.cos(math.pi / 4)) / 2
    assert cosine_momentum(25, 100, base=0.9, final=1.0) == pytest.approx(expected)
    assert cosine_momentum(500, 100) == pytest.approx(1.0)  # clamped
    values = [cosine_momentum(k, 10) for k in range(11)]
    assert values == sorted(values)
    with pytest.raises(ValueError, match="0"):
        cosine_momentum(1, 0)


def test_ema_target_is_frozen_copy():
    torch.manual_seed(1)
    online = _bn_net()
    target = EMATarget(online)
    assert all(not p.requires_grad for p in target.parameters())
    owner = nn.ModuleDict({"online": online, "target": target})
    owner.train()
    assert online.training and not target.training and not target.module[1].training
    x = torch.randn(8, 3)
    assert not target(x).requires_grad
    with torch.no_grad():
        online[0].weight.add_(1.0)  # the copy is independent of the online module
    assert not torch.equal(target.module[0].weight, online[0].weight)
    old = target.module[0].weight.clone()
    target.update(online, 0.75)
    torch.testing.assert_close(target.module[0].weight, 0.75 * old + 0.25 * online[0].weight)
    assert not target.module[0].weight.requires_grad
