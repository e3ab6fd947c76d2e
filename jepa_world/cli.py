"""The ``jepa-world`` command line: subcommands and presets; the work lives in the library."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from jepa_world.errors import UserError, user_errors
from jepa_world.output_paths import check_output_dir, check_output_file

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="JEPA world models and planning in representation space, CPU first.")
data_app = typer.Typer(no_args_is_help=True, help="Offline trajectory datasets.")
app.add_typer(data_app, name="data")


_DEBUG = {"on": False}
"""Whether this command line asked for --debug (set by the top-level callback on every invocation)."""


@app.callback()
def global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error instead of one line.")]
    = False,
) -> None:
    """JEPA world models and planning in representation space, CPU first."""
    _DEBUG["on"] = debug


def friendly(fn):
    """Turn user errors (``errors.user_errors``) into one line on stderr and exit code 2; other exceptions are
    bugs and keep their traceback. ``--debug`` shows the traceback of user errors too."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if _DEBUG["on"] or not isinstance(e, user_errors()):
                raise
            message = " ".join(str(e).split()) or type(e).__name__  # one line, whatever the message
            typer.secho(f"error: {message}", fg="red", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _env_name(name: str, canonical: tuple[str, ...]) -> str:
    """An environment name in either spelling (two-rooms or two_rooms) -> the one in ``canonical``."""
    by_key = {c.replace("-", "_"): c for c in canonical}
    key = name.strip().lower().replace("-", "_")
    if key not in by_key:
        raise UserError(f"unknown environment {name!r}; expected one of {', '.join(canonical)}")
    return by_key[key]


@data_app.command("generate")
@friendly
def data_generate(
    out: Annotated[Path, typer.Option("--out", help="Output directory (created; must not exist or be empty).")],
    env: Annotated[str, typer.Option(help="Environment: two-rooms (or two_rooms), pusht (extra jepa-world[pusht]), "
                                          "pointmaze (extra jepa-world[pointmaze]).")] = "two-rooms",
    num: Annotated[int, typer.Option(help="Number of trajectories.")] = 100_000,
    length: Annotated[int | None, typer.Option(help="Frames per trajectory (T+1); default 17, pusht and pointmaze "
                                                    "101.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 0,
    fixed_wall: Annotated[bool, typer.Option(help="Fixed layout instead of random.")] = False,
    shard_size: Annotated[int | None, typer.Option(help="Trajectories per shard file; default 10000, pusht and "
                                                        "pointmaze 100.")] = None,
    store_obs: Annotated[bool, typer.Option(help="Also store uint8 observations (else rendered on load).")]
    = False,
    image_size: Annotated[int, typer.Option(help="pusht only: frames are image-size x image-size RGB.")] = 64,
    maze: Annotated[str, typer.Option(help="pointmaze only: umaze or medium.")] = "umaze",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing non-empty --out.")] = False,
) -> None:
    """Generate an offline dataset of random-walk (or, for pusht, scripted exploration) trajectories."""
    from jepa_world.data.build import ENVS, build_dataset
    from jepa_world.data.pusht_build import ENV as PUSHT

    name = _env_name(env, ENVS + (PUSHT, "pointmaze"))
    if name == "pointmaze":
        path = _generate_pointmaze(out, num=num, length=length or 101, seed=seed, shard_size=shard_size or 100,
                                   maze=maze, overwrite=overwrite, two_rooms_only=fixed_wall or store_obs)
        typer.echo(f"wrote {num} trajectories of {length or 101} frames to {path}")
        return
    if name == PUSHT:
        from jepa_world.data.pusht_build import build_pusht_dataset
        from jepa_world.data.pusht_gen import PushTDataConfig

        length = length or PushTDataConfig.length
        path = build_pusht_dataset(out, num=num, config=PushTDataConfig(length=length, image_size=image_size),
                                   seed=seed, shard_size=shard_size or 100, overwrite=overwrite,
                                   progress=sys.stderr.isatty())
    else:
        from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

        length = length or 17
        cfg = TwoRoomsDataConfig(length=length, fixed_wall=fixed_wall)
        path = build_dataset(out, num=num, config=cfg, seed=seed, shard_size=shard_size or 10_000,
                             store_obs=store_obs, overwrite=overwrite, env=name, progress=sys.stderr.isatty())
    typer.echo(f"wrote {num} trajectories of {length} frames to {path}")


def _generate_pointmaze(out: Path, *, num: int, length: int, seed: int, shard_size: int, maze: str, overwrite: bool,
                        two_rooms_only: bool) -> Path:
    """``data generate --env pointmaze``: image shards of exploration trajectories (frames always stored)."""
    from jepa_world.data.pointmaze_gen import PointMazeDataConfig
    from jepa_world.data.pointmaze_shards import build_pointmaze_dataset

    if two_rooms_only:
        raise UserError("--fixed-wall and --store-obs are Two Rooms options (pointmaze always stores its frames)")
    return build_pointmaze_dataset(out, num=num, config=PointMazeDataConfig(maze=maze, length=length), seed=seed,
                                   shard_size=shard_size, overwrite=overwrite, progress=sys.stderr.isatty())


@data_app.command("show")
@friendly
def data_show(
    directory: Annotated[Path, typer.Argument(help="A dataset directory.")],
    out: Annotated[Path | None, typer.Option(help="Where to write PNG/GIF (default: DIR/preview).")] = None,
    count: Annotated[int, typer.Option(help="Trajectories to show (>= 1).")] = 8,
    seed: Annotated[int, typer.Option(help="Which trajectories (random pick).")] = 0,
) -> None:
    """Write a PNG grid and a GIF of a few trajectories, and print dataset statistics."""
    import torch

    from jepa_world.data.preview import subset, trajectory_gif, trajectory_grid_png
    from jepa_world.data.shards import load_trajectories, read_meta
    from jepa_world.data.stats import dataset_stats

    if count < 1:
        raise UserError(f"--count must be >= 1, got {count}")
    out = check_output_dir(out or Path(directory) / "preview", "--out")
    if read_meta(directory).get("env") == "pusht":
        from jepa_world.data.pusht_preview import show_pusht_dataset

        stats, written = show_pusht_dataset(directory, out, count=count, seed=seed)
        typer.echo(json.dumps(stats, indent=2))
        typer.echo(f"wrote {' and '.join(str(p) for p in written)}")
        return
    if read_meta(directory).get("env") == "pointmaze":
        _show_pointmaze(directory, out, count=count, seed=seed)
        return
    traj, meta = load_trajectories(directory)
    rows = torch.randperm(len(traj), generator=torch.Generator().manual_seed(seed))[:count]
    png = trajectory_grid_png(subset(traj, rows), out / "trajectories.png", count=count)
    gif = trajectory_gif(subset(traj, rows), out / "trajectories.gif", count=count)
    typer.echo(json.dumps({"env": meta["env"], **dataset_stats(traj)}, indent=2))
    typer.echo(f"wrote {png} and {gif}")


def _show_pointmaze(directory: Path, out: Path, *, count: int, seed: int) -> None:
    """``data show`` of a PointMaze dataset: frames over time (PNG), a GIF, statistics."""
    from jepa_world.data.pointmaze_preview import preview_pointmaze

    stats, png, gif = preview_pointmaze(directory, out, count=count, seed=seed)
    typer.echo(json.dumps(stats, indent=2))
    typer.echo(f"wrote {png} and {gif}")


# --- training, evaluation, planning --------------------------------------------------------------

def _split_overrides(items: list[str] | None) -> list[str]:
    """Overrides as given, with ``env=`` in either spelling (two-rooms or two_rooms) made the config's."""
    items = list(items or [])
    bad = [x for x in items if "=" not in x]
    if bad:
        raise ValueError(f"overrides must look like key=value, got {bad}")
    return [f"env={_env_name(x[4:], ('two_rooms', 'maze', 'pusht', 'pointmaze'))}" if x.startswith("env=") else x
            for x in items]


def _echo_fields(rows: list[tuple[str, object, str]]) -> None:
    """Print (key, value, doc) rows as `key = value    # first line of doc`."""
    for key, value, doc in rows:
        typer.echo(f"{key} = {value!r}    # {doc.splitlines()[0] if doc else ''}")


@app.command("presets")
def presets_cmd() -> None:
    """List the presets `jepa-world train --preset` accepts."""
    from jepa_world.presets import PRESETS, load_builtin_presets

    load_builtin_presets()
    for name in sorted(PRESETS):
        typer.echo(f"{name:24s} {PRESETS[name].help}")


@app.command("train")
@friendly
def train_cmd(
    preset: Annotated[str, typer.Option(help="Preset name (see `jepa-world presets`).")] = "two-rooms",
    run_dir: Annotated[Path | None, typer.Option("--run-dir", "--out", help="Run directory (default runs/PRESET).")]
    = None,
    overrides: Annotated[list[str] | None, typer.Argument(
        help="Config overrides key=value (see --show-config), e.g. train.steps=500 batch_size=32.")] = None,
    show_config: Annotated[bool, typer.Option(help="Print every config field with its doc and exit.")] = False,
    force: Annotated[bool, typer.Option(help="Resume although the settings differ from the checkpoint's, or start "
                                             "over where an exported model / metrics would be overwritten.")]
    = False,
    nproc: Annotated[int | None, typer.Option(
        "--nproc", help="Train with N data-parallel processes on this machine (re-runs this command under torchrun; "
                        "docs/scaling.md).")] = None,
) -> None:
    """Train a preset (resumes run_dir's checkpoint when there is one; Ctrl-C stops cleanly)."""
    from jepa_world.train.launch import check_launchable, relaunch, under_torchrun

    if nproc is not None:
        check_launchable(nproc)
        if under_torchrun():
            raise UserError("--nproc launches torchrun itself; under torchrun, drop --nproc")
        if nproc > 1 and not show_config:
            raise typer.Exit(relaunch(nproc, sys.argv[1:]))
    from jepa_world.config import apply_overrides, list_fields, to_dict
    from jepa_world.presets import get_preset
    from jepa_world.train import train
    from jepa_world.train.device import dist_info_from_env

    spec = get_preset(preset)
    cfg = apply_overrides(spec.config(), _split_overrides(overrides))
    if show_config:
        _echo_fields(list_fields(cfg))
        return
    out = check_output_dir(run_dir or Path("runs") / preset, "--run-dir")
    run = spec.build(cfg)
    result = train(run.method, run.source, run.train, run_dir=out, kind=run.kind, model_config=run.model_config,
                   batch_size=run.batch_size, callbacks=run.callbacks, settings=to_dict(cfg), force=force)
    if not dist_info_from_env().is_main:
        return  # rank 0 reports
    shown = {k: round(v, 4) for k, v in result.last_metrics.items() if k.startswith(("train/loss", "train/probe"))}
    resumed = f" (resumed from step {result.resumed_from})" if result.resumed_from is not None else ""
    typer.echo(f"{result.status} at step {result.step}{resumed} in {result.wall_s / 60:.1f} min; {shown}; run: {out}")


def _planning_config(planner: str, episodes: int, seed: int, num_envs: int, overrides: list[str]):
    """PlanningEvalConfig from CLI options; `planner.FIELD=V` overrides go to the planner's config."""
    from dataclasses import asdict

    from jepa_world.config import apply_overrides
    from jepa_world.eval.planning import default_eval_config
    from jepa_world.planning.registry import planner_config_cls

    planner_cls = planner_config_cls(planner)
    base = default_eval_config(planner, episodes=episodes, seed=seed, num_envs=min(num_envs, episodes))
    defaults = {k: v for k, v in base.planner_overrides.items() if k in planner_cls.__dataclass_fields__}
    planner_keys = [o[len("planner."):] for o in overrides if o.startswith("planner.")]
    planner_cfg = apply_overrides(planner_cls(**defaults), planner_keys)
    changed = {k: v for k, v in asdict(planner_cfg).items() if v != getattr(planner_cls(), k) or k in defaults}
    rest = [o for o in overrides if not o.startswith("planner.")]
    base.planner, base.planner_overrides = planner, changed
    return apply_overrides(base, rest)


def _planned_model(run: Path, oracle: bool, planner: str, episodes: int, seed: int, num_envs: int,
                   overrides: list[str]):
    """(world model, its position probe, PlanningEvalConfig): a run's model plans in the environment it was
    trained on (unless the overrides set ``env``); ``oracle`` plans with the true dynamics of the configured env."""
    if oracle:
        cfg = _planning_config(planner, episodes, seed, num_envs, overrides)
        return (*_oracle(cfg), cfg)
    from jepa_world.eval.planning import trained_env_overrides
    from jepa_world.presets.gcrl import KIND as KIND_GCRL
    from jepa_world.runs.load import load_method, read_run_kind

    if read_run_kind(run) == KIND_GCRL:  # an offline-RL baseline: its policy acts through the same loop
        from jepa_world.planning.policy import PolicyWorldModel

        policy, config = load_method(run, expected_kind=KIND_GCRL)
        items = trained_env_overrides(config["model"].get("env"), overrides)
        return PolicyWorldModel(policy), None, _planning_config(_policy_planner(planner), episodes, seed, num_envs,
                                                                items)
    model, config = load_method(run, expected_kind="world_model")
    items = trained_env_overrides(config["model"].get("env"), overrides)
    return model, model.decode_position, _planning_config(planner, episodes, seed, num_envs, items)


def _policy_planner(planner: str) -> str:
    """A policy run acts with planner 'policy' (also when --planner was left at its default)."""
    if planner not in ("policy", "hierarchical"):
        raise UserError(f"a gcrl run acts with its policy: --planner policy, got --planner {planner}")
    return "policy"


def _oracle(cfg):
    """The ground-truth model of cfg's environment and its probe."""
    if cfg.env == "pusht":
        raise UserError("there is no ground-truth model of PushT (--oracle): evaluate a trained run")
    if cfg.env == "pointmaze":
        raise UserError("there is no oracle model of PointMaze (its dynamics are MuJoCo's); plan with a trained run")
    if cfg.env == "maze":
        from jepa_world.envs.maze.oracle import MazeOracle

        model = MazeOracle(cfg.maze.rooms)
        return model, model.probe
    from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle

    model = TwoRoomsOracle(physics=cfg.physics)
    return model, model.probe


def _show_eval_config(cfg) -> None:
    """Print every PlanningEvalConfig field, the planner's own as planner.FIELD."""
    from jepa_world.config import list_fields
    from jepa_world.planning.registry import planner_config_cls

    planner_cfg = planner_config_cls(cfg.planner)(**cfg.planner_overrides)
    _echo_fields([row for row in list_fields(cfg) if row[0] != "planner_overrides"]
                 + list_fields(planner_cfg, "planner."))


@app.command("eval")
@friendly
def eval_cmd(
    run: Annotated[Path | None, typer.Argument(help="Run directory of a trained world model.")] = None,
    planner: Annotated[str, typer.Option(help="hierarchical | mppi | cem | gradient; policy for an offline-RL "
                                              "baseline run (--preset *-gcbc, *-gciql, *-hiql: its default).")]
    = "hierarchical",
    episodes: Annotated[int, typer.Option(help="Goal-reaching episodes (start and goal in opposite rooms).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the episode set.")] = 0,
    num_envs: Annotated[int, typer.Option(help="Episodes run at once.")] = 100,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write a summary PNG here.")] = None,
    oracle: Annotated[bool, typer.Option(help="Plan with the ground-truth model instead (upper bound).")] = False,
    critic: Annotated[Path | None, typer.Option(
        help="A critic directory (`jepa-world critic RUN --out DIR`): its cost-to-go ends every plan's cost.")] = None,
    overrides: Annotated[list[str] | None, typer.Argument(
        help="key=value (see --show-config): planner.horizon=12, mpc.replan_every=8, cost=l2, env=maze.")] = None,
    show_config: Annotated[bool, typer.Option(
        help="Print every evaluation config field with its doc and exit (before a run's own env is applied).")]
    = False,
    adapt: Annotated[bool, typer.Option(
        help="Adjust the world model online between blocks of num_envs episodes (adapt.FIELD=V overrides, e.g. "
             "adapt.steps=20 adapt.every=1; docs/online.md); needs --adapt-out.")] = False,
    adapt_out: Annotated[Path | None, typer.Option(
        "--adapt-out", help="With --adapt: a NEW run directory for the adjusted model (the original is never "
                            "written).")] = None,
) -> None:
    """Plan to goals in Two Rooms (or the maze: env=maze) with a trained world model; print success rate and timings."""
    from jepa_world.eval.planning import evaluate_planning, save_summary_png

    if run is not None and "=" in run.name:  # RUN is optional (--show-config, --oracle): a key=value is an override
        run, overrides = None, [str(run), *(overrides or [])]
    items = _split_overrides(overrides)
    adapt_items = [o[len("adapt."):] for o in items if o.startswith("adapt.")]
    items = [o for o in items if not o.startswith("adapt.")]
    if adapt or adapt_out is not None or adapt_items:
        _check_adapt(run, adapt, adapt_out, oracle=oracle, critic=critic)
    if show_config:
        _show_eval_config(_planning_config(planner, episodes, seed, num_envs, items))
        return
    if run is None and not oracle:
        raise UserError("missing RUN: the run directory of a trained world model (or --oracle)")
    for path, option in ((json_out, "--json"), (png, "--png")):
        if path is not None:
            check_output_file(path, option)
    value = _load_critic(critic)
    model, probe, cfg = _planned_model(run, oracle, planner, episodes, seed, num_envs, items)
    if adapt:
        report = _adapt_eval(run, adapt_out, model, cfg, adapt_items)
    else:
        report = evaluate_planning(model, cfg, probe=probe if png else None, progress=sys.stderr.isatty(),
                                   critic=value)
    typer.echo(report.table())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.as_dict(), indent=2))
        typer.echo(f"wrote {json_out}")
    if png:
        save_summary_png(report, report.results[0], str(png))
        typer.echo(f"wrote {png}")


def _check_adapt(run: Path | None, adapt: bool, adapt_out: Path | None, *, oracle: bool, critic: Path | None
                 ) -> None:
    """``eval --adapt``'s options make sense together (UserError naming what was got)."""
    from jepa_world.runs.adapt_run import check_adapt_out

    if not adapt:
        raise UserError("--adapt-out and adapt.* overrides need --adapt")
    if adapt_out is None:
        raise UserError("--adapt needs --adapt-out DIR: a new directory for the adjusted model")
    if oracle or critic is not None or run is None:
        raise UserError("--adapt adjusts a trained run's world model: give RUN, without --oracle or --critic")
    check_adapt_out(run, check_output_dir(adapt_out, "--adapt-out"))


def _adapt_eval(run: Path, out: Path, model, cfg, adapt_items: list[str]):
    """``eval --adapt``: the online evaluation, the adjusted run written to ``out``; returns the summary report."""
    from jepa_world.config import apply_overrides
    from jepa_world.eval.online import OnlineAdjustConfig
    from jepa_world.runs.adapt_run import adapt_run
    from jepa_world.runs.load import load_method

    online = apply_overrides(OnlineAdjustConfig(), adapt_items)
    _, run_config = load_method(run, expected_kind="world_model")
    result = adapt_run(run, out, model, run_config, cfg, online, progress=sys.stderr.isatty())
    blocks = " ".join(f"{s:.2f}{'*' if a else ''}" for s, a in zip(result.success, result.adjusted, strict=True))
    typer.echo(f"success per block of {cfg.num_envs} (* = adjusted after it): {blocks}; "
               f"adjustment {sum(result.update_s):.1f} s; adjusted run: {out}")
    return result.summary


def _load_critic(path: Path | None):
    if path is None:
        return None
    from jepa_world.runs.critic_run import load_critic

    return load_critic(path)


@app.command("critic")
@friendly
def critic_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of a trained world model.")],
    out: Annotated[Path, typer.Option(help="Directory to write the critic to (never inside RUN).")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing critic directory at --out.")] = False,
    overrides: Annotated[list[str] | None, typer.Argument(
        help="key=value: trajectories=1000, model_steps=20, fit.steps=3000, fit.expectile=0.2, fit.gamma=0.97.")]
    = None,
) -> None:
    """Fit a latent critic V(z, goal) (steps-to-go) on the run's reward-free data by relabelled TD; use it with
    `eval RUN --critic DIR`. Prints how well it and the plain latent distance rank true distances."""
    from jepa_world.config import apply_overrides
    from jepa_world.runs.critic_run import CriticRunConfig, train_critic

    check_output_dir(out, "--out")
    cfg = apply_overrides(CriticRunConfig(), _split_overrides(overrides))
    meta = train_critic(run, out, cfg, overwrite=overwrite, progress=sys.stderr.isatty())
    check = meta["check"]
    typer.echo(f"critic fitted in {meta['fit_s']:.0f} s (encoding {meta['encode_s']:.0f} s); rank correlation with "
               f"the true distance on {check['pairs']} held-out pairs: critic {check['spearman_critic']:.3f}, "
               f"latent l2 {check['spearman_latent_l2']:.3f}; wrote {out}")


@app.command("plan")
@friendly
def plan_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of a trained world model.")],
    gif: Annotated[Path | None, typer.Option(help="Write the episode's GIF here (default RUN/episode.gif).")] = None,
    planner: Annotated[str, typer.Option(help="hierarchical | mppi | cem | gradient.")] = "hierarchical",
    seed: Annotated[int, typer.Option(help="Seed of the episode.")] = 0,
    oracle: Annotated[bool, typer.Option(help="Plan with the ground-truth model instead.")] = False,
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value, as for `eval`.")] = None,
) -> None:
    """Plan one episode and write a GIF: observation, goal, executed path, planned latent path (decoded)."""
    from jepa_world.eval.planning import evaluate_planning, save_episode_gif

    items = _split_overrides(overrides)
    gif = check_output_file(gif or run / "episode.gif", "--gif")
    model, probe, cfg = _planned_model(run, oracle, planner, 1, seed, 1, items)
    report = evaluate_planning(model, cfg, probe=probe)
    gif.parent.mkdir(parents=True, exist_ok=True)
    save_episode_gif(report.results[0], 0, str(gif))
    outcome = "success" if report.success[0] else "failure"
    typer.echo(f"{outcome}: final distance {report.final_distance[0]:.2f} px; wrote {gif}")


