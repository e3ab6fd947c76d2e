"""Figure: what a keypoint world model learned of the walls, beside the truth.

Usage: python bench/occupancy_maps.py RUN_DIR [--png maps.png] [--layouts 20:10,32:18,44:54,28:40]
For each Two Rooms layout (wall_x:door_y) the agent is placed on a 0.5 px grid; each placement is
encoded and the model's map logit is read at the agent's own keypoint through the predictor's
calibration, i.e. exactly where the ray-marching predictor looks it up. Row 1: the observation;
row 2: the free probability the predictor uses when planning; row 3: disagreement with the true
free space of the agent's centre (red: the model blocks a free point; blue: a hole, the model lets
the agent into a wall). Prints one JSON object on its last line with the counts per layout.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch.nn import functional as F

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.render import render_trajectories
from jepa_world.runs.load import load_method


@torch.no_grad()
def free_probability(model, wall_x: int, door_y: int, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Agent centres on the grid xs x xs -> (free probability the model plans with, true free mask), (S, S) each."""
    y, x = torch.meshgrid(xs, xs, indexing="ij")
    pos = torch.stack([x.flatten(), y.flatten()], dim=-1)  # (S*S, 2)
    n = pos.shape[0]
    wall, door = torch.full((n,), wall_x), torch.full((n,), door_y)
    pred = model.predictor
    z = torch.cat([model.encode(render_trajectories(pos[i:i + 512, None], wall[i:i + 512], door[i:i + 512])[:, 0])
                   for i in range(0, n, 512)])
    kp, occupancy = pred.split(z)  # (n, K, 2), (n, 1, M, M)
    grid = pred.to_map_unit(kp)[:, :1].reshape(n, 1, 1, 2)  # where the predictor looks the first keypoint up
    logit = F.grid_sample(occupancy, grid, mode="bilinear", padding_mode="border", align_corners=False).flatten()
    free = torch.sigmoid(-pred.sharpness() * logit)
    return free.view(x.shape), geo.is_free(pos, wall, door).view(x.shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="run directory of a keypoint world model (preset two-rooms)")
    ap.add_argument("--png", type=Path, default=None, help="output PNG (default RUN/occupancy.png)")
    ap.add_argument("--layouts", default="20:10,32:18,44:54,28:40", help="comma-separated wall_x:door_y")
    args = ap.parse_args()
    model, _ = load_method(args.run, expected_kind="world_model")
    model.eval()
    if not hasattr(model, "predictor") or not hasattr(model.predictor, "split"):
        raise SystemExit(f"{args.run} is not a keypoint world model (no occupancy map to draw)")
    layouts = [tuple(int(v) for v in item.split(":")) for item in args.layouts.split(",")]
    xs = torch.arange(geo.FREE_LO, geo.FREE_HI + 0.01, 0.5)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3 * len(layouts), 9), layout="constrained")
    axes = fig.subplots(3, len(layouts), squeeze=False)
    extent = (xs[0].item(), xs[-1].item(), xs[-1].item(), xs[0].item())
    counts = {}
    for j, (wall_x, door_y) in enumerate(layouts):
        free, truth = free_probability(model, wall_x, door_y, xs)
        obs = render_trajectories(torch.tensor([[[12.0, 30.0]]]), torch.tensor([wall_x]), torch.tensor([door_y]))
        axes[0, j].imshow(obs[0, 0].sum(0), cmap="gray_r")
        axes[0, j].set_title(f"wall {wall_x}, door {door_y}", fontsize=9)
        axes[1, j].imshow(free, extent=extent, vmin=0, vmax=1, cmap="viridis")
        axes[2, j].imshow((free < 0.5).float() - (~truth).float(), extent=extent, vmin=-1, vmax=1, cmap="bwr")
        holes, blocked = int(((free >= 0.5) & ~truth).sum()), int(((free < 0.5) & truth).sum())
        counts[f"{wall_x}:{door_y}"] = {"holes": holes, "blocked_free": blocked, "wall_points": int((~truth).sum()),
                                        "points": int(truth.numel())}
        axes[2, j].set_title(f"{holes} holes, {blocked} free points blocked (0.5 px grid)", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1, 0].set_ylabel("free probability (planning)")
    axes[2, 0].set_ylabel("model - truth")
    png = args.png or args.run / "occupancy.png"
    fig.savefig(png, dpi=80)
    print(json.dumps({"run": str(args.run), "png": str(png), "layouts": counts}))


if __name__ == "__main__":
    main()
