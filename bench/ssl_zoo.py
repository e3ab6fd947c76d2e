"""Benchmark: every image-SSL method on the same dataset with the same wall-clock budget.

For each method the preset ``<method>-<dataset>`` is trained through the one training loop for
``--minutes`` of wall-clock time: a short calibration run measures the seconds per step, the run's
``train.steps`` is set so that the cosine schedule ends inside the budget, and ``train.time_budget_s``
stops it at the budget in any case. Then the frozen representation is probed (linear probe and k-NN
on the fixed test split, protocol in docs/ssl.md) beside a randomly initialised encoder of the same
architecture, and the collapse verdict is taken. A logistic regression and a k-NN on raw pixels are
reported as the reference point.

Usage:
    python bench/ssl_zoo.py [--minutes 5] [--dataset digits] [--methods vicreg,byol,...]
                            [--threads 1] [--collapse-minutes 1] [--out runs/ssl_zoo]
                            [-- key=value overrides for every preset]

Then the two deliberately broken configurations (VICReg with variance and covariance weights 0,
SimSiam without stop-gradient) are trained for ``--collapse-minutes`` each and diagnosed: collapse
detection works when they are called "collapsed" and every method above "healthy".

Prints one line per run as it finishes, then one JSON object on its last line:
``{"dataset", "budget_minutes", "machine", "raw_pixels": {...}, "methods": {method: {"linear_acc",
"knn_acc", "effective_rank", "minutes", "images_per_s", "steps", "random_init_linear_acc",
"random_init_knn_acc", "verdict", "reasons"}}, "best": method, "broken": {label: {...}},
"collapse_detection": {"healthy_runs_called_healthy", "broken_runs_called_collapsed"}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from jepa_world.config import apply_overrides
from jepa_world.data.images.dataset import normalize
from jepa_world.data.images.registry import load_image_splits
from jepa_world.eval.probes import knn_accuracy, linear_probe
from jepa_world.presets import get_preset
from jepa_world.presets.ssl import JOINT_METHODS
from jepa_world.runs.ssl_run import diagnose_run, eval_probe_run
from jepa_world.train import read_metrics, train

METHODS = ("ijepa", *JOINT_METHODS)
QUIET = ["train.progress=false", "train.tensorboard=false", "train.resume=false"]


def _machine(threads: int) -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
            "device": "cuda" if torch.cuda.is_available() else "cpu"}


def _build(name: str, overrides: list[str]):
    preset = get_preset(name)
    cfg = apply_overrides(preset.config(), QUIET + overrides)
    return cfg, preset.build(cfg)


def _train(spec, run_dir: Path, *, callbacks: bool = True):
    return train(spec.method, spec.source, spec.train, run_dir=run_dir, kind=spec.kind,
                 model_config=spec.model_config, batch_size=spec.batch_size,
                 callbacks=spec.callbacks if callbacks else [])


def seconds_per_step(name: str, overrides: list[str], scratch: Path, *, steps: int = 12) -> float:
    """Mean wall time of steps 3..steps of a throw-away run (no probe, no diagnostics, no checkpoint)."""
    _, spec = _build(name, overrides + [f"train.steps={steps}", "train.diag_every=0", "train.ckpt_every=0",
                                        "train.log_every=1", "train.warmup_steps=1"])
    shutil.rmtree(scratch, ignore_errors=True)
    _train(spec, scratch, callbacks=False)
    events = [e for e in read_metrics(scratch / "metrics.jsonl") if "train/loss" in e["metrics"]]
    t = {e["step"]: e["time"] for e in events}
    shutil.rmtree(scratch, ignore_errors=True)
    return (t[steps] - t[2]) / (steps - 2)


def raw_pixel_reference(dataset_overrides: list[str]) -> dict:
    """Linear probe and k-NN (same protocol) on the normalised raw pixels."""
    cfg = apply_overrides(get_preset("vicreg-digits").config(), dataset_overrides).data
    splits = load_image_splits(cfg)
    xtr = normalize(splits.train.images, splits.mean, splits.std).flatten(1)
    xte = normalize(splits.test.images, splits.mean, splits.std).flatten(1)
    lin = linear_probe(xtr, splits.train.labels, xte, splits.test.labels)
    return {"linear_acc": lin.test_acc, "knn_acc": knn_accuracy(xtr, splits.train.labels, xte, splits.test.labels),
            "dims": int(xtr.shape[1])}


BROKEN = {
    "vicreg-no-var-cov": ("vicreg", ["model.vicreg.var_weight=0", "model.vicreg.cov_weight=0"]),
    "simsiam-no-stop-grad": ("simsiam", ["model.stop_gradient=false"]),
}
"""Deliberately collapsing configurations: label -> (method, overrides)."""


def run_method(method: str, dataset: str, minutes: float, overrides: list[str], out: Path, *,
               label: str | None = None) -> dict:
    name = f"{method}-{dataset}"
    label = label or name
    budget = 60.0 * minutes
    sps = seconds_per_step(name, overrides, out / f".calib-{label}")
    cfg, _ = _build(name, overrides)
    probe_share = 0.92  # leave room for the online probes and diagnostics inside the budget
    steps = max(10, int(budget * probe_share / sps))
    warmup = min(cfg.train.warmup_steps, steps // 10)
    run_overrides = overrides + [f"train.steps={steps}", f"train.warmup_steps={warmup}",
                                 f"train.time_budget_s={budget}", f"probe.every={max(1, steps // 3)}"]
    _, spec = _build(name, run_overrides)
    run_dir = out / label
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    result = _train(spec, run_dir)
    wall = time.perf_counter() - t0
    probe = eval_probe_run(run_dir)
    diag = diagnose_run(run_dir)
    row = {
        "linear_acc": probe["linear_acc"],
        "knn_acc": probe["knn_acc"],
        "effective_rank": probe["effective_rank"],
        "minutes": wall / 60.0,
        "images_per_s": result.step * spec.batch_size / wall,
        "steps": result.step,
        "status": result.status,
        "random_init_linear_acc": probe["random_init"]["linear_acc"],
        "random_init_knn_acc": probe["random_init"]["knn_acc"],
        "verdict": diag["verdict"],
        "reasons": diag["reasons"],
    }
    print(f"{label}: linear {row['linear_acc']:.4f} (random init {row['random_init_linear_acc']:.4f}), "
          f"k-NN {row['knn_acc']:.4f}, eff. rank {row['effective_rank']:.1f}, {row['minutes']:.1f} min, "
          f"{row['images_per_s']:.0f} img/s, {row['steps']} steps, {row['verdict']}", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0, help="wall-clock training budget per method")
    ap.add_argument("--dataset", default="digits", choices=["digits", "shapes"], help="preset dataset")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--collapse-minutes", type=float, default=1.0,
                    help="budget of each deliberately broken run (VICReg without var/cov, SimSiam without "
                         "stop-gradient) whose collapse verdict is reported under 'broken'; 0 = skip them")
    ap.add_argument("--out", type=Path, default=Path("runs/ssl_zoo"), help="where the runs are written")
    ap.add_argument("overrides", nargs="*", help="key=value overrides applied to every preset")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        sys.exit(f"unknown methods {unknown}; valid: {list(METHODS)}")
    overrides = list(args.overrides) + ([f"train.threads={args.threads}"] if args.threads else [])
    data_overrides = [o for o in args.overrides if o.startswith("data.")]
    if args.dataset != "digits":
        data_overrides = [f"data.name={args.dataset}", *data_overrides]
    raw = raw_pixel_reference(data_overrides)
    print(f"raw pixels: linear {raw['linear_acc']:.4f}, k-NN {raw['knn_acc']:.4f}", flush=True)
    rows = {m: run_method(m, args.dataset, args.minutes, overrides, args.out) for m in methods}
    best = max(rows, key=lambda m: rows[m]["linear_acc"])
    broken = {}
    if args.collapse_minutes > 0:
        for label, (method, extra) in BROKEN.items():
            broken[label] = run_method(method, args.dataset, args.collapse_minutes, overrides + extra, args.out,
                                       label=label)
    print(json.dumps({"dataset": args.dataset, "budget_minutes": args.minutes, "machine": _machine(args.threads),
                      "raw_pixels": raw, "methods": rows, "best": best, "broken": broken,
                      "collapse_detection": {
                          "healthy_runs_called_healthy": all(r["verdict"] == "healthy" for r in rows.values()),
                          "broken_runs_called_collapsed": all(r["verdict"] == "collapsed" for r in broken.values()),
                      }}))


if __name__ == "__main__":
    main()
