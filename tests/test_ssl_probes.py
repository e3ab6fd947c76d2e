"""Frozen-feature probes: linear probe and k-NN against synthetic data with known answers."""

from __future__ import annotations

import pytest
import torch

from jepa_world.data.images.dataset import ImageDataset, ImageSplits
from jepa_world.eval.image_probe import evaluate_encoder
from jepa_world.eval.probes import fit_logistic, knn_accuracy, knn_predict, linear_probe, predict_logistic
from jepa_world.train.probe_callback import probe_callback


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_linear_probe_on_linearly_separable_features_is_perfect():
    g = _gen(0)
    w = torch.randn(5, 16, generator=g)  # 5 classes = argmax of a random linear map
    x = torch.randn(3000, 16, generator=g)
    logits = x @ w.T
    top2 = logits.topk(2, dim=1).values
    x = x[top2[:, 0] - top2[:, 1] > 1.0][:600]  # keep a margin: separable with room to spare
    y = (x @ w.T).argmax(dim=1)
    res = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert res.train_acc == 1.0 and res.test_acc >= 0.98


def test_linear_probe_is_at_chance_on_random_labels():
    g = _gen(1)
    x, y = torch.randn(500, 8, generator=g), torch.randint(0, 4, (500,), generator=g)
    res = linear_probe(x[:300], y[:300], x[300:], y[300:])
    assert res.test_acc < 0.4  # chance = 0.25


def test_logistic_regression_matches_a_closed_form_case():
    # two symmetric 1-D points, labels 0/1: with an L2 penalty the optimum is finite, symmetric, correct
    x = torch.tensor([[-1.0], [1.0]])
    y = torch.tensor([0, 1])
    w = fit_logistic(x, y, 2, weight_decay=0.1)
    assert predict_logistic(w, x).tolist() == [0, 1]
    assert float((w[0, 0] + w[1, 0]).abs()) < 1e-6  # softmax symmetry: the penalty picks the centred solution
    assert abs(float(w[0, 1] - w[1, 1])) < 1e-6  # no bias preference between symmetric classes


def test_probe_accuracy_is_invariant_to_feature_scaling():
    g = _gen(2)
    x = torch.randn(300, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    scale = torch.tensor([1000.0, 0.001, 1.0, 5.0, 1.0, 1.0])
    a = linear_probe(x[:200], y[:200], x[200:], y[200:], weight_decay=1e-3)
    b = linear_probe(x[:200] * scale, y[:200], x[200:] * scale, y[200:], weight_decay=1e-3)
    assert a.test_acc == pytest.approx(b.test_acc)


def test_knn_matches_brute_force_and_clusters():
    g = _gen(3)
    bank, labels = torch.randn(50, 4, generator=g), torch.randint(0, 3, (50,), generator=g)
    queries = torch.randn(10, 4, generator=g)
    pred = knn_predict(bank, labels, queries, k=1)
    cos = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(bank, dim=1).T
    assert torch.equal(pred, labels[cos.argmax(dim=1)])
    centers = torch.eye(3) * 10
    y = torch.arange(90) % 3
    x = centers[y] + torch.randn(90, 3, generator=g)
    assert knn_accuracy(x[:60], y[:60], x[60:], y[60:], k=20) == 1.0


def test_knn_weighted_vote_prefers_close_neighbours():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.05]])
    # with a low temperature the single nearest neighbour outvotes two far ones; with a high one it does not
    assert knn_predict(bank, labels, query, k=3, temperature=0.05).item() == 0
    assert knn_predict(bank, labels, query, k=3, temperature=100.0).item() == 1


def test_evaluate_encoder_and_callback_on_separable_images():
    g = _gen(4)
    y = torch.arange(60) % 3
    imgs = torch.randint(0, 30, (60, 1, 4, 4), generator=g)
    for c in range(3):  # class c: a bright row c
        imgs[y == c, 0, c] += 200
    imgs = imgs.to(torch.uint8)
    ds = ImageDataset(imgs, y, ("a", "b", "c"))
    splits = ImageSplits.from_datasets(ds.subset(torch.arange(40)), ds.subset(torch.arange(40, 60)))
    out = evaluate_encoder(lambda x: x.flatten(1), splits)
    assert out["linear_acc"] == 1.0 and out["knn_acc"] == 1.0 and out["collapsed"] == 0.0
    cb = probe_callback(splits, every=5)

    class Enc(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(16, 16)

        def encode(self, x):
            return x.flatten(1)

    metrics = cb.fn(5, Enc())
    assert metrics["linear_acc"] == 1.0 and cb.every == 5 and cb.name == "probe"
    constant = evaluate_encoder(lambda x: torch.ones(x.shape[0], 8), splits)
    assert constant["collapsed"] == 1.0 and constant["knn_acc"] <= 0.5
