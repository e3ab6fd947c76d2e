"""The coarse time scale of hierarchical planning: a latent model over macro-actions.

A :class:`HighLevelModel` predicts, in the same latent space as the low-level :class:`WorldModel`,
the latent after one *macro-action*, which summarises ``steps_per_macro`` primitive steps (a held
action, a learned encoding of an action chunk, ...). The hierarchical planner searches macro-action
sequences with it and hands the predicted latents to a low-level planner as subgoals; it never
decodes a macro-action into primitive actions.

:class:`HeldActionModel` makes one from any world model: a macro-action is a primitive action held
for k steps, predicted by k steps of the world model (exact when the world model is exact, e.g. an
oracle, which predicts the k steps in one go through its ``hold`` method).
:class:`HighLevelAsWorldModel` lets the existing planners (CEM, MPPI, gradient) search macro-action
sequences.

Examples:
    >>> import torch
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> high = HeldActionModel(PointMass(), steps=5, action_dim=2, max_norm=1.0)
    >>> isinstance(high, HighLevelModel), high.macro_dim, high.steps_per_macro
    (True, 2, 5)
    >>> high.step(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    tensor([[5., 0.]])
    >>> macros = high.sample_macros(100, generator=torch.Generator().manual_seed(0))
    >>> macros.shape, bool((macros.norm(dim=1) <= 1.0 + 1e-6).all())
    (torch.Size([100, 2]), True)
    >>> HighLevelAsWorldModel(high).rollout(torch.zeros(1, 2), torch.ones(1, 3, 2))[0, :, 0].tolist()
    [5.0, 10.0, 15.0]
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from jepa_world.nn.rollout import unroll
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.protocols import WorldModel


@runtime_checkable
class HighLevelModel(Protocol):
    """Latent dynamics at a coarse time scale: one macro-action covers ``steps_per_macro`` primitive steps.

    ``macro_dim`` is the size M of a macro-action; ``steps_per_macro`` says how many steps of the
    planner's world model one macro-action stands for (the hierarchical planner sizes its low-level
    horizon and subgoal spacing with it).
    """

    macro_dim: int
    steps_per_macro: int

    def step(self, z: Tensor, macro: Tensor) -> Tensor:
        """z (B, D), macro (B, M) -> the latent after the macro-action (B, D)."""
        ...

    def sample_macros(self, n: int, *, generator: torch.Generator) -> Tensor:
        """n candidate macro-actions (n, M) drawn from the model's macro-action prior (on the model's device)."""
        ...


def uniform_ball(n: int, dim: int, radius: float, *, generator: torch.Generator, device=None) -> Tensor:
    """n points uniform in the L2 ball of ``radius`` in R^dim: (n, dim) float32."""
    g = torch.randn(n, dim, generator=generator, device=generator.device)
    direction = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    r = radius * torch.rand(n, 1, generator=generator, device=generator.device) ** (1.0 / dim)
    return (direction * r).to(device or generator.device)


class HeldActionModel(ChunkedWorldModel):
    """Macro-actions from any world model: a macro-action is one primitive action held for ``steps`` steps.

    A :class:`~jepa_world.planning.chunked.ChunkedWorldModel` (the held action, through the base's ``hold`` when
    it has one) that is also a :class:`HighLevelModel`: ``sample_macros`` draws actions uniformly in the L2 ball of
    ``max_norm``, the action bound.
    """

    def __init__(self, world_model: WorldModel, steps: int, *, action_dim: int = 2, max_norm: float = 2.45) -> None:
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        if max_norm <= 0:
            raise ValueError(f"max_norm must be > 0, got {max_norm}")
        super().__init__(world_model, steps)
        self.steps_per_macro = steps
        self.macro_dim = action_dim
        self.max_norm = max_norm

    def sample_macros(self, n: int, *, generator: torch.Generator) -> Tensor:
        """(n, A) actions uniform in the ball of radius ``max_norm``."""
        return uniform_ball(n, self.macro_dim, self.max_norm, generator=generator)


class HighLevelAsWorldModel:
    """A :class:`WorldModel` view of a high-level model (actions = macro-actions), for the existing planners."""

    def __init__(self, high_level: HighLevelModel) -> None:
        self.high_level = high_level

    def encode(self, obs: Tensor) -> Tensor:
        raise TypeError("HighLevelAsWorldModel plans from latents; encode observations with the world model")

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, M) -> (B, D)."""
        return self.high_level.step(z, a)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), macro-actions (B, T, M) -> (B, T, D), z0 excluded."""
        return unroll(self.high_level.step, z0, actions)
