"""Benchmark: what a Two Rooms world model's latent offers a planner: the energy landscape and rollout drift.

Usage: python bench/latent_landscape.py RUN [--blurs 1,3,5,9] [--threads 1]

1. **Landscape.** One layout (wall at x=32, door at y=24), the agent rendered on a 3 px grid of the free
   space and the goal at (40, 50): the mean squared latent distance to the goal's latent, by true distance
   (3 / 6 / 10 / 15 / 25 / 40 px, +- 2 px), and its Spearman correlation with the true distance; with
   ``--blurs`` also after comparing the latent maps box-blurred at those kernel sizes (spatial models only,
   planning/blurred_cost.py).
2. **Drift.** 300 free starts on random layouts (seed 0), one random unit action held for 5 env steps per
   model step, the true env (EB-JEPA rule) beside the model's held rollout: mean probe error (px) of the
   predicted latent and its squared distance to the encoding of the true frame, after 1 / 2 / 4 / 8 / 12 / 16
   model steps, beside "nothing moves" (the first latent). Models of frameskip 1 step 5 times per model step.

Prints one JSON line. The probe is the run's own detached position probe (a diagnostic, never a loss).
"""

from __future__ import annotations

import argparse
import json

import torch

from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.physics import apply_action
from jepa_world.envs.two_rooms.render import render
from jepa_world.eval.rank_correlation import spearman
from jepa_world.planning.blurred_cost import SpatialLatent, blur_pyramid
from jepa_world.planning.protocols import HoldingModel
from jepa_world.runs.load import load_method

DISTANCES = (3, 6, 10, 15, 25, 40)
HORIZONS = (1, 2, 4, 8, 12, 16)


@torch.no_grad()
def landscape(wm, blurs: tuple[int, ...]) -> dict:
    """Latent distance to one goal by true distance, plain and blurred."""
    wall_x, door_y = torch.tensor([32]), torch.tensor([24])
    xs = torch.arange(6, 60, 3.0)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="ij"), -1).view(-1, 2)
    grid = grid[geo.is_free(grid, wall_x.expand(len(grid)), door_y.expand(len(grid)))]
    n = len(grid)
    goal = torch.tensor([[40.0, 50.0]])
    z = wm.encode(render(grid, wall_x.expand(n), door_y.expand(n)))
    g = wm.encode(render(goal, wall_x, door_y))
    true = (grid - goal).norm(dim=-1)
    out = {}
    variants = {"plain": (z, g)}
    if blurs and isinstance(wm, SpatialLatent):
        variants[f"blurs {blurs}"] = (blur_pyramid(z, wm.latent_shape, blurs), blur_pyramid(g, wm.latent_shape, blurs))
    for name, (zz, gg) in variants.items():
        d = (zz - gg).pow(2).mean(-1)
        by = {str(r): round(float(d[(true - r).abs() < 2].mean()), 5) for r in DISTANCES}
        out[name] = {"spearman": round(spearman(d, true), 3), "mse_by_px": by}
    return out


@torch.no_grad()
def drift(wm, n: int = 300) -> dict:
    """Probe error and latent error of held-action rollouts vs the true env."""
    g = torch.Generator().manual_seed(0)
    wall_x, door_y = geo.sample_layouts(n, generator=g)
    pos = torch.stack([torch.rand(n, generator=g) * 50 + 8, torch.rand(n, generator=g) * 50 + 8], -1)
    free = geo.is_free(pos, wall_x, door_y)
    pos, wall_x, door_y = pos[free], wall_x[free], door_y[free]
    angle = torch.rand(len(pos), generator=g) * 2 * torch.pi
    action = torch.stack([angle.cos(), angle.sin()], -1)
    z = z0 = wm.encode(render(pos, wall_x, door_y))
    p = pos.double()
    rows = {}
    for h in range(1, max(HORIZONS) + 1):
        for _ in range(5):
            p = apply_action(p, action, wall_x, door_y, physics="ebjepa", generator=g)
        z = wm.hold(z, action, 5) if isinstance(wm, HoldingModel) else _step5(wm, z, action)
        if h in HORIZONS:
            true = wm.encode(render(p.float(), wall_x, door_y))
            rows[str(h)] = {"probe_px": round(float((wm.decode_position(z) - p.float()).norm(dim=-1).mean()), 2),
                            "mse_pred": round(float((z - true).pow(2).mean()), 5),
                            "mse_still": round(float((z0 - true).pow(2).mean()), 5)}
    return rows


def _step5(wm, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    for _ in range(5):
        z = wm.step(z, action)
    return z


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--blurs", default="", help="e.g. 1,3,5,9 (spatial latents)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    wm = load_method(args.run, expected_kind="world_model")[0].eval()
    blurs = tuple(int(b) for b in args.blurs.split(",") if b)
    print(json.dumps({"run": args.run, "landscape": landscape(wm, blurs), "drift_by_model_step": drift(wm)}))


if __name__ == "__main__":
    main()
