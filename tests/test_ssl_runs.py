"""Image-SSL presets end to end: every preset builds and trains through the one loop, a run rebuilds
itself for eval-probe and diagnose, and diagnose tells broken (collapsing) configurations from healthy ones."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from jepa_world.config import ConfigError, apply_overrides, field_docs, list_fields
from jepa_world.presets import PRESETS, RunSpec, build_method, get_preset, load_builtin_presets
from jepa_world.presets.ssl import JOINT_METHODS, SSL_DATASETS
from jepa_world.runs.ssl_run import diagnose_run, eval_probe_run, format_diagnosis, load_ssl_run
from jepa_world.train import train

SSL_PRESETS = [f"{m}-{d}" for d in SSL_DATASETS for m in ("ijepa", *JOINT_METHODS)]

QUIET = ["train.progress=false", "train.tensorboard=false", "train.resume=false", "train.ckpt_every=0"]
TINY_DATA = ["data.image_size=16", "data.shapes_train=96", "data.shapes_test=48", "batch_size=16"]
TINY_VIT = ["model.{enc}.dim=32", "model.{enc}.depth=1", "model.{enc}.heads=2", "model.{enc}.patch_size=4"]
TINY_HEADS = ["model.projector.hidden=32", "model.projector.out_dim=16", "model.predictor.hidden=16",
              "model.predictor.out_dim=16", "model.dino.head.hidden=32", "model.dino.head.out_dim=64"]


def _tiny(name: str) -> list[str]:
    if name.startswith("ijepa"):
        return TINY_DATA + [o.format(enc="encoder") for o in TINY_VIT] + ["model.predictor.dim=16",
                                                                         "model.predictor.depth=1"]
    return TINY_DATA + [o.format(enc="backbone.vit") for o in TINY_VIT] + TINY_HEADS


def _run(name: str, overrides: list[str], run_dir) -> tuple[RunSpec, object]:
    preset = get_preset(name)
    spec = preset.build(apply_overrides(preset.config(), QUIET + overrides))
    result = train(spec.method, spec.source, spec.train, run_dir=run_dir, kind=spec.kind,
                   model_config=spec.model_config, batch_size=spec.batch_size, callbacks=spec.callbacks)
    return spec, result


def test_every_method_and_dataset_has_a_preset():
    load_builtin_presets()
    assert set(SSL_PRESETS) <= set(PRESETS)
    assert len(SSL_PRESETS) == 14


@pytest.mark.parametrize("name", SSL_PRESETS)
def test_preset_config_is_documented_and_valid(name):
    cfg = get_preset(name).config()
    cfg.validate()
    assert isinstance(cfg.train.steps, int) and cfg.train.diag_every >= 1
    undocumented = [key for key, _, doc in list_fields(cfg) if not doc]
    assert not undocumented, f"fields without a docstring: {undocumented}"
    for f in dataclasses.fields(cfg):
        assert f.name in field_docs(type(cfg))


@pytest.mark.parametrize("name", SSL_PRESETS)
def test_preset_trains_two_steps_and_rebuilds_from_its_config(name, tmp_path):
    probed = name in ("vicreg-digits", "ijepa-shapes")  # the online probe is slow-ish: check it twice
    probe = "probe.every=2" if probed else "probe.every=1000"
    spec, result = _run(name, _tiny(name) + ["train.steps=2", probe, "train.diag_every=1"], tmp_path)
    assert result.status == "finished" and result.step == 2
    metrics = result.last_metrics
    if probed:
        assert 0.0 <= metrics["probe/linear_acc"] <= 1.0 and 0.0 <= metrics["probe/knn_acc"] <= 1.0
    assert "diag/repr_effective_rank" in metrics and "diag/emb_normalized_std" in metrics
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["kind"] == spec.kind and saved["model"]["data"]["image_size"] == 16
    method, _, step = load_ssl_run(tmp_path)
    assert step == 2
    channels = 1 if saved["model"]["data"]["name"] == "digits" else 3
    x = torch.randn(3, channels, 16, 16)
    spec.method.eval()
    with torch.no_grad():
        torch.testing.assert_close(method.encode(x), spec.method.encode(x))


def test_image_size_not_divisible_by_patch_size_is_a_clear_error():
    cfg = get_preset("vicreg-digits").config()
    with pytest.raises(ValueError, match="image_size 30 is not divisible by patch_size 8"):
        apply_overrides(cfg, ["data.image_size=30"])
    with pytest.raises(ValueError, match="image_size 20 is not divisible by patch_size 8"):
        apply_overrides(get_preset("ijepa-shapes").config(), ["data.image_size=20"])
    with pytest.raises(ConfigError, match="unknown config field"):
        apply_overrides(cfg, ["model.nope=1"])


def test_build_method_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown method kind"):
        build_method("nope", {})


# ------------------------------------------------------------------------- collapse: broken vs healthy

COLLAPSE_SETUP = TINY_DATA[:1] + [o.format(enc="backbone.vit") for o in TINY_VIT] + [
    "model.projector.hidden=64", "model.projector.out_dim=32", "model.predictor.hidden=16",
    "model.predictor.out_dim=32", "batch_size=64", "train.steps=80", "train.lr=1e-2", "train.warmup_steps=2",
    "train.diag_every=20", "probe.every=1000",
]


@pytest.fixture(scope="module")
def healthy_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("vicreg_healthy")
    _run("vicreg-digits", COLLAPSE_SETUP, run_dir)
    return run_dir


@pytest.mark.parametrize("name,broken", [
    ("vicreg-digits", ["model.vicreg.var_weight=0", "model.vicreg.cov_weight=0"]),
    ("simsiam-digits", ["model.stop_gradient=false"]),
])
def test_diagnose_flags_deliberately_broken_configurations(name, broken, tmp_path):
    _run(name, COLLAPSE_SETUP + broken, tmp_path)
    result = diagnose_run(tmp_path)
    assert result["verdict"] == "collapsed", result["reasons"]
    assert any("normalized_std_ratio" in r for r in result["reasons"])
    assert "COLLAPSED" in format_diagnosis(result)


def test_diagnose_calls_a_healthy_run_healthy_and_writes_the_spectrum(healthy_run, tmp_path):
    png = tmp_path / "spectrum.png"
    result = diagnose_run(healthy_run, png)
    assert result["verdict"] == "healthy" and result["reasons"] == []
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    steps = [row["step"] for row in result["history"]]
    assert steps == [20, 40, 60, 80]  # one row per logged diagnostics step (every "epoch" here)
    assert result["representation"]["effective_rank"] > 1.5
    text = format_diagnosis(result)
    assert text.startswith("verdict: HEALTHY") and "history" in text


def test_eval_probe_run_beats_random_init_and_reports_protocol(healthy_run):
    result = eval_probe_run(healthy_run)
    assert result["objective"] == "vicreg" and result["dataset"] == "digits" and result["step"] == 80
    assert 0.5 < result["linear_acc"] <= 1.0 and 0.1 < result["knn_acc"] <= 1.0
    assert set(result["random_init"]) == {"linear_acc", "knn_acc", "effective_rank"}
    assert "linear" in result["protocol"] and "knn" in result["protocol"]
    json.dumps(result)  # JSON-able, for the CLI


def test_eval_tools_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="run directory not found"):
        eval_probe_run(tmp_path / "nope")
    with pytest.raises(RuntimeError, match="config.json"):
        diagnose_run(tmp_path)
