"""``jepa-world energy RUN``: the energy landscape of a world-model run (or an oracle) to one goal, as a PNG and JSON.

The run is rebuilt from its directory alone and draws the environment it was trained in (config.json's
``model.env``: Two Rooms with its wall pixels, or the maze with its rooms); the layout is given (Two Rooms:
``wall_x, door_y``) or drawn from a seed (maze). See :mod:`jepa_world.eval.energy_landscape`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from jepa_world.envs.maze.layout import maze_grid, sample_layouts
from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
from jepa_world.errors import UserError
from jepa_world.eval.energy_landscape import Landscape, maze_landscape, save_landscape_png, two_rooms_landscape
from jepa_world.runs.load import load_method


def parse_pair(text: str, option: str) -> tuple[float, float]:
    """``"40,50"`` -> (40.0, 50.0); UserError naming the option otherwise."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"{option} must be two numbers 'x,y', got {text!r}") from None


def run_energy(run: Path | None, *, oracle: bool, env: str | None, goal: tuple[float, float],
               layout: tuple[float, float], seed: int, rooms: int, step: float, cost: str) -> tuple[Landscape, dict]:
    """(landscape, what the JSON records) of a run's model (or the oracle of ``env``)."""
    if step <= 0:
        raise UserError(f"--step must be > 0 px, got {step}")
    trained: dict[str, Any] = {}
    if oracle:
        name = env or "two_rooms"
        model: Any = MazeOracle(rooms) if name == "maze" else TwoRoomsOracle()
    else:
        if run is None:
            raise UserError("missing RUN: the run directory of a trained world model (or --oracle)")
        model, config = load_method(run, expected_kind="world_model")
        trained = config["model"].get("env") or {"name": "two_rooms"}
        name = env or trained.get("name", "two_rooms")
    if name not in ("two_rooms", "maze"):
        raise UserError(f"energy landscapes are drawn for two_rooms and maze runs (their agent can be rendered "
                        f"anywhere); this run's env is {name!r}")
    try:
        if name == "maze":
            grid = maze_grid(int(trained.get("rooms", rooms)))
            doors = sample_layouts(1, grid, generator=torch.Generator().manual_seed(seed))[0]
            land = maze_landscape(model, goal=goal, doors=doors, step=step, cost=cost)
            where = {"env": "maze", "rooms": grid.n, "layout_seed": seed, "doors": doors.tolist()}
        else:
            wall = (int(layout[0]), int(layout[1]))
            land = two_rooms_landscape(model, goal=goal, layout=wall, step=step, cost=cost,
                                       walls=trained.get("walls", "ebjepa"))
            where = {"env": "two_rooms", "wall_x": wall[0], "door_y": wall[1]}
    except ValueError as e:
        raise UserError(str(e)) from None
    meta = {"run": None if run is None else str(run), "oracle": oracle, **where, "goal": list(goal), "step": step,
            "cost": cost, "spearman_euclidean": land.spearman_euclidean, "spearman_geodesic": land.spearman_geodesic}
    return land, meta


def write_energy(land: Landscape, meta: dict, png: Path | None, json_out: Path | None) -> None:
    """The PNG and the JSON (meta plus the maps, NaN as null)."""
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        what = "oracle" if meta["oracle"] else meta["run"]
        save_landscape_png(land, str(png), title=f"{what}: energy to the goal {tuple(meta['goal'])} ({meta['env']})")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        maps = {k: [[None if v != v else round(v, 5) for v in row] for row in getattr(land, k).tolist()]
                for k in ("energy", "euclidean", "geodesic")}
        json_out.write_text(json.dumps({**meta, "coords": land.coords.tolist(), **maps}))
