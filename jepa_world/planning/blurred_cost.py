"""A goal cost over a spatial latent compared at several blur scales (a multi-scale pyramid of the latent map).

Two latent maps of one scene that differ only by where a small thing is differ only in two small
regions: their distance stops growing once those regions no longer overlap, a flat energy a planner
cannot descend. Comparing box-blurred copies of the maps (``blurs``: kernel sizes in cells, stride 1,
borders averaged over the cells inside) widens the regions: the distance keeps growing over the
largest kernel. A generic vision prior for any model that declares its latent's (C, h, w) layout
(:class:`SpatialLatent`); nothing here knows what the map shows.

Examples:
    >>> import torch
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> maps = torch.zeros(3, 1, 1, 9, 9)                         # (N=3, T=1, C=1, 9, 9)
    >>> for i, col in enumerate((1, 4, 7)): maps[i, 0, 0, 4, col] = 1.0
    >>> goal = torch.zeros(3, 81); goal[:, 4 * 9 + 8] = 1.0
    >>> plain = goal_distance_cost("mse", reduce="last")
    >>> blurred = BlurredCost(plain, (1, 9, 9), blurs=(1, 3, 5, 9))
    >>> z = maps.reshape(3, 1, 1, 81)                               # (N, S=1, T=1, D)
    >>> plain(z, goal).flatten().tolist() == [plain(z, goal)[0, 0].item()] * 3   # flat: all equally far
    True
    >>> c = blurred(z, goal).flatten().tolist(); c[0] > c[1] > c[2]            # nearer is cheaper
    True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor
from torch.nn import functional as F

from jepa_world.planning.protocols import CostFn


@runtime_checkable
class SpatialLatent(Protocol):
    """A world model whose flat latent (B, D) is a (C, h, w) map, D = C * h * w."""

    latent_shape: tuple[int, int, int]
    """(C, h, w) of the latent map."""


def blur_pyramid(z: Tensor, latent_shape: tuple[int, int, int], blurs: tuple[int, ...]) -> Tensor:
    """z (..., D) -> (..., len(blurs) * D): the map box-blurred by each odd kernel size (1 = unchanged)."""
    c, h, w = latent_shape
    lead = z.shape[:-1]
    maps = z.reshape(-1, c, h, w)
    levels = [maps if k == 1 else F.avg_pool2d(maps, k, stride=1, padding=k // 2, count_include_pad=False)
              for k in blurs]
    return torch.cat([m.flatten(1) for m in levels], dim=1).reshape(*lead, -1)


class BlurredCost:
    """``cost(pyramid(z_traj), pyramid(goal))``: any goal cost, on the latent maps compared at several blurs."""

    def __init__(self, base: CostFn, latent_shape: tuple[int, int, int], *, blurs: tuple[int, ...]) -> None:
        if not blurs or any(k < 1 or k % 2 == 0 for k in blurs):
            raise ValueError(f"blurs must be odd kernel sizes >= 1, got {blurs}")
        self.base, self.latent_shape, self.blurs = base, tuple(latent_shape), tuple(blurs)

    def __call__(self, z_traj: Tensor, goal: Tensor) -> Tensor:
        """z_traj (N, S, T, D), goal (N, D) -> (N, S)."""
        return self.base(blur_pyramid(z_traj, self.latent_shape, self.blurs),
                         blur_pyramid(goal, self.latent_shape, self.blurs))
