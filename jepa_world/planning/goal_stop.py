"""The agent's own "am I at the goal?": a latent energy and a threshold calibrated without labels.

An agent that should stop at its goal may only decide so from what it computes itself. Its energy to
the goal is the mean squared latent distance ``E(z, g) = mean_D (z - g)^2`` (the ``mse`` planning cost
of one step). The threshold is calibrated on training trajectories alone: the ``quantile`` of the
energy between frames ``k`` steps apart. With the Two Rooms random walks (mean step 1 px) and the
evaluation's k = 4 this reads "about as close as four steps of motion", inside the 4.5 px success
radius, and uses no position label.

Examples:
    >>> import torch
    >>> latent_energy(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.0, 0.0]]))
    tensor([5.])
    >>> class Identity:
    ...     def encode(self, obs): return obs.flatten(1)
    >>> frames = torch.arange(5.0).view(1, 5, 1, 1, 1).expand(2, 5, 1, 1, 1)   # (B, T+1, C, H, W): 1 per step
    >>> calibrate_goal_energy(Identity(), frames, k=2)
    4.0
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.planning.protocols import WorldModel


def latent_energy(z: Tensor, goal: Tensor) -> Tensor:
    """Mean squared latent distance: z (N, D), goal (N, D) -> (N,)."""
    if z.shape != goal.shape or z.dim() != 2:
        raise ValueError(f"latent_energy needs z and goal of one shape (N, D), got {tuple(z.shape)} and "
                         f"{tuple(goal.shape)}")
    return (z - goal).pow(2).mean(dim=-1)


def calibrate_goal_energy(world_model: WorldModel, frames: Tensor, *, k: int = 2, quantile: float = 0.5) -> float:
    """The ``quantile`` of E(z_t, z_{t+k}) over training clips frames (B, T+1, C, H, W) -> a threshold."""
    if frames.dim() != 5 or not 1 <= k < frames.shape[1]:
        raise ValueError(f"frames must be (B, T+1, C, H, W) with T+1 > k={k}, got {tuple(frames.shape)}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    b, t = frames.shape[:2]
    with torch.no_grad():
        z = world_model.encode(frames.flatten(0, 1)).reshape(b, t, -1)  # (B, T+1, D)
    energy = (z[:, k:] - z[:, :-k]).pow(2).mean(dim=-1)  # (B, T+1-k)
    return float(energy.flatten().quantile(quantile))