@app.command("energy")
@friendly
def energy_cmd(
    run: Annotated[Path | None, typer.Argument(help="Run directory of a trained world model.")] = None,
    goal: Annotated[str, typer.Option(help="Goal position 'x,y' in px.")] = "40,50",
    layout: Annotated[str, typer.Option(help="Two Rooms layout 'wall_x,door_y'.")] = "32,24",
    seed: Annotated[int, typer.Option(help="Maze: seed of the layout drawn.")] = 0,
    rooms: Annotated[int, typer.Option(help="Maze with --oracle: rooms per side.")] = 3,
    step: Annotated[float, typer.Option(help="Lattice step of the agent positions (px).")] = 2.0,
    cost: Annotated[str, typer.Option(help="The energy: the evaluation's cost, l2 | mse | l1.")] = "l2",
    env: Annotated[str | None, typer.Option(help="two_rooms | maze (default: the run's; --oracle: two_rooms).")]
    = None,
    png: Annotated[Path | None, typer.Option(help="Write the landscape PNG here (default RUN/energy.png).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the maps and correlations as JSON.")] = None,
    oracle: Annotated[bool, typer.Option(help="The ground-truth model's landscape (the true distance).")] = False,
) -> None:
    """Draw the planning energy to a goal at every free agent position, beside the true distances."""
    from jepa_world.runs.energy_run import parse_pair, run_energy, write_energy

    if png is None and run is not None:
        png = run / "energy.png"
    if png is None and json_out is None:
        raise UserError("nothing to write: give --png and/or --json")
    for path, option in ((json_out, "--json"), (png, "--png")):
        if path is not None:
            check_output_file(path, option)
    land, meta = run_energy(run, oracle=oracle, env=env, goal=parse_pair(goal, "--goal"),
                            layout=parse_pair(layout, "--layout"), seed=seed, rooms=rooms, step=step, cost=cost)
    write_energy(land, meta, png, json_out)
    typer.echo(f"rank correlation of the energy with the straight-line distance {meta['spearman_euclidean']:.3f}, "
               f"with the shortest free path {meta['spearman_geodesic']:.3f}"
               + "".join(f"; wrote {p}" for p in (png, json_out) if p is not None))


