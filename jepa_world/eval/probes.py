"""Frozen-feature probes: a linear probe (multinomial logistic regression) and a weighted k-NN.

Protocol (the one docs/ssl.md describes and every number in the project uses):

* Features are computed once, with the encoder frozen in eval mode, on un-augmented normalised
  images of the fixed train and test splits.
* **Linear probe**: features standardised with the train split's per-dimension mean and std; a
  multinomial logistic regression fitted on the *train* split by full-batch L-BFGS with an L2
  penalty. The penalty is chosen among :data:`WEIGHT_DECAYS` on a fixed 20 % hold-out of the train
  split (every 5th train sample), then the probe is refitted on the whole train split and its
  accuracy is measured on the *test* split.
* **k-NN**: L2-normalised features, cosine similarity, the k = 20 nearest train samples vote with
  weights ``exp(sim / 0.07)`` (Wu et al. 2018; Caron et al. 2021, DINO); accuracy on the test split.

Examples:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.arange(200) % 4
    >>> x = torch.nn.functional.one_hot(y, 4).float() * 3 + 0.1 * torch.randn(200, 4, generator=g)
    >>> linear_probe(x[:150], y[:150], x[150:], y[150:]).test_acc
    1.0
    >>> knn_accuracy(x[:150], y[:150], x[150:], y[150:], k=5)
    1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

WEIGHT_DECAYS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)
"""Candidate L2 penalties (on the mean cross-entropy) of the linear probe."""


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`linear_probe`."""

    train_acc: float
    """Accuracy on the samples the probe was fitted on."""
    test_acc: float
    """Accuracy on the held-out samples."""
    weight_decay: float
    """The L2 penalty used for the final fit."""


def _check_xy(name: str, x: Tensor, y: Tensor) -> None:
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] < 1:
        raise ValueError(f"{name}: expected features (N, D) and labels (N,), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")


def standardize(train: Tensor, *others: Tensor, eps: float = 1e-6) -> tuple[Tensor, ...]:
    """Subtract the train mean and divide by the train std (per dimension) in every tensor given."""
    mean, std = train.mean(dim=0), train.std(dim=0).clamp_min(eps)
    return tuple((x - mean) / std for x in (train, *others))


def fit_logistic(x: Tensor, y: Tensor, num_classes: int, *, weight_decay: float, max_iter: int = 200) -> Tensor:
    """Multinomial logistic regression by full-batch L-BFGS.

    Minimises ``CE(x W^T + b, y) + weight_decay * ||W||^2`` (mean cross-entropy, bias not penalised).

    Args:
        x: (N, D) features (standardise them first).
        y: (N,) labels in [0, num_classes).
        num_classes: K.
        weight_decay: L2 penalty on W.
        max_iter: L-BFGS iterations.

    Returns:
        (K, D + 1): ``[W | b]``.
    """
    _check_xy("fit_logistic", x, y)
    x = x.detach().double()
    w = torch.zeros(num_classes, x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=max_iter, history_size=20, tolerance_grad=1e-9,
                            tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        logits = x @ w[:, :-1].T + w[:, -1]  # (N, K)
        loss = F.cross_entropy(logits, y) + weight_decay * w[:, :-1].pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach()


def predict_logistic(w: Tensor, x: Tensor) -> Tensor:
    """Labels (N,) predicted by ``[W | b]`` (K, D + 1) on features x (N, D)."""
    return (x.double() @ w[:, :-1].T + w[:, -1]).argmax(dim=1)


def _accuracy(pred: Tensor, y: Tensor) -> float:
    return float((pred == y).double().mean())


def linear_probe(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    *,
    weight_decay: float | None = None,
    num_classes: int | None = None,
    max_iter: int = 200,
) -> ProbeResult:
    """Linear-probe accuracy of frozen features (protocol in the module docstring).

    Args:
        train_x: (N, D) train features; train_y: (N,) labels.
        test_x: (M, D) test features; test_y: (M,) labels.
        weight_decay: fixed L2 penalty, or None to select it among :data:`WEIGHT_DECAYS` on a hold-out
            of every 5th train sample.
        num_classes: K (default: ``max label + 1`` over both splits).
        max_iter: L-BFGS iterations per fit.

    Returns:
        :class:`ProbeResult`.
    """
    _check_xy("linear_probe (train)", train_x, train_y)
    _check_xy("linear_probe (test)", test_x, test_y)
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"linear_probe: train and test features differ in width: {train_x.shape[1]} vs "
                         f"{test_x.shape[1]}")
    k = num_classes or int(max(int(train_y.max()), int(test_y.max()))) + 1
    train_x, test_x = standardize(train_x.double(), test_x.double())
    if weight_decay is None:
        weight_decay = select_weight_decay(train_x, train_y, k, max_iter=max_iter)
    w = fit_logistic(train_x, train_y, k, weight_decay=weight_decay, max_iter=max_iter)
    return ProbeResult(
        train_acc=_accuracy(predict_logistic(w, train_x), train_y),
        test_acc=_accuracy(predict_logistic(w, test_x), test_y),
        weight_decay=float(weight_decay),
    )


