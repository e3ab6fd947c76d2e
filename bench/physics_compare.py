"""Benchmark: how far apart the 'strict' and 'ebjepa' Two Rooms rules put the agent, near walls and away from them.

Usage: python bench/physics_compare.py [--pairs 200000] [--seed 0] [--near 3.0]

Samples random (state, action) pairs: layouts as in the benchmark, agent centres uniform in the arena's
free space of the strict rule, actions uniform in the 2.45 px disc. Applies both rules (EB-JEPA's with its
collision noise) and reports, for the pairs whose start lies within --near px of a wall line and for the
others, the share ending more than 0.1 px apart and the largest gap. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math

import torch

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.physics import apply_action


def near_wall(pos: torch.Tensor, wall_x: torch.Tensor, door_y: torch.Tensor, margin: float) -> torch.Tensor:
    """Whether each centre (N, 2) is within ``margin`` px of a border or of the middle wall outside the door."""
    x, y = pos[:, 0], pos[:, 1]
    border = (x < geo.BORDER_LO + margin) | (x > geo.BORDER_HI - margin) | (y < geo.BORDER_LO + margin) | (
        y > geo.BORDER_HI - margin)
    wall = ((x - wall_x).abs() < geo.WALL_HALF + margin) & ((y - door_y).abs() > geo.DOOR_HALF - margin)
    return border | wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--near", type=float, default=3.0, help="px from a wall line that counts as near")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(args.seed)
    n = args.pairs
    wall_x, door_y = geo.sample_layouts(n, generator=g)
    pos = geo.sample_in_room(n, (torch.rand(n, generator=g) < 0.5).long(), wall_x, generator=g, margin=1.0)
    angle, radius = torch.rand(n, generator=g) * 2 * math.pi, geo.MAX_ACTION_NORM * torch.rand(n, generator=g).sqrt()
    action = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=-1).double()
    strict = apply_action(pos, action, wall_x, door_y, physics="strict")
    ebjepa = apply_action(pos, action, wall_x, door_y, physics="ebjepa", generator=g)
    gap = (strict - ebjepa).norm(dim=-1)
    near = near_wall(pos, wall_x.double(), door_y.double(), args.near)
    out = {"pairs": n, "near_wall_pairs": int(near.sum()), "near_px": args.near}
    for name, mask in (("near_wall", near), ("away", ~near)):
        out[f"{name}_share_apart_gt_0.1px"] = round((gap[mask] > 0.1).double().mean().item(), 4)
        out[f"{name}_max_gap_px"] = round(gap[mask].max().item(), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