@app.command("eval-probe")
@friendly
def eval_probe_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of an image-SSL preset.")],
    baseline: Annotated[bool, typer.Option(help="Also probe a randomly initialised encoder.")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")] = None,
) -> None:
    """Linear-probe and k-NN accuracy of a run's frozen representation (protocol in docs/ssl.md)."""
    from jepa_world.runs.ssl_run import eval_probe_run

    if json_out is not None:
        check_output_file(json_out, "--json")
    out = eval_probe_run(run, baseline=baseline)
    line = (f"linear probe {out['linear_acc']:.4f}  k-NN {out['knn_acc']:.4f}  "
            f"effective rank {out['effective_rank']:.1f}")
    if "random_init" in out:
        r = out["random_init"]
        line += f"  (random init: linear {r['linear_acc']:.4f}, k-NN {r['knn_acc']:.4f})"
    typer.echo(line)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=2))


@app.command("diagnose")
@friendly
def diagnose_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of an image-SSL or world-model preset.")],
    png: Annotated[Path | None, typer.Option(help="Spectrum PNG (default RUN/spectrum.png).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")] = None,
) -> None:
    """Collapse diagnostics of a run: verdict, reasons, metrics, training history, singular-value spectrum PNG.

    Image-SSL runs are judged on their dataset's test images; world-model runs on held-out frames of the
    environment they were trained in (their diagnostic embeddings: per-cell vectors of a spatial latent)."""
    from jepa_world.presets.ssl import KIND_IJEPA, KIND_JOINT
    from jepa_world.presets.world_model import KIND as KIND_WORLD_MODEL
    from jepa_world.runs.load import read_run_kind

    for path, option in ((png, "--png"), (json_out, "--json")):
        if path is not None:
            check_output_file(path, option)
    kind = read_run_kind(run)
    if kind == KIND_WORLD_MODEL:
        from jepa_world.runs.world_model_run import diagnose_world_model_run, format_world_model_diagnosis

        out = diagnose_world_model_run(run, png)
        typer.echo(format_world_model_diagnosis(out))  # verdict, reasons, held-out metrics, history, PNG path
    elif kind in (KIND_JOINT, KIND_IJEPA):
        from jepa_world.runs.ssl_run import diagnose_run, format_diagnosis

        out = diagnose_run(run, png)
        typer.echo(format_diagnosis(out))  # verdict, reasons, test-set metrics, per-epoch history, PNG path
    else:
        raise UserError(f"{run} holds a {kind!r} run; diagnose reads {KIND_WORLD_MODEL!r}, {KIND_JOINT!r} and "
                        f"{KIND_IJEPA!r} runs")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=2))


