"""User errors are one line on stderr with exit code 2; bugs keep their traceback; --debug shows it; output paths
are checked before the long work starts; small CLI defects (issue 11)."""

import os
import re
import typing

import pytest
from typer.testing import CliRunner

from jepa_world import cli
from jepa_world.cli import app

runner = CliRunner()
WORLD_MODEL = ["model.idm_hidden=16", "batch_size=4", "data.length=3", "model.encoder.map_channels=4",
               "model.encoder.map_size=8", "model.predictor.map_size=8", "train.progress=false",
               "train.tensorboard=false"]
FAST_PLAN = ["--planner", "cem", "planner.horizon=2", "planner.num_samples=8", "planner.num_elites=4",
             "planner.iterations=1", "mpc.replan_every=40", "mpc.action_repeat=20"]


def one_line_error(r, *needles: str) -> str:
    """The single `error:` line of a failed command, which must mention every needle."""
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert "Traceback" not in r.output, r.output
    errors = [line for line in r.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), r.output
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def no_evaluation(monkeypatch):
    """Fail loudly if a command starts planning or training: its output paths must be refused first."""
    import jepa_world.eval.planning as planning
    import jepa_world.train as train

    def refuse(*args, **kwargs):
        raise AssertionError("the long work started before the output paths were checked")

    monkeypatch.setattr(planning, "evaluate_planning", refuse)
    monkeypatch.setattr(train, "train", refuse)


# --- errors: one line for users, tracebacks for bugs --------------------------------------------------------------

def test_a_bug_keeps_its_traceback(monkeypatch):
    import jepa_world.presets as presets

    def broken(name):
        raise RuntimeError("index 3 is out of bounds (a bug, not bad input)")

    monkeypatch.setattr(presets, "get_preset", broken)
    r = runner.invoke(app, ["train", "--preset", "two-rooms"])
    assert isinstance(r.exception, RuntimeError) and r.exit_code == 1, r.output


def test_debug_shows_the_traceback_of_a_user_error():
    r = runner.invoke(app, ["train", "--preset", "no-such-preset"])
    one_line_error(r, "no-such-preset")
    r = runner.invoke(app, ["--debug", "train", "--preset", "no-such-preset"])
    assert isinstance(r.exception, ValueError) and "no-such-preset" in str(r.exception)


def test_wrongly_typed_override_is_one_line():
    one_line_error(runner.invoke(app, ["train", "--preset", "two-rooms", "train.steps=many", "--show-config"]),
                   "train.steps", "many")


def test_multi_line_messages_are_joined_into_one(monkeypatch):
    import jepa_world.presets as presets

    def multi(name):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(presets, "get_preset", multi)
    one_line_error(runner.invoke(app, ["train"]), "first line second line")


def test_wrongly_typed_config_json_is_one_line(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--run-dir", str(run), "train.steps=1", *WORLD_MODEL])
    assert r.exit_code == 0, r.output
    config = run / "config.json"
    config.write_text(config.read_text().replace('"map_size": 8', '"map_size": "eight"', 1))
    one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "1", *FAST_PLAN]))


# --- output paths checked before the work ---------------------------------------------------------------------------

def test_run_dir_that_is_a_file(tmp_path, no_evaluation):
    (tmp_path / "f").write_text("x")
    one_line_error(runner.invoke(app, ["train", "--run-dir", str(tmp_path / "f"), *WORLD_MODEL]),
                   "--run-dir", "expected a directory")
    one_line_error(runner.invoke(app, ["train", "--run-dir", str(tmp_path / "f" / "run"), *WORLD_MODEL]),
                   "--run-dir", "is a file")
    one_line_error(runner.invoke(app, ["demo", "--run-dir", str(tmp_path / "f")]), "--run-dir")


def test_plan_gif_that_is_a_directory(tmp_path, no_evaluation):
    one_line_error(runner.invoke(app, ["plan", str(tmp_path / "run"), "--oracle", "--gif", str(tmp_path)]),
                   "--gif", "is a directory")


