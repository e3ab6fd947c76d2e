"""Advantage-weighted regression (AWR) weights: how much a logged action is imitated.

Peng et al. 2019 (AWR) and Nair et al. 2020 (AWAC): a policy extracted from a value function clones the
data's actions, each weighted by ``exp(beta * A(s, a))``, the exponentiated advantage at inverse temperature
``beta``; IQL (Kostrikov et al. 2022) and OGBench's GCIQL / HIQL (Park et al. 2024) clip the weight at 100 so that
one lucky sample cannot dominate a batch. ``beta = 0`` is plain behaviour cloning.

Examples:
    >>> import torch
    >>> awr_weights(torch.tensor([0.0, 1.0, 10.0]), beta=1.0, max_weight=100.0)
    tensor([  1.0000,   2.7183, 100.0000])
    >>> awr_weights(torch.tensor([-3.0, 3.0]), beta=0.0, max_weight=100.0)
    tensor([1., 1.])
"""

from __future__ import annotations

import torch
from torch import Tensor


def awr_weights(advantage: Tensor, *, beta: float, max_weight: float = 100.0) -> Tensor:
    """``min(exp(beta * advantage), max_weight)``, shape of ``advantage``, without gradient."""
    if beta < 0 or not max_weight > 0:
        raise ValueError(f"AWR needs beta >= 0 and max_weight > 0, got beta={beta}, max_weight={max_weight}")
    return torch.exp(beta * advantage.detach()).clamp_max(max_weight)
