"""A detached linear probe from a frame representation to a coarse map of where the digits are.

Target: the frame is cut into ``grid x grid`` cells; a cell is 1 when a digit's centre lies in it, else
0 (:func:`location_heatmap`). The probe is ridge regression from the flattened representation
(standardised with the fit set's statistics) to the ``grid^2`` cells, fitted in closed form on frozen
features; the penalty is chosen among :data:`RIDGE_ALPHAS` (times the mean eigenvalue of the
features' Gram matrix) by the squared error on the last 20 % of the fit samples, then refitted on all.

From a predicted heat-map, :func:`decode_locations` reads K positions: the K strongest cells (each
pick suppresses its neighbourhood), refined to the score-weighted centroid of the 3x3 cells around it.

Examples:
    >>> heat = location_heatmap(torch.tensor([[[6.0, 2.0]]]), grid=4, image_size=16)  # x=6 -> column 1
    >>> heat.view(4, 4)[0].tolist()
    [0.0, 1.0, 0.0, 0.0]
    >>> decode_locations(heat.view(1, 4, 4), k=1, image_size=16).tolist()            # that cell's centre
    [[[6.0, 2.0]]]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

RIDGE_ALPHAS: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Candidate ridge penalties, relative to the mean eigenvalue of the standardised features' Gram matrix."""
HOLDOUT_FRACTION = 0.2
"""The last fifth of the fit samples chooses the penalty."""


def location_heatmap(positions: Tensor, *, grid: int, image_size: int) -> Tensor:
    """Cells holding a digit centre: positions (N, K, 2) (x, y) px -> (N, grid * grid) float 0/1, row-major."""
    if positions.ndim != 3 or positions.shape[-1] != 2:
        raise ValueError(f"location_heatmap: expected positions (N, K, 2), got {tuple(positions.shape)}")
    if grid < 1 or image_size < grid:
        raise ValueError(f"location_heatmap: need 1 <= grid <= image_size, got grid={grid}, image_size={image_size}")
    cell = (positions * (grid / image_size)).floor().long().clamp_(0, grid - 1)  # (N, K, 2) column, row
    index = cell[..., 1] * grid + cell[..., 0]  # (N, K)
    heat = torch.zeros(positions.shape[0], grid * grid)
    return heat.scatter_(1, index, 1.0)


@dataclass
class RidgeProbe:
    """A fitted linear map: standardised features (N, F) -> outputs (N, O)."""

    mean: Tensor
    """(F,) feature mean of the fit set."""
    std: Tensor
    """(F,) feature std of the fit set (clamped away from 0)."""
    weight: Tensor
    """(F, O)."""
    bias: Tensor
    """(O,) the fit set's target mean."""
    alpha: float
    """The chosen relative penalty."""

    def predict(self, x: Tensor) -> Tensor:
        """(N, F) -> (N, O)."""
        if x.ndim != 2 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"RidgeProbe.predict: expected (N, {self.weight.shape[0]}) features, got {tuple(x.shape)}")
        xs = (x.to(self.weight.dtype) - self.mean) / self.std
        return (xs @ self.weight + self.bias).float()


