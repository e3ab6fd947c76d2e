"""Energy landscapes: the planning energy to one goal at every free agent position, beside the true distance.

A planner minimises the energy E(z, g) = cost(encode(frame with the agent at p), encode(goal frame)) over the
positions its actions reach. Drawing E over every free position p of one layout shows what the planner sees:
a bowl around the goal is easy; a basin on the wrong side of a wall (low energy behind the wall, where the
straight line to the goal is short but the path through the door is long) is the local minimum that makes a
flat planner stall and motivates hierarchical planning. The true distances are drawn beside it: the straight
line (Euclidean) and the geodesic (shortest free path, :mod:`jepa_world.envs.lattice_paths`), with the Spearman
rank correlation of the energy with each (1 = the energy orders positions as the distance does).

Any world model that encodes the environment's frames works (the oracle's landscape is the Euclidean distance
exactly: its latent is the agent's position). The agent positions are rendered on a lattice of ``step`` px; the
energy is the evaluation's cost (``l2`` by default) on the encoded frames, one latent per position.

Examples:
    >>> import torch
    >>> from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
    >>> land = two_rooms_landscape(TwoRoomsOracle(), goal=(40.0, 50.0), layout=(32, 24), step=8.0)
    >>> land.energy.shape == land.euclidean.shape, round(land.spearman_euclidean, 3)
    (True, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from jepa_world.envs import lattice_paths
from jepa_world.envs.maze import geometry as maze_geo
from jepa_world.envs.maze import render as maze_render
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.render import render, render_walls
from jepa_world.eval.rank_correlation import spearman
from jepa_world.planning.costs import make_cost
from jepa_world.planning.protocols import WorldModel

CHUNK = 256
"""Frames encoded per forward pass."""


@dataclass
class Landscape:
    """The energy to one goal over a lattice of agent positions of one layout; NaN where the agent cannot be.

    G = lattice points per side; maps are indexed [row y, column x] like the frames.
    """

    coords: Tensor
    """(G,) the lattice's pixel coordinates, the same along x and y."""
    energy: Tensor
    """(G, G) the planning energy from the agent at (x, y) to the goal."""
    euclidean: Tensor
    """(G, G) the straight-line distance to the goal (px)."""
    geodesic: Tensor
    """(G, G) the shortest free path to the goal (px, 8-neighbour lattice: at most 8 % long)."""
    goal: tuple[float, float]
    """The goal position (x, y), px."""
    walls: np.ndarray
    """(H, W) the layout's wall pixels, for drawing."""
    spearman_euclidean: float
    """Rank correlation of the energy with the straight-line distance over the free positions."""
    spearman_geodesic: float
    """Rank correlation of the energy with the geodesic distance over the free positions."""


@torch.no_grad()
def landscape(model: WorldModel, frames: Tensor, goal_frame: Tensor, *, cost: str = "l2") -> Tensor:
    """The energy of each frame (P, C, H, W) to the goal frame (1, C, H, W) under the evaluation cost: (P,)."""
    goal = model.encode(goal_frame)  # (1, D)
    z = torch.cat([model.encode(part) for part in frames.split(CHUNK)])  # (P, D)
    energy = make_cost(cost, reduce="last")(z[None, :, None, :], goal)  # (1, P)
    return energy[0].float().cpu()


def two_rooms_landscape(model: WorldModel, *, goal: tuple[float, float], layout: tuple[int, int], step: float = 2.0,
                        cost: str = "l2", walls: str = "ebjepa") -> Landscape:
    """The landscape of a Two Rooms layout (wall_x, door_y) for the agent at every free lattice point."""
    wall_x, door_y = torch.tensor([layout[0]]), torch.tensor([layout[1]])
    goal_t = torch.tensor([goal], dtype=torch.float32)
    if not bool(geo.is_free(goal_t, wall_x, door_y)[0]):
        raise ValueError(f"goal {goal} is not a free position of the layout wall_x={layout[0]}, door_y={layout[1]}")
    coords = torch.arange(geo.FREE_LO, geo.FREE_HI + 1e-9, step)
    points = _lattice(coords)  # (G * G, 2)
    free = geo.is_free(points, wall_x.expand(len(points)), door_y.expand(len(points)))
    n = int(free.sum())
    frames = render(points[free], wall_x.expand(n), door_y.expand(n), walls=walls)
    energy = landscape(model, frames, render(goal_t, wall_x, door_y, walls=walls), cost=cost)
    lattice = lattice_paths.free_lattice(*geo.free_rectangles(wall_x, door_y), size=geo.SIZE)
    geodesic = lattice_paths.geodesic_map(lattice, goal_t)[0]  # (SIZE, SIZE)
    return _assemble(coords, points, free, energy, goal, geodesic,
                     render_walls(wall_x, door_y, walls=walls)[0].numpy())