def test_eval_outputs_are_checked_before_evaluating(tmp_path, no_evaluation):
    (tmp_path / "f").write_text("x")
    one_line_error(runner.invoke(app, ["eval", "--oracle", "--json", str(tmp_path / "f" / "eval.json")]),
                   "--json", "is a file")
    one_line_error(runner.invoke(app, ["eval", "--oracle", "--png", str(tmp_path)]), "--png", "is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders, so chmod cannot make one unwritable")
def test_read_only_folder(tmp_path, no_evaluation):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        one_line_error(runner.invoke(app, ["train", "--run-dir", str(ro / "run"), *WORLD_MODEL]),
                       "--run-dir", "not writable")
        one_line_error(runner.invoke(app, ["eval", "--oracle", "--json", str(ro / "eval.json")]), "--json")
    finally:
        ro.chmod(0o700)


def test_unwritable_folder_even_for_root(tmp_path, no_evaluation):
    (tmp_path / "f").write_text("x")
    one_line_error(runner.invoke(app, ["eval-probe", str(tmp_path), "--json", str(tmp_path / "f" / "x.json")]),
                   "--json")
    one_line_error(runner.invoke(app, ["eval-video", str(tmp_path), "--gif", str(tmp_path)]), "--gif")


# --- small defects --------------------------------------------------------------------------------------------------

def test_train_help_example_is_valid_for_the_default_preset():
    from jepa_world.config import apply_overrides
    from jepa_world.presets import get_preset, load_builtin_presets

    load_builtin_presets()
    help_text = typing.get_type_hints(cli.train_cmd, include_extras=True)["overrides"].__metadata__[0].help
    example = re.search(r"e\.g\. (.*?)\.?$", help_text).group(1).split()
    assert example and all("=" in x for x in example)
    apply_overrides(get_preset("two-rooms").config(), example)  # raises ConfigError on an unknown key


def test_data_show_count_must_be_positive(tmp_path):
    out = tmp_path / "ds"
    assert runner.invoke(app, ["data", "generate", "--num", "6", "--length", "3", "--out", str(out)]).exit_code == 0
    one_line_error(runner.invoke(app, ["data", "show", str(out), "--count", "0"]), "--count", "0")
    assert not (out / "preview").exists()


def test_plan_writes_its_gif_into_the_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    r = runner.invoke(app, ["plan", str(run), "--oracle", *FAST_PLAN])
    assert r.exit_code == 0, r.output
    assert (run / "episode.gif").stat().st_size > 0
    assert not (tmp_path / "plan.gif").exists()


def test_eval_show_config_lists_every_field():
    r = runner.invoke(app, ["eval", "--show-config", "--planner", "mppi", "planner.horizon=7", "mpc.replan_every=3"])
    assert r.exit_code == 0, r.output
    keys = dict(line.split(" = ", 1) for line in r.output.splitlines())
    assert keys["planner.horizon"].startswith("7 ") and keys["mpc.replan_every"].startswith("3 ")
    for key in ("episodes", "env", "cost", "maze.rooms", "planner.num_samples", "mpc.action_repeat"):
        assert key in keys, key
    assert "planner_overrides" not in keys


@pytest.mark.parametrize("spelling", ["two-rooms", "two_rooms", "Two-Rooms"])
def test_env_names_in_either_spelling(spelling, tmp_path):
    r = runner.invoke(app, ["data", "generate", "--env", spelling, "--num", "4", "--length", "3",
                            "--out", str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["eval", "--show-config", f"env={spelling}"])
    assert r.exit_code == 0 and "env = 'two_rooms'" in r.output, r.output


def test_unknown_env_name_lists_the_valid_ones(tmp_path):
    one_line_error(runner.invoke(app, ["data", "generate", "--env", "three-rooms", "--num", "4",
                                       "--out", str(tmp_path / "ds")]), "three-rooms", "two-rooms")
    one_line_error(runner.invoke(app, ["eval", "--show-config", "env=moon"]), "moon", "maze")


def test_output_directory_options_accept_both_spellings(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--out", str(run), "train.steps=1", *WORLD_MODEL])
    assert r.exit_code == 0 and (run / "config.json").exists(), r.output
