"""The ``jepa-world`` command line: subcommands and presets; the work lives in the library."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from jepa_world.config import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="JEPA world models and planning in representation space, CPU first.")
data_app = typer.Typer(no_args_is_help=True, help="Offline trajectory datasets.")
app.add_typer(data_app, name="data")

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, ConfigError, FileNotFoundError, RuntimeError)


def friendly(fn):
    """Turn user errors into one clear line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            typer.secho(f"error: {e}", fg="red", err=True)
            raise typer.Exit(2) from None

    return wrapper


@data_app.command("generate")
@friendly
def data_generate(
    out: Annotated[Path, typer.Option("--out", help="Output directory (created; must not exist or be empty).")],
    env: Annotated[str, typer.Option(help="Environment: two-rooms.")] = "two-rooms",
    num: Annotated[int, typer.Option(help="Number of trajectories.")] = 100_000,
    length: Annotated[int, typer.Option(help="Frames per trajectory (T+1).")] = 17,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 0,
    fixed_wall: Annotated[bool, typer.Option(help="Fixed layout instead of random.")] = False,
    shard_size: Annotated[int, typer.Option(help="Trajectories per shard file.")] = 10_000,
    store_obs: Annotated[bool, typer.Option(help="Also store uint8 observations (else rendered on load).")]
    = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing non-empty --out.")] = False,
) -> None:
    """Generate an offline dataset of random-walk trajectories."""
    from jepa_world.data.build import build_dataset
    from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

    cfg = TwoRoomsDataConfig(length=length, fixed_wall=fixed_wall)
    path = build_dataset(out, num=num, config=cfg, seed=seed, shard_size=shard_size, store_obs=store_obs,
                         overwrite=overwrite, env=env, progress=sys.stderr.isatty())
    typer.echo(f"wrote {num} trajectories of {length} frames to {path}")


@data_app.command("show")
@friendly
def data_show(
    directory: Annotated[Path, typer.Argument(help="A dataset directory.")],
    out: Annotated[Path | None, typer.Option(help="Where to write PNG/GIF (default: DIR/preview).")] = None,
    count: Annotated[int, typer.Option(help="Trajectories to show.")] = 8,
    seed: Annotated[int, typer.Option(help="Which trajectories (random pick).")] = 0,
) -> None:
    """Write a PNG grid and a GIF of a few trajectories, and print dataset statistics."""
    import torch

    from jepa_world.data.preview import subset, trajectory_gif, trajectory_grid_png
    from jepa_world.data.shards import load_trajectories
    from jepa_world.data.stats import dataset_stats

    traj, meta = load_trajectories(directory)
    out = out or Path(directory) / "preview"
    rows = torch.randperm(len(traj), generator=torch.Generator().manual_seed(seed))[:count]
    png = trajectory_grid_png(subset(traj, rows), out / "trajectories.png", count=count)
    gif = trajectory_gif(subset(traj, rows), out / "trajectories.gif", count=count)
    typer.echo(json.dumps({"env": meta["env"], **dataset_stats(traj)}, indent=2))
    typer.echo(f"wrote {png} and {gif}")


@app.command("demo")
@friendly
def demo(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/demo"),
) -> None:
    """The main job on the embedded default: generate a Two Rooms dataset and summarise it."""
    from jepa_world.data.build import build_dataset
    from jepa_world.data.shards import load_trajectories
    from jepa_world.data.stats import dataset_stats
    from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig

    data_dir = out / "two-rooms-data"
    build_dataset(data_dir, num=20_000, config=TwoRoomsDataConfig(), overwrite=True,
                  progress=sys.stderr.isatty())
    traj, _ = load_trajectories(data_dir)
    typer.echo(json.dumps(dataset_stats(traj), indent=2))
    data_show(data_dir, out=out / "preview", count=8, seed=0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