def fit_ridge(x: Tensor, y: Tensor, *, alphas: tuple[float, ...] = RIDGE_ALPHAS) -> RidgeProbe:
    """Ridge regression of y (N, O) on x (N, F) with the penalty chosen on a hold-out (module docstring)."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 5:
        raise ValueError(f"fit_ridge: expected x (N, F) and y (N, O) with N >= 5, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    x, y = x.double(), y.double()
    n_fit = x.shape[0] - max(1, int(x.shape[0] * HOLDOUT_FRACTION))
    scores = []
    for alpha in alphas:
        probe = _solve(x[:n_fit], y[:n_fit], alpha)
        scores.append(float((probe.predict(x[n_fit:]).double() - y[n_fit:]).pow(2).mean()))
    best = alphas[min(range(len(alphas)), key=scores.__getitem__)]
    return _solve(x, y, best)


def _solve(x: Tensor, y: Tensor, alpha: float) -> RidgeProbe:
    """Closed-form ridge on standardised x (float64)."""
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    xs, y_mean = (x - mean) / std, y.mean(0)
    if xs.shape[0] >= xs.shape[1]:  # primal: (F, F) system; the product in float32 (speed), the solve in float64
        gram = (xs.float().T @ xs.float()).double()
        lam = alpha * float(gram.diagonal().mean())
        weight = torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=gram.dtype), xs.T @ (y - y_mean))
    else:  # dual: (N, N) system, same solution
        gram = (xs.float() @ xs.float().T).double()
        lam = alpha * float(gram.diagonal().mean())
        weight = xs.T @ torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=gram.dtype), y - y_mean)
    return RidgeProbe(mean, std, weight, y_mean, alpha)


def decode_locations(heat: Tensor, *, k: int, image_size: int, suppress: int = 2) -> Tensor:
    """K positions from heat-maps: (N, G, G) scores -> (N, K, 2) (x, y) px.

    Each pick is the strongest remaining cell, refined to the centroid of the positive scores of its
    3x3 neighbourhood (cell centres as coordinates); cells within ``suppress`` cells of a pick are then
    excluded.
    """
    if heat.ndim != 3 or heat.shape[1] != heat.shape[2] or k < 1:
        raise ValueError(f"decode_locations: expected heat (N, G, G) and k >= 1, got {tuple(heat.shape)}, k={k}")
    n, g = heat.shape[0], heat.shape[1]
    cell_px = image_size / g
    centres = (torch.arange(g, dtype=torch.float32) + 0.5) * cell_px  # (G,)
    weights = F.pad(heat.float().clamp_min(0), (1, 1, 1, 1))  # (N, G+2, G+2)
    live = heat.float().clone()
    rows = torch.arange(n)
    out = []
    for _ in range(k):
        flat = live.reshape(n, -1).argmax(dim=1)
        r, c = flat // g, flat % g  # (N,)
        out.append(_refine(weights, r, c, centres, cell_px))
        near_r = (torch.arange(g)[None] - r[:, None]).abs() <= suppress  # (N, G)
        near_c = (torch.arange(g)[None] - c[:, None]).abs() <= suppress
        live[near_r[:, :, None] & near_c[:, None, :]] = float("-inf")
        live[rows, r, c] = float("-inf")
    return torch.stack(out, dim=1)


def _refine(weights: Tensor, r: Tensor, c: Tensor, centres: Tensor, cell_px: float) -> Tensor:
    """Score-weighted centroid of the 3x3 cells around (r, c): weights (N, G+2, G+2) padded -> (N, 2) px."""
    offsets = torch.tensor([-1, 0, 1])
    rr = r[:, None, None] + offsets[None, :, None] + 1  # (N, 3, 1) in padded coordinates
    cc = c[:, None, None] + offsets[None, None, :] + 1  # (N, 1, 3)
    w = weights[torch.arange(weights.shape[0])[:, None, None], rr, cc]  # (N, 3, 3)
    g = centres.shape[0]
    ext = torch.cat([centres[:1] - cell_px, centres, centres[-1:] + cell_px])  # (G+2,) padded centres
    ys, xs = ext[rr.clamp(0, g + 1)].expand_as(w), ext[cc.clamp(0, g + 1)].expand_as(w)
    total = w.sum(dim=(1, 2))
    fallback = torch.stack([ext[c + 1], ext[r + 1]], dim=1)  # the cell's centre when no score is positive
    weighted = torch.stack([(w * xs).sum(dim=(1, 2)), (w * ys).sum(dim=(1, 2))], dim=1)  # (N, 2)
    centroid = weighted / total.clamp_min(1e-12)[:, None]
    return torch.where(total[:, None] > 0, centroid, fallback)
