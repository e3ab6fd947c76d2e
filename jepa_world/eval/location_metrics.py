"""Scores of digit-location estimates: average precision of a location heat-map, matched location error.

Examples:
    >>> average_precision(torch.tensor([0.9, 0.8, 0.7, 0.1]), torch.tensor([1, 0, 1, 0]))  # (1 + 2/3) / 2
    0.8333333333333333
    >>> pred = torch.tensor([[[10.0, 10.0], [40.0, 40.0]]])
    >>> true = torch.tensor([[[40.0, 43.0], [10.0, 14.0]]])                                 # swapped order
    >>> matched_location_error(pred, true).tolist()                                         # (3 + 4) / 2
    [3.5]
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

MAX_OBJECTS_MATCHED = 6
"""matched_location_error tries every assignment (K! of them); more objects than this are refused."""


def average_precision(scores: Tensor, labels: Tensor) -> float:
    """Average precision: the mean, over the positives, of the precision at each positive's rank.

    Scores are ranked in descending order (ties keep their input order). Random scores give about the
    fraction of positives; scores that rank every positive first give 1.

    Args:
        scores: (N,) higher = more likely positive.
        labels: (N,) 0/1 (or bool), at least one positive.

    Returns:
        float in (0, 1].
    """
    scores, labels = scores.reshape(-1), labels.reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(f"average_precision: scores and labels need equal sizes, got {scores.numel()} and "
                         f"{labels.numel()}")
    positives = labels.to(torch.float64)
    if float(positives.sum()) <= 0:
        raise ValueError("average_precision: labels hold no positive")
    order = torch.argsort(scores.to(torch.float64), descending=True, stable=True)
    hits = positives[order]  # (N,) 1 where a positive sits at that rank
    precision = hits.cumsum(0) / torch.arange(1, hits.numel() + 1, dtype=torch.float64)
    return float((precision * hits).sum() / hits.sum())


def matched_location_error(pred: Tensor, true: Tensor) -> Tensor:
    """Mean distance between estimated and true object positions under the best assignment.

    The K estimates of a sample are matched to its K true positions by the permutation with the
    smallest mean distance (objects are unordered).

    Args:
        pred: (N, K, 2) estimated positions (px).
        true: (N, K, 2) true positions (px).

    Returns:
        (N,) mean matched distance per sample (px).
    """
    if pred.shape != true.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"matched_location_error: expected pred and true of equal shape (N, K, 2), got "
                         f"{tuple(pred.shape)} and {tuple(true.shape)}")
    k = pred.shape[1]
    if k > MAX_OBJECTS_MATCHED:
        raise ValueError(f"matched_location_error: at most {MAX_OBJECTS_MATCHED} objects, got {k}")
    errors = [(pred[:, list(p)] - true).norm(dim=-1).mean(dim=-1) for p in itertools.permutations(range(k))]
    return torch.stack(errors).min(dim=0).values