@app.command("eval-video")
@friendly
def eval_video_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of a video preset (e.g. --preset video-digits).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    gif: Annotated[Path | None, typer.Option(help="Rollout GIF (default RUN/rollout.gif; 'none' to skip).")] = None,
    png: Annotated[Path | None, typer.Option(help="Error-vs-horizon PNG (default RUN/horizons.png).")] = None,
    overrides: Annotated[list[str] | None, typer.Argument(
        help="VideoEvalConfig key=value: horizon=10 eval_clips=256 grid=16 decoder_steps=400 random_init=false.")]
    = None,
) -> None:
    """Probe digit locations in predicted representations at each horizon, vs copy-last and random init."""
    from jepa_world.config import apply_overrides
    from jepa_world.runs.video_run import VideoEvalConfig, eval_video_run

    cfg = apply_overrides(VideoEvalConfig(), _split_overrides(overrides))
    gif_path = None if gif is not None and gif.name.lower() == "none" else gif or run / "rollout.gif"
    for path, option in ((json_out, "--json"), (gif_path, "--gif"), (png, "--png")):
        if path is not None:
            check_output_file(path, option)
    out = eval_video_run(run, cfg, gif=gif_path, png=png or run / "horizons.png")
    for name, metrics in [("predicted", out["predicted"]), ("copy_last", out["copy_last"]),
                          *([("random_init", out["random_init"]["predicted"])] if "random_init" in out else []),
                          ("encoded", out["encoded"])]:
        errors = " ".join(f"{v:5.1f}" for v in metrics["location_error_px"])
        typer.echo(f"{name:12s} location error px by horizon: {errors}")
    shown = {k: out[k] for k in ("beats_copy_last", "beats_random_init", "error_grows_with_horizon") if k in out}
    typer.echo(f"{shown}; wrote {out['png']}" + (f" and {out['gif']}" if "gif" in out else ""))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=2))
        typer.echo(f"wrote {json_out}")


@app.command("demo")
@friendly
def demo(
    out: Annotated[Path, typer.Option("--run-dir", "--out", help="Run directory.")] = Path("runs/two-rooms"),
    episodes: Annotated[int, typer.Option(help="Evaluation episodes.")] = 100,
    overrides: Annotated[list[str] | None, typer.Argument(help="Preset overrides key=value.")] = None,
) -> None:
    """The main job: train the default world model (`--preset two-rooms`) on CPU, then plan to goals."""
    for name in ("eval.json", "eval.png", "episode.gif"):
        check_output_file(check_output_dir(out, "--run-dir") / name, "--run-dir")
    train_cmd(preset="two-rooms", run_dir=out, overrides=overrides, show_config=False)
    eval_cmd(run=out, planner="hierarchical", episodes=episodes, seed=0, num_envs=100, json_out=out / "eval.json",
             png=out / "eval.png", oracle=False, overrides=None, show_config=False)
    plan_cmd(run=out, gif=out / "episode.gif", planner="hierarchical", seed=0, oracle=False, overrides=None)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
