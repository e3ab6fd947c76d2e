"""Evaluate a trained video JEPA run directory: probe metrics per horizon, baselines, pictures.

``eval_video_run(run_dir)`` (CLI ``jepa-world eval-video RUN``) runs the protocol of
:mod:`jepa_world.eval.video_horizons` on moving-digit clips made with the run's data config (test-split
digits; a Moving-MNIST run is evaluated on moving digits of the same size, as that file has no
positions), for the trained model and for a randomly initialised model of the same architecture
(seeded as training was). It reports, per horizon h = 1..H, the heat-map AP, the location error and
the relative latent error of the predictions, of the copy-last baseline, of the random-init model's
predictions and of the encoded true frames (the probe's ceiling), plus verdicts:

* ``beats_copy_last`` / ``beats_random_init``: the predictions have a higher AP *and* a lower location
  error than the baseline at every horizon;
* ``error_grows_with_horizon``: the predictions' location error at the last horizon exceeds the one at h = 1.

Optionally a pixel decoder is fitted on detached representations (:mod:`~jepa_world.eval.video_decoder`)
for the rollout GIF, and the error curves are drawn in a PNG (:mod:`~jepa_world.eval.video_pictures`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jepa_world.config import from_dict, to_dict
from jepa_world.data.seeds import mixed_seed
from jepa_world.data.video.moving_digits import MovingDigits, VideoClips
from jepa_world.data.video.source import VideoDataConfig
from jepa_world.eval.location_probe import decode_locations
from jepa_world.eval.video_decoder import fit_pixel_decoder
from jepa_world.eval.video_horizons import HorizonEvaluation, HorizonMetrics, evaluate_horizons
from jepa_world.eval.video_pictures import horizon_curve_png, rollout_gif
from jepa_world.presets import build_method
from jepa_world.runs.load import load_method

KIND_VIDEO = "video_jepa"


@dataclass
class VideoEvalConfig:
    """What ``jepa-world eval-video`` measures (override with key=value)."""

    horizon: int = 10
    """H: frames predicted after the k context frames (the clips have k + H frames)."""
    eval_clips: int = 256
    """Evaluation clips (test-split digits, never seen in training)."""
    probe_clips: int = 256
    """Clips (train-split digits) whose every frame fits the location probe."""
    grid: int = 16
    """The location heat-map has grid x grid cells (16: 4 px cells on 64 px frames)."""
    seed: int = 0
    """Seed of the clips and of the decoder."""
    batch_size: int = 64
    """Clips per forward pass."""
    random_init: bool = True
    """Also evaluate a randomly initialised model of the same architecture."""
    decoder_steps: int = 400
    """Steps of the visualisation decoder (when a GIF is asked for)."""
    decoder_batch: int = 64
    """Frames per decoder step."""
    gif_clips: int = 4
    """Clips (rows) in the GIF."""

    def validate(self) -> None:
        """Raise ValueError naming every bad field."""
        fields = {k: getattr(self, k) for k in ("horizon", "eval_clips", "probe_clips", "grid", "batch_size",
                                                 "decoder_steps", "decoder_batch", "gif_clips")}
        bad = {k: v for k, v in fields.items() if v < 1}
        if bad:
            raise ValueError(f"VideoEvalConfig fields must be >= 1, got {bad}")
        if self.probe_clips < 2 or self.eval_clips < 2:
            raise ValueError(f"probe_clips and eval_clips must be >= 2, got {self.probe_clips}, {self.eval_clips}")


def make_clips(data: VideoDataConfig, *, split: str, n: int, num_frames: int, seed: int) -> VideoClips:
    """``n`` moving-digit clips of ``split``'s digits, seeded by ``(seed, split)``."""
    tag = 1 if split == "train" else 2
    generator = torch.Generator().manual_seed(mixed_seed(seed, tag))
    return MovingDigits(data.digits, split=split).sample(n, num_frames=num_frames, generator=generator)


