"""Offline evaluation of an image-SSL run directory: ``eval-probe`` and ``diagnose``.

Both rebuild the method from the run alone: ``config.json`` gives the kind and the ``model_config``
(``{"method": ..., "data": ...}``, see :mod:`jepa_world.presets.ssl`); the weights come from
``model.safetensors`` (written when training stops) or else ``checkpoints/last.pt``.

* :func:`eval_probe_run`: linear-probe and k-NN accuracy of the frozen representation on the fixed
  splits of the run's dataset (protocol: :mod:`jepa_world.eval.probes`), beside the same probes on a
  randomly initialised method of the same architecture.
* :func:`diagnose_run`: collapse diagnostics of the representation and of the embedding the objective
  sees, on the test images, with a verdict ("healthy" / "collapsed", rules of
  :mod:`jepa_world.objectives.ssl_verdict`), the per-epoch history logged during training
  and a PNG of the singular-value spectra. :func:`format_diagnosis` renders it as text.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.config import from_dict
from jepa_world.data.images.dataset import ImageSplits, normalize
from jepa_world.data.images.registry import ImageDataConfig, load_image_splits
from jepa_world.eval.image_probe import evaluate_encoder
from jepa_world.eval.probes import extract_features
from jepa_world.objectives.collapse import CollapseReport, singular_values
from jepa_world.objectives.ssl_verdict import collapse_reports, verdict
from jepa_world.presets import build_method
from jepa_world.train.checkpoint import CheckpointError, load_safetensors_into, read_json
from jepa_world.train.logger import read_metrics
from jepa_world.train.loop import RunPaths, load_run

log = logging.getLogger(__name__)

VERDICTS = ("healthy", "collapsed")
PROTOCOL = {
    "features": "the method's encode(): mean-pooled final ViT tokens (I-JEPA: of the EMA target encoder) "
                "or the ResNet's global average pool; frozen, eval mode, un-augmented normalised images",
    "linear": "multinomial logistic regression on standardised features, full-batch L-BFGS, L2 penalty chosen "
              "on every 5th train sample among 1e-5..1e-2, refitted on the train split, accuracy on the test split",
    "knn": "cosine k-NN, k=20, votes weighted exp(sim/0.07), train split as the bank, accuracy on the test split",
}
"""The evaluation protocol, returned with every probe result."""


def _run_config(run_dir: Path) -> dict[str, Any]:
    paths = RunPaths(run_dir)
    config = read_json(paths.config)
    if not isinstance(config, dict) or not {"kind", "model", "train"} <= set(config):
        raise CheckpointError(paths.config, "expected keys 'kind', 'model', 'train'")
    model = config["model"]
    if not isinstance(model, dict) or not {"method", "data"} <= set(model):
        raise CheckpointError(paths.config, f"not an image-SSL run (model config lacks 'method'/'data'); "
                                            f"kind {config['kind']!r}")
    return config


def load_ssl_run(run_dir: Path | str) -> tuple[nn.Module, dict[str, Any], int]:
    """``(method in eval mode, config.json dict, training step)`` of an image-SSL run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: run directory not found (expected config.json and "
                                f"model.safetensors or checkpoints/last.pt)")
    config = _run_config(run_dir)
    method = build_method(config["kind"], config["model"])
    paths = RunPaths(run_dir)
    if paths.weights.is_file():
        meta = load_safetensors_into(method, paths.weights)
        step = int(meta.get("step", -1))
    else:
        _, state = load_run(run_dir)
        try:
            method.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as e:
            raise CheckpointError(paths.checkpoint, f"weights do not fit the {config['kind']} method: {e}") from e
        step = int(state["step"])
    return method.eval(), config, step


def _splits(config: dict[str, Any]) -> ImageSplits:
    return load_image_splits(from_dict(ImageDataConfig, config["model"]["data"]))


def _describe(config: dict[str, Any]) -> dict[str, Any]:
    method = config["model"]["method"]
    return {"kind": config["kind"], "objective": method.get("objective", config["kind"]),
            "dataset": config["model"]["data"]["name"]}