def maze_landscape(model: WorldModel, *, goal: tuple[float, float], doors: Tensor, step: float = 2.0,
                   cost: str = "l2") -> Landscape:
    """The landscape of one maze layout (doors (E,)) for the agent at every free lattice point."""
    doors = doors.view(1, -1)
    goal_t = torch.tensor([goal], dtype=torch.float32)
    if not bool(maze_geo.is_free(goal_t, doors)[0]):
        raise ValueError(f"goal {goal} is not a free position of the maze layout")
    coords = torch.arange(0.0, geo.SIZE - 1 + 1e-9, step)
    points = _lattice(coords)
    free = maze_geo.is_free(points, doors.expand(len(points), -1))
    frames = maze_render.render(points[free], doors.expand(int(free.sum()), -1))
    energy = landscape(model, frames, maze_render.render(goal_t, doors), cost=cost)
    lattice = lattice_paths.free_lattice(*maze_geo.all_rectangles(doors), size=geo.SIZE)
    geodesic = lattice_paths.geodesic_map(lattice, goal_t)[0]
    return _assemble(coords, points, free, energy, goal, geodesic, maze_render.render_walls(doors)[0].numpy())


def _lattice(coords: Tensor) -> Tensor:
    """(G,) coordinates -> (G * G, 2) points (x, y), row-major in y like the frames."""
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs, ys], dim=-1).view(-1, 2).float()


def _assemble(coords: Tensor, points: Tensor, free: Tensor, energy: Tensor, goal: tuple[float, float],
              geodesic_px: Tensor, walls: np.ndarray) -> Landscape:
    """Maps (G, G) from the free points' energies, the straight-line and geodesic distances, the correlations."""
    g = len(coords)
    grid = torch.full((g * g,), math.nan)
    grid[free] = energy
    euclid = torch.linalg.vector_norm(points - torch.tensor(goal), dim=-1)
    px = points.round().long().clamp(0, geodesic_px.shape[0] - 1)
    geodesic = geodesic_px[px[:, 1], px[:, 0]].float()  # the lattice pixel nearest each point
    geodesic = torch.where(free & geodesic.isfinite(), geodesic, torch.full_like(geodesic, math.nan))
    euclid = torch.where(free, euclid, torch.full_like(euclid, math.nan))
    reach = free & geodesic.isfinite()
    return Landscape(coords=coords, energy=grid.view(g, g), euclidean=euclid.view(g, g),
                     geodesic=geodesic.view(g, g), goal=goal, walls=walls,
                     spearman_euclidean=spearman(energy, euclid[free]),
                     spearman_geodesic=spearman(grid[reach], geodesic[reach]))


def save_landscape_png(land: Landscape, path: str, *, title: str = "") -> None:
    """Three panels: the energy, the straight-line distance, the geodesic distance; walls grey, goal a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = land.coords.numpy()
    extent = (c[0], c[-1], c[-1], c[0])
    panels = (("energy", land.energy, f"planning energy (rank corr.: straight {land.spearman_euclidean:.2f}, "
                                      f"path {land.spearman_geodesic:.2f})"),
              ("euclidean", land.euclidean, "straight-line distance (px)"),
              ("geodesic", land.geodesic, "shortest free path (px)"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (_, values, label) in zip(axes, panels, strict=True):
        ax.imshow(np.ma.masked_where(land.walls < 0.5, land.walls), cmap="Greys", vmin=0, vmax=1.5,
                  extent=(-0.5, land.walls.shape[1] - 0.5, land.walls.shape[0] - 0.5, -0.5))
        shown = ax.imshow(np.ma.masked_invalid(values.numpy()), cmap="viridis", extent=extent, alpha=0.9)
        ax.plot(*land.goal, marker="*", color="red", markersize=14, markeredgecolor="white")
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(shown, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
