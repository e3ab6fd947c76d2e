"""Oracles for the image-SSL losses: closed forms and independent (loop / numpy) reference computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_world.methods.joint_embedding import OBJECTIVES, JointEmbedding, JointEmbeddingConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.heads import DINOHeadConfig, HeadConfig
from jepa_world.nn.resnet import ResNetConfig
from jepa_world.objectives.byol import byol_loss, negative_cosine, symmetric_prediction_loss
from jepa_world.objectives.dino import DINOLoss, dino_loss, teacher_temperature, update_center
from jepa_world.objectives.ema import cosine_momentum
from jepa_world.objectives.infonce import contrastive_accuracy, info_nce_loss
from jepa_world.objectives.sigreg import sigreg
from jepa_world.objectives.vicreg import vicreg_loss


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------- InfoNCE


@pytest.mark.parametrize("n,tau", [(3, 0.5), (5, 0.1), (8, 1.0)])
def test_infonce_identical_orthogonal_views_closed_form(n, tau):
    z = torch.eye(n, 16)[:n] * 3.0  # n orthogonal rows (scale is irrelevant: cosine)
    # each anchor: positive logit 1/tau, 2n-2 negatives with logit 0
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * n - 2))
    assert float(info_nce_loss(z, z, temperature=tau)) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_infonce_known_logits_two_pairs():
    # a = [e1, e2], b = [e1, -e2] (unit vectors): every similarity is known
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    tau = 0.5
    # rows: a0 -> {a1: 0, b0: 1 (pos), b1: 0}; a1 -> {a0: 0, b0: 0, b1: -1 (pos)}
    #       b0 -> {a0: 1 (pos), a1: 0, b1: 0}; b1 -> {a0: 0, a1: -1 (pos), b0: 0}
    def ce(pos, others):
        logits = np.array([pos, *others]) / tau
        return -(logits[0] - np.log(np.exp(logits).sum()))

    expected = np.mean([ce(1, [0, 0]), ce(-1, [0, 0]), ce(1, [0, 0]), ce(-1, [0, 0])])
    assert float(info_nce_loss(a, b, temperature=tau)) == pytest.approx(expected, rel=1e-6)


def test_infonce_matches_loop_reference():
    g = _gen(1)
    a, b = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    tau = 0.2
    z = np.concatenate([a.numpy(), b.numpy()]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = 6
    losses = []
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        sims = np.array([z[i] @ z[j] / tau for j in range(2 * n) if j != i])
        losses.append(-(z[i] @ z[pos] / tau - np.log(np.exp(sims).sum())))
    assert float(info_nce_loss(a, b, temperature=tau)) == pytest.approx(float(np.mean(losses)), rel=1e-5)


def test_infonce_invariant_to_scale_and_rejects_bad_input():
    g = _gen(2)
    a, b = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    torch.testing.assert_close(info_nce_loss(a, b), info_nce_loss(7 * a, 0.1 * b))
    assert contrastive_accuracy(a, a) == 1.0
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(a, b, temperature=0.0)
    with pytest.raises(ValueError, match=r"\(4, 3\) and \(3, 3\)"):
        info_nce_loss(a, b[:3])


# --------------------------------------------------------------------------------------------- BYOL / SimSiam


def test_negative_cosine_and_byol_values():
    p = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    z = torch.tensor([[0.0, 1.0], [2.0, 2.0]])  # cos = 0 and 1
    assert float(negative_cosine(p, z)) == pytest.approx(-0.5)
    assert float(byol_loss(p, z)) == pytest.approx(2 - 2 * 0.5)
    # byol_loss equals the MSE of the normalised vectors (summed over D), averaged over rows
    g = _gen(3)
    p, z = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    ref = (F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(1).mean()
    torch.testing.assert_close(byol_loss(p, z), ref)


def test_stop_gradient_blocks_target_gradient():
    g = _gen(4)
    p1, p2 = torch.randn(5, 3, generator=g, requires_grad=True), torch.randn(5, 3, generator=g, requires_grad=True)
    z1, z2 = torch.randn(5, 3, generator=g, requires_grad=True), torch.randn(5, 3, generator=g, requires_grad=True)
    symmetric_prediction_loss(p1, p2, z1, z2, stop_gradient=True).backward()
    assert z1.grad is None and z2.grad is None and p1.grad is not None
    symmetric_prediction_loss(p1, p2, z1, z2, stop_gradient=False).backward()
    assert z1.grad is not None and float(z1.grad.abs().sum()) > 0


# --------------------------------------------------------------------------------------------- DINO


def test_dino_center_update_closed_form():
    center = torch.tensor([1.0, -1.0, 0.0])
    teacher = torch.tensor([[[2.0, 0.0, 4.0], [4.0, 2.0, 0.0]]])  # (V=1, N=2, K=3): mean [3, 1, 2]
    new = update_center(center, teacher, momentum=0.9)
    torch.testing.assert_close(new, torch.tensor([0.9 * 1 + 0.1 * 3, 0.9 * -1 + 0.1 * 1, 0.1 * 2]))
    assert torch.equal(center, torch.tensor([1.0, -1.0, 0.0]))  # not modified in place


def test_dino_loss_matches_numpy_reference():
    g = _gen(5)
    s, t = torch.randn(3, 4, 6, generator=g), torch.randn(2, 4, 6, generator=g)
    c = torch.randn(6, generator=g)
    ts, tt = 0.1, 0.04

    def softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    sn, tn, cn = s.double().numpy(), t.double().numpy(), c.double().numpy()
    total, pairs = 0.0, 0
    for iq in range(2):
        q = softmax((tn[iq] - cn) / tt)
        for v in range(3):
            if v == iq:
                continue
            logp = np.log(softmax(sn[v] / ts))
            total += float(np.mean(-(q * logp).sum(-1)))
            pairs += 1
    expected = total / pairs
    assert float(dino_loss(s, t, center=c, student_temp=ts, teacher_temp=tt)) == pytest.approx(expected, rel=1e-5)


def test_dino_centering_removes_a_constant_shift_and_module_updates_center():
    g = _gen(6)
    s, t = torch.randn(2, 5, 8, generator=g), torch.randn(2, 5, 8, generator=g)
    c = torch.randn(8, generator=g)
    shift = 3.0 * torch.ones(8)
    torch.testing.assert_close(dino_loss(s, t + shift, center=c + shift), dino_loss(s, t, center=c))
    crit = DINOLoss(8, center_momentum=0.5)
    crit(s, t)
    torch.testing.assert_close(crit.center, 0.5 * t.reshape(-1, 8).mean(0))
    before = crit.center.clone()
    crit.eval()
    crit(s, t)
    assert torch.equal(crit.center, before)  # eval mode: no update


def test_teacher_temperature_warmup():
    assert teacher_temperature(5, warmup_steps=10, start=0.04, end=0.08) == pytest.approx(0.06)
    assert teacher_temperature(50, warmup_steps=10) == 0.07


# --------------------------------------------------------------------------------------------- method level


def _tiny(objective: str, **kw) -> JointEmbedding:
    cfg = JointEmbeddingConfig(
        objective=objective,
        backbone=BackboneConfig(kind="resnet", resnet=ResNetConfig(widths=(8, 16))),
        projector=HeadConfig(hidden=32, out_dim=16, layers=2),
        predictor=HeadConfig(hidden=16, out_dim=16, layers=2),
        **kw,
    )
    if objective == "dino":
        cfg.dino.head = DINOHeadConfig(hidden=32, bottleneck=8, out_dim=32, layers=2)
    torch.manual_seed(0)
    return JointEmbedding(cfg)


def test_vicreg_objective_equals_independent_numpy_terms():
    method = _tiny("vicreg")
    views = torch.randn(2, 16, 1, 16, 16, generator=_gen(7))
    loss, terms = method.training_step({"views": views}, step=0)
    with torch.no_grad():
        z = method.head(method.backbone(views.flatten(0, 1))).view(2, 16, -1).double().numpy()
    a, b = z

    def var(x):
        return np.maximum(0, 1 - np.sqrt(x.var(0, ddof=1) + 1e-4)).mean()

    def cov(x):
        c = np.cov(x, rowvar=False)
        return (c**2).sum() - (np.diag(c) ** 2).sum()

    inv = ((a - b) ** 2).mean()
    expected = 25 * inv + 25 * (var(a) + var(b)) + (cov(a) + cov(b)) / a.shape[1]
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-4)
    assert terms["invariance"] == pytest.approx(inv, rel=1e-4)
    torch.testing.assert_close(vicreg_loss(torch.tensor(a), torch.tensor(b))[0], torch.tensor(expected))


def test_ema_teacher_update_follows_the_formula():
    method = _tiny("byol")
    with torch.no_grad():
        for p in method.backbone.parameters():
            p.add_(1.0)  # make online and teacher differ
    before = {k: v.clone() for k, v in method.teacher.state_dict().items()}
    online = {**{f"backbone.{k}": v for k, v in method.backbone.state_dict().items()},
              **{f"head.{k}": v for k, v in method.head.state_dict().items()}}
    method.after_optimizer_step(step=3, total_steps=10)
    m = cosine_momentum(3, 10, base=method.config.ema.base, final=method.config.ema.final)
    for key, t_new in method.teacher.state_dict().items():
        if t_new.is_floating_point():
            torch.testing.assert_close(t_new, m * before[key] + (1 - m) * online[key])


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_objective_trains_one_step_with_finite_gradients(objective):
    method = _tiny(objective)
    loss, metrics = method.training_step({"views": torch.randn(2, 8, 1, 16, 16, generator=_gen(8))}, step=0)
    loss.backward()
    grads = [p.grad for p in method.backbone.parameters() if p.requires_grad]
    assert torch.isfinite(loss) and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(isinstance(v, float) for v in metrics.values())
    if method.teacher is not None:
        assert all(p.grad is None for p in method.teacher.parameters())


def test_unknown_objective_lists_the_valid_ones():
    with pytest.raises(ValueError, match="byol.*dino.*infonce.*sigreg.*simsiam.*vicreg"):
        JointEmbeddingConfig(objective="barlow").validate()


def test_sigreg_objective_is_the_lejepa_mixture():
    method = _tiny("sigreg")
    views = torch.randn(2, 16, 1, 16, 16, generator=_gen(9))
    torch.manual_seed(123)  # SIGReg draws its random directions from the global RNG
    loss, terms = method.training_step({"views": views}, step=0)
    with torch.no_grad():
        z = method.head(method.backbone(views.flatten(0, 1))).view(2, 16, -1)
    torch.manual_seed(123)
    reg = (sigreg(z[0], num_directions=256) + sigreg(z[1], num_directions=256)) / 2
    inv = (z - z.mean(0, keepdim=True)).pow(2).mean()  # each view to the views' mean
    lam = method.config.sigreg.weight
    assert float(loss.detach()) == pytest.approx(float((1 - lam) * inv + lam * reg), rel=1e-4)
    assert terms["sigreg"] == pytest.approx(float(reg), rel=1e-4)
