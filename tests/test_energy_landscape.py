"""Energy landscapes: the oracle's energy is the true distance; the geodesic goes through the door; the CLI."""

import json
import math

import torch
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.envs.maze.layout import maze_grid, sample_layouts
from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
from jepa_world.eval.energy_landscape import maze_landscape, two_rooms_landscape

runner = CliRunner()


def _at(land, x: float, y: float) -> tuple[float, float, float]:
    i, j = int((land.coords - y).abs().argmin()), int((land.coords - x).abs().argmin())
    return float(land.energy[i, j]), float(land.euclidean[i, j]), float(land.geodesic[i, j])


def test_oracle_energy_is_the_straight_line_distance_on_a_hand_built_layout() -> None:
    land = two_rooms_landscape(TwoRoomsOracle(), goal=(40.0, 50.0), layout=(32, 24), step=3.0)
    free = ~land.energy.isnan()
    assert free.sum() > 200 and torch.equal(free, ~land.euclidean.isnan())
    torch.testing.assert_close(land.energy[free], land.euclidean[free], atol=0.05, rtol=0.0)
    assert land.spearman_euclidean > 0.999


def test_geodesic_equals_the_straight_line_in_the_goal_room_and_detours_through_the_door() -> None:
    land = two_rooms_landscape(TwoRoomsOracle(), goal=(41.0, 49.0), layout=(32, 24), step=2.0)  # lattice 5, 7, ..
    _, euclid, geodesic = _at(land, 49.0, 49.0)  # same room, 8 px along an axis: exact on the lattice
    assert abs(geodesic - euclid) < 1e-6 and abs(euclid - 8.0) < 1e-6
    _, euclid, geodesic = _at(land, 23.0, 49.0)  # across the wall: via the door slot (rows 20..28) at x = 32
    via_door = 2 * math.hypot(9.0, 49.0 - 28.0)  # the straight path through the slot's nearest corner
    assert euclid == 18.0 and via_door - 3.5 <= geodesic <= 1.08 * via_door + 2.0
    assert land.spearman_geodesic < land.spearman_euclidean  # the oracle's straight-line energy ignores walls


def test_maze_oracle_landscape_is_the_straight_line_distance() -> None:
    doors = sample_layouts(1, maze_grid(3), generator=torch.Generator().manual_seed(0))[0]
    land = maze_landscape(MazeOracle(3), goal=(10.0, 10.0), doors=doors, step=4.0)
    free = ~land.energy.isnan()
    torch.testing.assert_close(land.energy[free], land.euclidean[free], atol=0.05, rtol=0.0)
    reach = ~land.geodesic.isnan()
    assert (land.geodesic[reach] >= land.euclidean[reach] - 1e-4).all()  # a path is never shorter than the line


def test_cli_writes_the_png_and_the_maps_and_refuses_a_goal_in_a_wall(tmp_path) -> None:
    png, out = tmp_path / "e.png", tmp_path / "e.json"
    r = runner.invoke(app, ["energy", "--oracle", "--step", "4", "--png", str(png), "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "rank correlation" in r.output and png.stat().st_size > 10_000
    data = json.loads(out.read_text())
    assert data["env"] == "two_rooms" and data["wall_x"] == 32 and data["door_y"] == 24
    assert len(data["energy"]) == len(data["coords"]) and data["spearman_euclidean"] > 0.999
    bad = runner.invoke(app, ["energy", "--oracle", "--goal", "32,40", "--json", str(out)])  # inside the wall
    assert bad.exit_code == 2 and "not a free position" in bad.output
    bad = runner.invoke(app, ["energy", "--oracle", "--goal", "40", "--json", str(out)])
    assert bad.exit_code == 2 and "two numbers" in bad.output
    assert runner.invoke(app, ["energy", "--oracle"]).exit_code == 2  # nothing to write
