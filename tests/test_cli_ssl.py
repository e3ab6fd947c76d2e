"""CLI smoke run of an image-SSL preset: train -> eval-probe -> diagnose, and bad input."""

import json

from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()
QUIET = ["train.progress=false", "train.tensorboard=false"]
TINY = ["data.image_size=16", "model.backbone.vit.patch_size=4", "model.backbone.vit.dim=32",
        "model.backbone.vit.depth=1", "model.backbone.vit.heads=2", "batch_size=16"]


def test_train_probe_diagnose(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "vicreg-digits", "--run-dir", str(run), "train.steps=2",
                            "train.diag_every=1", *QUIET])
    assert r.exit_code == 0, r.output
    out = tmp_path / "probe.json"
    r = runner.invoke(app, ["eval-probe", str(run), "--json", str(out)])
    assert r.exit_code == 0, r.output
    probe = json.loads(out.read_text())
    assert 0.0 <= probe["linear_acc"] <= 1.0 and "random_init" in probe
    assert f"{probe['linear_acc']:.4f}" in r.output
    r = runner.invoke(app, ["diagnose", str(run), "--png", str(tmp_path / "spec.png"),
                            "--json", str(tmp_path / "diag.json")])
    assert r.exit_code == 0, r.output
    diag = json.loads((tmp_path / "diag.json").read_text())
    assert r.output.startswith(f"verdict: {diag['verdict'].upper()}")
    # the per-epoch history logged during training is printed (one row per diagnostics step)
    assert [row["step"] for row in diag["history"]] == [1, 2] and "history" in r.output
    assert "effective rank" in r.output and (tmp_path / "spec.png").stat().st_size > 1000


def test_probe_of_a_missing_run_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["eval-probe", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "run directory not found" in r.output


def test_image_size_not_divisible_by_patch_size_is_a_clear_cli_error(tmp_path):
    r = runner.invoke(app, ["train", "--preset", "ijepa-digits", "--run-dir", str(tmp_path / "r"),
                            "data.image_size=36", *QUIET])
    assert r.exit_code == 2
    assert "image_size 36 is not divisible by patch_size 8" in r.output and "Traceback" not in r.output


def test_folder_with_an_unreadable_image_names_the_file_on_the_cli(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (16, 16), (40 * i, 0, 0)).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "b" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    r = runner.invoke(app, ["train", "--preset", "vicreg-digits", "--run-dir", str(tmp_path / "r"),
                            "data.name=folder", f"data.path={tmp_path / 'imgs'}", "train.steps=1", *QUIET, *TINY])
    assert r.exit_code == 2, r.output
    assert "corrupt.png: unreadable image" in r.output and "Traceback" not in r.output
