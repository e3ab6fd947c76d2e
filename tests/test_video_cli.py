"""CLI smoke run of the video preset: train (tiny budget) -> eval-video, and clear errors on bad input."""

import json

import numpy as np
from typer.testing import CliRunner

from jepa_world.cli import app

runner = CliRunner()


def test_train_then_eval_video(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "video-digits", "--run-dir", str(run), "train.steps=2",
                            "batch_size=4", "data.num_frames=4", "train.progress=false", "train.tensorboard=false"])
    assert r.exit_code == 0, r.output
    out, gif, png = tmp_path / "video.json", tmp_path / "roll.gif", tmp_path / "curve.png"
    r = runner.invoke(app, ["eval-video", str(run), "--json", str(out), "--gif", str(gif), "--png", str(png),
                            "horizon=3", "eval_clips=8", "probe_clips=8", "decoder_steps=2", "gif_clips=2"])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    for source in (report["predicted"], report["copy_last"], report["encoded"], report["random_init"]["predicted"]):
        assert len(source["ap"]) == len(source["location_error_px"]) == 3
        assert all(0.0 < ap <= 1.0 for ap in source["ap"])
    assert {"beats_copy_last", "beats_random_init", "error_grows_with_horizon"} <= set(report)
    assert gif.stat().st_size > 1000 and png.stat().st_size > 1000


def test_eval_video_of_a_missing_run_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["eval-video", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "nothing" in r.output


def test_train_on_a_bad_moving_mnist_file_names_it(tmp_path):
    bad = tmp_path / "broken.npy"
    np.save(bad, np.zeros((20, 3, 64), np.uint8))
    r = runner.invoke(app, ["train", "--preset", "video-digits", "--run-dir", str(tmp_path / "run"),
                            "data.name=moving_mnist", f"data.path={bad}", "train.steps=1"])
    assert r.exit_code == 2 and "broken.npy" in r.output and "(T, N, H, W)" in r.output
