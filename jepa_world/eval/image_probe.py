"""Probe a frozen image encoder on a dataset's fixed splits, online (a training callback) or offline.

:func:`evaluate_encoder` extracts features of the un-augmented, normalised train and test images,
then reports the linear-probe and k-NN test accuracies (protocol: :mod:`jepa_world.eval.probes`) and
the collapse diagnostics of the centred test features (:mod:`jepa_world.objectives.collapse`).
:func:`~jepa_world.train.probe_callback.probe_callback` wraps it as a training callback: it runs under
``no_grad`` (detached: nothing it does reaches the method's parameters or its RNG streams).

Examples:
    >>> import torch
    >>> from jepa_world.data.images.dataset import ImageDataset, ImageSplits
    >>> y = torch.arange(40) % 2
    >>> imgs = (y.view(-1, 1, 1, 1) * 200 + torch.randint(0, 20, (40, 1, 4, 4))).to(torch.uint8)
    >>> ds = ImageDataset(imgs, y, ("a", "b"))
    >>> out = evaluate_encoder(lambda x: x.flatten(1), ImageSplits.from_datasets(ds, ds))
    >>> out["linear_acc"], out["knn_acc"]
    (1.0, 1.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor

from jepa_world.data.images.dataset import ImageSplits, normalize
from jepa_world.eval.probes import extract_features, knn_accuracy, linear_probe
from jepa_world.objectives.collapse import collapse_report
from jepa_world.objectives.ssl_verdict import REPRESENTATION_THRESHOLDS


def split_features(
    encode: Callable[[Tensor], Tensor], splits: ImageSplits, *, device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> tuple[Tensor, Tensor]:
    """Features (N_train, D) and (N_test, D) of the un-augmented normalised images (float32, CPU)."""
    def prepare(x: Tensor) -> Tensor:
        return normalize(x.to(device), splits.mean, splits.std)

    with torch.no_grad():
        train = extract_features(encode, splits.train.images, batch_size=batch_size, prepare=prepare)
        test = extract_features(encode, splits.test.images, batch_size=batch_size, prepare=prepare)
    return train, test


def evaluate_features(train: Tensor, test: Tensor, splits: ImageSplits, *, knn_k: int = 20) -> dict[str, float]:
    """Linear-probe and k-NN test accuracy plus collapse metrics of the (centred) test features
    (the representation rules of :mod:`jepa_world.objectives.ssl_verdict`)."""
    ytr, yte = splits.train.labels, splits.test.labels
    probe = linear_probe(train, ytr, test, yte, num_classes=splits.train.num_classes)
    report = collapse_report(test - test.mean(dim=0, keepdim=True), thresholds=REPRESENTATION_THRESHOLDS)
    return {
        "linear_acc": probe.test_acc,
        "linear_train_acc": probe.train_acc,
        "linear_weight_decay": probe.weight_decay,
        "knn_acc": knn_accuracy(train, ytr, test, yte, k=knn_k),
        "effective_rank": report.effective_rank,
        "rank_fraction": report.rank_fraction,
        "normalized_std_ratio": report.normalized_std_ratio,
        "collapsed": float(report.collapsed),
    }


def evaluate_encoder(
    encode: Callable[[Tensor], Tensor], splits: ImageSplits, *, device: torch.device | str = "cpu",
    batch_size: int = 512, knn_k: int = 20,
) -> dict[str, float]:
    """:func:`split_features` then :func:`evaluate_features`; adds ``seconds`` (wall time of the probe)."""
    t0 = time.perf_counter()
    train, test = split_features(encode, splits, device=device, batch_size=batch_size)
    out = evaluate_features(train, test, splits, knn_k=knn_k)
    out["seconds"] = time.perf_counter() - t0
    return out