def eval_probe_run(run_dir: Path | str, *, baseline: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Linear-probe and k-NN test accuracy of a run's frozen representation.

    Args:
        run_dir: a run directory written by ``jepa-world train --preset <ssl preset>``.
        baseline: also probe a randomly initialised method of the same architecture (seeded with the
            run's ``train.seed``, as training initialised it) under ``"random_init"``.
        device: where to run the encoder.

    Returns:
        ``{"run_dir", "kind", "objective", "dataset", "step", "linear_acc", "knn_acc",
        "linear_train_acc", "linear_weight_decay", "effective_rank", "rank_fraction",
        "normalized_std_ratio", "collapsed", "seconds", "protocol", ["random_init": {...}]}``.
    """
    method, config, step = load_ssl_run(run_dir)
    splits = _splits(config)
    method.to(device)
    out: dict[str, Any] = {"run_dir": str(run_dir), **_describe(config), "step": step}
    out.update(evaluate_encoder(method.encode, splits, device=device))
    if baseline:
        torch.manual_seed(int(config["train"].get("seed", 0)))
        fresh = build_method(config["kind"], config["model"]).eval().to(device)
        rand = evaluate_encoder(fresh.encode, splits, device=device)
        out["random_init"] = {k: rand[k] for k in ("linear_acc", "knn_acc", "effective_rank")}
    out["protocol"] = dict(PROTOCOL)
    return out


def _embeddings(method: nn.Module, splits: ImageSplits, device: str) -> tuple[Tensor, Tensor]:
    """Test-split representations (N, D) and embeddings (M, K) (I-JEPA: every patch token is a row)."""
    def prepare(x: Tensor) -> Tensor:
        return normalize(x.to(device), splits.mean, splits.std)

    def embed(x: Tensor) -> Tensor:
        e = method.embed(x)
        return e.reshape(-1, e.shape[-1])

    with torch.no_grad():
        reps = extract_features(method.encode, splits.test.images, prepare=prepare)
        embs = extract_features(embed, splits.test.images, prepare=prepare)
    return reps, embs


def diag_history(run_dir: Path) -> list[dict[str, float]]:
    """The collapse diagnostics logged during training (``diag/*``), one dict per logged step."""
    path = RunPaths(run_dir).metrics
    if not path.is_file():
        return []
    rows = []
    for event in read_metrics(path):
        diag = {k[len("diag/"):]: v for k, v in event["metrics"].items() if k.startswith("diag/")}
        if diag:
            rows.append({"step": event["step"], **diag})
    return rows


def _report_dict(report: CollapseReport) -> dict[str, Any]:
    return asdict(report)


def diagnose_run(run_dir: Path | str, png_path: Path | str | None = None, *, device: str = "cpu") -> dict[str, Any]:
    """Collapse diagnosis of a run: verdict, reasons, test-set metrics, training history, spectrum PNG.

    The verdict is ``"collapsed"`` when the representation (what the probes use) or the embedding (what
    the objective sees) is flagged by the rules of :mod:`jepa_world.objectives.ssl_verdict`, else ``"healthy"``.

    Args:
        run_dir: an image-SSL run directory.
        png_path: where to write the singular-value spectrum (default ``run_dir/spectrum.png``).
        device: where to run the encoder.

    Returns:
        ``{"run_dir", "kind", "objective", "dataset", "step", "verdict", "reasons",
        "representation": {report}, "embedding": {report}, "history": [...], "png"}``.
    """
    run_dir = Path(run_dir)
    method, config, step = load_ssl_run(run_dir)
    splits = _splits(config)
    method.to(device)
    reps, embs = _embeddings(method, splits, device)
    rep_report, emb_report = collapse_reports(reps, embs)
    reasons = [f"representation: {r}" for r in rep_report.reasons] + [f"embedding: {r}" for r in emb_report.reasons]
    state = verdict(rep_report, emb_report)
    png = Path(png_path) if png_path is not None else run_dir / "spectrum.png"
    plot_spectra({"representation": reps, "embedding": embs}, png, title=f"{_describe(config)['objective']} "
                 f"on {_describe(config)['dataset']}, step {step}: {state}")
    return {"run_dir": str(run_dir), **_describe(config), "step": step, "verdict": state, "reasons": reasons,
            "representation": _report_dict(rep_report), "embedding": _report_dict(emb_report),
            "history": diag_history(run_dir), "png": str(png)}


def plot_spectra(features: dict[str, Tensor], path: Path | str, *, title: str = "") -> Path:
    """Write a PNG of the normalised singular values ``s_i / s_1`` (log scale) of each (N, D) matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, z in features.items():
        s = singular_values(z)
        s = (s / s[0]) if float(s[0]) > 0 else s
        ax.semilogy(range(1, len(s) + 1), s.clamp_min(1e-12).numpy(),
                    label=f"{name} (D={z.shape[-1]}, eff. rank {_erank(z):.1f})")
    ax.set_xlabel("index i")
    ax.set_ylabel("s_i / s_1 (centred)")
    ax.set_ylim(1e-6, 1.5)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _erank(z: Tensor) -> float:
    from jepa_world.objectives.collapse import effective_rank

    return effective_rank(z)


def format_diagnosis(result: dict[str, Any], *, history_rows: int = 12) -> str:
    """Human-readable text of a :func:`diagnose_run` result (verdict first)."""
    lines = [f"verdict: {result['verdict'].upper()}  ({result['objective']} on {result['dataset']}, "
             f"step {result['step']}, {result['run_dir']})"]
    lines += [f"  - {r}" for r in result["reasons"]]
    for name in ("representation", "embedding"):
        r = result[name]
        lines.append(f"{name:>14}: effective rank {r['effective_rank']:.2f} ({100 * r['rank_fraction']:.1f}% of D), "
                     f"normalised std x sqrt(D) {r['normalized_std_ratio']:.3f}, per-dim variance "
                     f"min {r['min_dim_variance']:.3g} / median {r['median_dim_variance']:.3g}, dead dims "
                     f"{100 * r['dead_dim_fraction']:.0f}%")
    history = result["history"]
    if history:
        lines.append("history (training batches, every epoch):")
        lines.append(f"{'step':>8} {'repr erank':>11} {'repr std':>9} {'emb erank':>10} {'emb std':>8} collapsed")
        shown = history if len(history) <= history_rows else \
            [history[round(i * (len(history) - 1) / (history_rows - 1))] for i in range(history_rows)]
        for row in shown:
            flag = "yes" if row.get("repr_collapsed", 0) or row.get("emb_collapsed", 0) else "no"
            lines.append(f"{row['step']:>8} {row.get('repr_effective_rank', float('nan')):>11.2f} "
                         f"{row.get('repr_normalized_std_ratio', float('nan')):>9.3f} "
                         f"{row.get('emb_effective_rank', float('nan')):>10.2f} "
                         f"{row.get('emb_normalized_std_ratio', float('nan')):>8.3f} {flag}")
    lines.append(f"spectrum: {result['png']}")
    return "\n".join(lines)
