"""How well a video model predicts where the digits will be, at each horizon h = 1..H.

Protocol (the numbers in docs/video.md use it):

1. A :mod:`location probe <jepa_world.eval.location_probe>` is fitted on the frozen *target-space*
   representations (``model.encode_target``) of every frame of ``probe`` clips (train-split digits).
2. On ``eval`` clips (test-split digits, never seen in training) of k + H frames, the predictor
   unrolls H steps from the k context frames' representations, feeding its predictions back.
3. At each horizon h the probe reads the digit locations from
   * ``predicted``: the unrolled representation;
   * ``copy_last``: the last context frame's representation (the "nothing moves" baseline);
   * ``encoded``: the true future frame's representation (what a perfect predictor would give: the
     probe's own ceiling).
   Scores per horizon: average precision of the cell heat-map against the cells holding a digit
   centre (pooled over clips and cells), the matched location error in px, and the relative latent
   error ``||z_pred - z_true||^2 / (D * Var(z_true))`` (not for ``encoded``, where it is 0).

The model needs ``encode``, ``encode_target``, ``unroll(context, steps=)`` and ``config.context`` (see
:class:`~jepa_world.methods.video_jepa.VideoJEPA`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from jepa_world.data.video.moving_digits import VideoClips
from jepa_world.eval.location_metrics import average_precision, matched_location_error
from jepa_world.eval.location_probe import RidgeProbe, decode_locations, fit_ridge, location_heatmap


@dataclass
class HorizonMetrics:
    """Scores of one representation source at horizons 1..H (list index h - 1)."""

    ap: list[float]
    """Average precision of the location heat-map (higher is better; chance = fraction of positive cells)."""
    location_error_px: list[float]
    """Mean matched distance between decoded and true digit centres, px (lower is better)."""
    latent_rel_error: list[float]
    """Mean squared error to the true future representation over its variance (empty for ``encoded``)."""

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)


@torch.no_grad()
def encode_frames(encode, frames: Tensor, *, batch_size: int = 64) -> Tensor:
    """``encode`` over (N, T, C, H, W) frames in chunks of clips -> (N, T, D, h, w), float32."""
    parts = [encode(frames[i:i + batch_size]) for i in range(0, frames.shape[0], batch_size)]
    return torch.cat(parts)


@torch.no_grad()
def unroll_clips(model: nn.Module, context: Tensor, *, steps: int, batch_size: int = 64) -> Tensor:
    """``model.unroll`` over context (N, k, D, h, w) in chunks -> (N, steps, D, h, w)."""
    parts = [model.unroll(context[i:i + batch_size], steps=steps) for i in range(0, context.shape[0], batch_size)]
    return torch.cat(parts)


def fit_location_probe(reps: Tensor, positions: Tensor, *, grid: int, image_size: int) -> RidgeProbe:
    """Probe fitted on representations reps (N, T, D, h, w) of frames whose digit centres are positions (N, T, K, 2)."""
    targets = location_heatmap(positions.flatten(0, 1), grid=grid, image_size=image_size)  # (N*T, G*G)
    return fit_ridge(reps.flatten(2).flatten(0, 1), targets)


def score_horizons(probe: RidgeProbe, reps: Tensor, positions: Tensor, *, grid: int, image_size: int,
                   truth: Tensor | None = None) -> HorizonMetrics:
    """Scores of reps (N, H, D, h, w) against positions (N, H, K, 2); truth (N, H, D, h, w) for the latent error."""
    n, horizon, k = positions.shape[0], positions.shape[1], positions.shape[2]
    ap, err, rel = [], [], []
    for h in range(horizon):
        heat = probe.predict(reps[:, h].reshape(n, -1))  # (N, G*G)
        labels = location_heatmap(positions[:, h], grid=grid, image_size=image_size)
        ap.append(average_precision(heat, labels))
        where = decode_locations(heat.view(n, grid, grid), k=k, image_size=image_size)
        err.append(float(matched_location_error(where, positions[:, h]).mean()))
        if truth is not None:
            rel.append(relative_latent_error(reps[:, h], truth[:, h]))
    return HorizonMetrics(ap, err, rel)


def relative_latent_error(pred: Tensor, true: Tensor) -> float:
    """Mean squared error over the mean per-feature variance of ``true`` across samples: (N, ...) pairs -> float."""
    p, t = pred.reshape(pred.shape[0], -1), true.reshape(true.shape[0], -1)
    return float((p - t).pow(2).mean() / t.var(dim=0).mean().clamp_min(1e-12))


@dataclass
class HorizonEvaluation:
    """What :func:`evaluate_horizons` measured, and the tensors pictures are made of."""

    metrics: dict[str, HorizonMetrics]
    """``"predicted"``, ``"copy_last"``, ``"encoded"`` -> scores per horizon."""
    probe: RidgeProbe
    """The fitted location probe (flattened target-space map -> grid * grid cell scores)."""
    truth: Tensor
    """(N, T, D, h, w) target-space representations of every eval frame."""
    predicted: Tensor
    """(N, H, D, h, w) the unrolled predictions."""

    def metrics_dict(self) -> dict[str, dict[str, list[float]]]:
        return {name: m.as_dict() for name, m in self.metrics.items()}


@torch.no_grad()
def evaluate_horizons(model: nn.Module, probe_clips: VideoClips, eval_clips: VideoClips, *, grid: int = 16,
                      batch_size: int = 64) -> HorizonEvaluation:
    """Scores of ``predicted``, ``copy_last`` and ``encoded`` per horizon (protocol in the module docstring).

    ``eval_clips`` must have more than k frames; the horizon is H = T - k.
    """
    k = model.config.context
    t = eval_clips.frames.shape[1]
    if t <= k:
        raise ValueError(f"evaluate_horizons: eval clips of {t} frames leave no horizon after k={k} context frames")
    size = eval_clips.frames.shape[-1]
    model.eval()
    fit_reps = encode_frames(model.encode_target, probe_clips.frames, batch_size=batch_size)
    probe = fit_location_probe(fit_reps, probe_clips.positions, grid=grid, image_size=size)
    truth = encode_frames(model.encode_target, eval_clips.frames, batch_size=batch_size)  # (N, T, D, h, w)
    context = encode_frames(model.encode, eval_clips.frames[:, :k], batch_size=batch_size)
    predicted = unroll_clips(model, context, steps=t - k, batch_size=batch_size)  # (N, H, D, h, w)
    future, positions = truth[:, k:], eval_clips.positions[:, k:]
    copy_last = truth[:, k - 1:k].expand_as(future)
    score = {"grid": grid, "image_size": size}
    metrics = {
        "predicted": score_horizons(probe, predicted, positions, truth=future, **score),
        "copy_last": score_horizons(probe, copy_last, positions, truth=future, **score),
        "encoded": score_horizons(probe, future, positions, **score),
    }
    return HorizonEvaluation(metrics, probe, truth, predicted)
