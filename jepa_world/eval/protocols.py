"""Success protocols: how an episode's distances to the goal become success, each with its published name.

The evaluator (never the agent) reads the environment's true distance to the goal after every step,
``distances (N, S + 1)`` (the start included), and scores it under a named protocol:

- ``"final"`` -- the distance **after the whole budget** is below the radius; the agent acts until the
  end, so it must reach the goal *and stay*. EB-JEPA's and PLDM's Two Rooms protocol; the headline.
- ``"first-hit"`` -- the episode ends the first time the distance is below the radius
  (the gymnasium-robotics / OGBench convention). The agent never knows the episode would end, so its
  actions up to the first hit are those of the same run continued: both protocols are read off one run.

Examples:
    >>> import torch
    >>> d = torch.tensor([[9.0, 4.0, 7.0], [9.0, 6.0, 3.0], [9.0, 8.0, 7.0]])   # 3 episodes, 2 steps
    >>> final_success(d, radius=4.5).tolist(), first_hit_success(d, radius=4.5).tolist()
    ([False, True, False], [True, True, False])
    >>> first_hit_step(d, radius=4.5).tolist()
    [1, 2, -1]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

PROTOCOL_LABELS: dict[str, str] = {
    "final": "final: distance after the whole step budget < radius, agent acting until the end (EB-JEPA, PLDM)",
    "first-hit": "first-hit: episode ends when the distance first drops below the radius (gymnasium-robotics, "
                 "OGBench)",
}
"""Every protocol's name and the words that label its numbers."""


def _check(distances: Tensor) -> None:
    if distances.dim() != 2 or distances.shape[1] < 1:
        raise ValueError(f"distances must be (N, S + 1), got {tuple(distances.shape)}")


def final_success(distances: Tensor, *, radius: float) -> Tensor:
    """Protocol 'final': distances (N, S + 1) -> (N,) bool, last distance < radius."""
    _check(distances)
    return distances[:, -1] < radius


def first_hit_success(distances: Tensor, *, radius: float) -> Tensor:
    """Protocol 'first-hit': distances (N, S + 1) -> (N,) bool, any distance < radius."""
    _check(distances)
    return (distances < radius).any(dim=1)


def first_hit_step(distances: Tensor, *, radius: float) -> Tensor:
    """(N,) int64: the first index into distances (N, S + 1) with distance < radius; -1 if never."""
    _check(distances)
    hit = distances < radius
    first = hit.long().argmax(dim=1)
    return torch.where(hit.any(dim=1), first, torch.full_like(first, -1))


PROTOCOLS: dict[str, Callable[..., Tensor]] = {"final": final_success, "first-hit": first_hit_success}
"""Protocol name -> its success function ``(distances (N, S + 1), *, radius) -> (N,) bool``."""