def select_weight_decay(x: Tensor, y: Tensor, num_classes: int, *, max_iter: int = 200) -> float:
    """The penalty of :data:`WEIGHT_DECAYS` with the best accuracy on every 5th sample of (x, y)
    when fitted on the others (ties go to the smaller penalty)."""
    held = torch.zeros(x.shape[0], dtype=torch.bool)
    held[4::5] = True
    if held.sum() == 0 or (~held).sum() == 0:
        return WEIGHT_DECAYS[-1]
    best, best_acc = min(WEIGHT_DECAYS), -1.0
    for wd in sorted(WEIGHT_DECAYS):
        w = fit_logistic(x[~held], y[~held], num_classes, weight_decay=wd, max_iter=max_iter)
        acc = _accuracy(predict_logistic(w, x[held]), y[held])
        if acc > best_acc:
            best, best_acc = wd, acc
    return best


def knn_predict(
    train_x: Tensor, train_y: Tensor, query_x: Tensor, *, k: int = 20, temperature: float = 0.07,
    num_classes: int | None = None, chunk: int = 1024,
) -> Tensor:
    """Weighted cosine k-NN labels (N_query,): the k most similar train samples vote ``exp(sim / T)``."""
    _check_xy("knn_predict", train_x, train_y)
    if query_x.ndim != 2 or query_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"knn_predict: queries must be (M, {train_x.shape[1]}), got {tuple(query_x.shape)}")
    if k < 1 or temperature <= 0:
        raise ValueError(f"knn_predict: need k >= 1 and temperature > 0, got k={k}, temperature={temperature}")
    classes = num_classes or int(train_y.max()) + 1
    bank = F.normalize(train_x.float(), dim=1)  # (N, D)
    k = min(k, bank.shape[0])
    out = []
    for q in F.normalize(query_x.float(), dim=1).split(chunk):
        sim, idx = (q @ bank.T).topk(k, dim=1)  # (m, k)
        votes = torch.zeros(q.shape[0], classes, dtype=torch.float64)
        votes.scatter_add_(1, train_y[idx], (sim.double() / temperature).exp())
        out.append(votes.argmax(dim=1))
    return torch.cat(out)


def knn_accuracy(
    train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, *, k: int = 20, temperature: float = 0.07
) -> float:
    """Test accuracy of :func:`knn_predict` (protocol in the module docstring)."""
    _check_xy("knn_accuracy (test)", test_x, test_y)
    k_classes = int(max(int(train_y.max()), int(test_y.max()))) + 1
    pred = knn_predict(train_x, train_y, test_x, k=k, temperature=temperature, num_classes=k_classes)
    return _accuracy(pred, test_y)


@torch.no_grad()
def extract_features(encode: Callable[[Tensor], Tensor], images: Tensor, *, batch_size: int = 512,
                     prepare: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """``encode`` applied to ``images`` in batches under no_grad: (N, ...) -> (N, D) float32 on the CPU.

    ``prepare`` (e.g. normalisation and a move to the model's device) is applied to each batch first.
    """
    feats = []
    for chunk in images.split(batch_size):
        x = prepare(chunk) if prepare is not None else chunk
        feats.append(encode(x).float().cpu())
    return torch.cat(feats)
