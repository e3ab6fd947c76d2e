"""Macro-actions: a world model whose one action is a primitive action held for ``repeat`` base steps.

A planner over :class:`ChunkedWorldModel` searches T macro-actions, i.e. ``T * repeat`` environment
steps, at the cost of a T-step search space: 10 macro-actions of repeat 5 cover 50 Two Rooms steps.
The predicted latents are those after each macro-action, so a cost sees T points along the way.

Examples:
    >>> import torch
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> model = ChunkedWorldModel(PointMass(), repeat=5)
    >>> model.rollout(torch.zeros(1, 2), torch.ones(1, 2, 2))      # (B=1, T=2, A=2) macro-actions
    tensor([[[ 5.,  5.],
             [10., 10.]]])
    >>> expand_actions(torch.tensor([[[1.0], [2.0]]]), repeat=2).flatten().tolist()
    [1.0, 1.0, 2.0, 2.0]
"""

from __future__ import annotations

from torch import Tensor

from jepa_world.nn.rollout import unroll
from jepa_world.planning.protocols import HoldingModel, WorldModel


def expand_actions(actions: Tensor, *, repeat: int) -> Tensor:
    """Macro-actions (B, T, A) -> the primitive sequence (B, T * repeat, A), each action held ``repeat`` times."""
    if actions.dim() != 3:
        raise ValueError(f"actions must be (B, T, A), got shape {tuple(actions.shape)}")
    return actions if repeat == 1 else actions.repeat_interleave(repeat, dim=1)


class ChunkedWorldModel:
    """A :class:`WorldModel` whose one action is a primitive action held for ``repeat`` base steps.

    The one action-repeat idea of the library: the low-level planners' macro-actions (``mpc.action_repeat``)
    and the hierarchical planner's held-action high level (:class:`~jepa_world.planning.high_level.HeldActionModel`
    adds a macro-action prior to this class). A base with a ``hold(z, a, steps)`` method
    (:class:`~jepa_world.planning.protocols.HoldingModel`: the oracles predict the held segment in one go, a
    frameskip model chunks it into its own steps) is held through it; any other base steps ``repeat`` times.
    ``hold`` is offered in turn, so wrappers nest.
    """

    def __init__(self, base: WorldModel, repeat: int) -> None:
        if not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"repeat must be an int >= 1, got {repeat!r}")
        self.base = base
        self.repeat = repeat

    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D), the base model's encoding."""
        return self.base.encode(obs)

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), a (B, A) held for ``steps`` of this model's steps (``steps * repeat`` base steps) -> (B, D)."""
        if isinstance(self.base, HoldingModel):
            return self.base.hold(z, a, steps * self.repeat)
        for _ in range(steps * self.repeat):
            z = self.base.step(z, a)
        return z

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, A) -> the latent after holding ``a`` for ``repeat`` base steps (B, D)."""
        return self.hold(z, a, 1)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, A) -> (B, T, D): the latent after each held action (z0 excluded; only the T
        macro-step latents are kept, not T * repeat)."""
        return unroll(self.step, z0, actions)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base!r}, repeat={self.repeat})"