def eval_video_run(run_dir: Path | str, config: VideoEvalConfig | None = None, *, gif: Path | str | None = None,
                   png: Path | str | None = None) -> dict[str, Any]:
    """The JSON-able report described in the module docstring; writes ``gif`` / ``png`` when given."""
    cfg = config or VideoEvalConfig()
    cfg.validate()
    t0 = time.perf_counter()
    model, run_config = load_method(run_dir, expected_kind=KIND_VIDEO)
    data = from_dict(VideoDataConfig, run_config["model"]["data"])
    k = model.config.context
    probe_clips = make_clips(data, split="train", n=cfg.probe_clips, num_frames=k + cfg.horizon, seed=cfg.seed)
    eval_clips = make_clips(data, split="test", n=cfg.eval_clips, num_frames=k + cfg.horizon, seed=cfg.seed)
    trained = evaluate_horizons(model, probe_clips, eval_clips, grid=cfg.grid, batch_size=cfg.batch_size)
    report: dict[str, Any] = {"run": str(run_dir), "context": k, "horizon": cfg.horizon, "eval": to_dict(cfg),
                              **trained.metrics_dict()}
    if cfg.random_init:
        random_model = random_init_model(run_config)
        baseline = evaluate_horizons(random_model, probe_clips, eval_clips, grid=cfg.grid, batch_size=cfg.batch_size)
        report["random_init"] = baseline.metrics_dict()
    report.update(verdicts(trained.metrics["predicted"], trained.metrics["copy_last"],
                           baseline.metrics["predicted"] if cfg.random_init else None))
    if png is not None:
        report["png"] = str(horizon_curve_png(png, _curves(report), title=f"video JEPA: {run_dir}"))
    if gif is not None:
        report.update(_write_gif(gif, model, data, trained, eval_clips, cfg))
    report["eval_seconds"] = time.perf_counter() - t0
    return report


def random_init_model(run_config: dict[str, Any]) -> nn.Module:
    """An untrained model of the run's architecture, initialised as the run was (seed = train.seed)."""
    torch.manual_seed(int(run_config["train"].get("seed", 0)))
    return build_method(run_config["kind"], run_config["model"]).eval()


def verdicts(predicted: HorizonMetrics, copy_last: HorizonMetrics, random_init: HorizonMetrics | None
             ) -> dict[str, bool]:
    """The pass/fail lines of the report (module docstring)."""
    out = {"beats_copy_last": _better_everywhere(predicted, copy_last),
           "error_grows_with_horizon": predicted.location_error_px[-1] > predicted.location_error_px[0]}
    if random_init is not None:
        out["beats_random_init"] = _better_everywhere(predicted, random_init)
    return out


def _better_everywhere(a: HorizonMetrics, b: HorizonMetrics) -> bool:
    ap = all(x > y for x, y in zip(a.ap, b.ap, strict=True))
    err = all(x < y for x, y in zip(a.location_error_px, b.location_error_px, strict=True))
    return ap and err


def _curves(report: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    curves = {"predicted": report["predicted"], "copy last": report["copy_last"]}
    if "random_init" in report:
        curves["random init (predicted)"] = report["random_init"]["predicted"]
    curves["encoded true frame (probe ceiling)"] = report["encoded"]
    return curves


def _write_gif(path: Path | str, model: nn.Module, data: VideoDataConfig, trained: HorizonEvaluation,
               clips: VideoClips, cfg: VideoEvalConfig) -> dict[str, Any]:
    """Fit the decoder, then draw the first ``gif_clips`` eval clips: true | decoded | predicted locations."""
    decoder, mse = fit_pixel_decoder(model, MovingDigits(data.digits, split="train"), steps=cfg.decoder_steps,
                                     batch_size=cfg.decoder_batch, seed=cfg.seed)
    n, k = min(cfg.gif_clips, len(clips)), model.config.context
    reps = torch.cat([trained.truth[:n, :k], trained.predicted[:n]], dim=1)  # (n, T, D, h, w)
    t = reps.shape[1]
    with torch.no_grad():
        decoded = decoder(reps.flatten(0, 1))[:, 0].view(n, t, *clips.frames.shape[-2:])  # (n, T, H, W)
    heat = trained.probe.predict(reps.flatten(2).flatten(0, 1)).view(n * t, cfg.grid, cfg.grid)
    k_digits = clips.positions.shape[2]
    where = decode_locations(heat, k=k_digits, image_size=clips.frames.shape[-1]).view(n, t, k_digits, 2)
    rollout_gif(path, frames=clips.frames[:n, :, 0], decoded=decoded, heat=heat.view(n, t, cfg.grid, cfg.grid),
                true_xy=clips.positions[:n], pred_xy=where, context=k)
    return {"gif": str(path), "decoder_pixel_mse": mse}
