"""Planning in pixel space: a world model with a decoder seen as a world model whose latent is the frame.

:class:`PixelSpaceModel` wraps a :class:`~jepa_world.planning.protocols.DecodingModel` (the generative
baseline, :mod:`jepa_world.methods.pixel_world_model`): its ``encode(obs)`` is the observation itself,
average-pooled by ``pool`` (1 = every pixel) and flattened, (B, C * ceil(H / pool) * ceil(W / pool));
its ``rollout(z0, actions)`` turns z0 back into a frame (each pooled pixel repeated over its block),
encodes it with the model *once*, rolls the model's own latent and decodes (and pools) the frame after
every action. Any planning cost then compares frames: the ``l2`` cost is the pixel distance to the goal
image, and the MPC loop's surprise and goal-stop energies are pixel energies. Pooling trades detail for
a cheaper cost (the decoder still runs at full resolution); pool > 1 makes z0 a blurred frame.

With ``repeat = r > 1`` one action is an env action held for r env steps (the model's ``hold``), or r
model steps of a model without one; the whole held rollout stays in the model's latent, so a plan is
decoded once per action, never re-encoded between actions. It is then an
:class:`~jepa_world.planning.protocols.ActionRepeater` over the model, like ``HeldActionModel``.

Examples:
    >>> import torch
    >>> class Shift:                                    # latent = frame, decode = identity, a step rolls it
    ...     frame_shape = (1, 4, 4)
    ...     def encode(self, obs): return obs.flatten(1)
    ...     def decode(self, z): return z.view(-1, 1, 4, 4)
    ...     def step(self, z, a): return z.view(-1, 1, 4, 4).roll(1, dims=-1).flatten(1)
    ...     def rollout(self, z0, actions): return torch.stack([self.step(z0, None)] * actions.shape[1], 1)
    >>> view = PixelSpaceModel(Shift())
    >>> frame = torch.zeros(1, 1, 4, 4); frame[0, 0, 0, 0] = 1.0
    >>> view.rollout(view.encode(frame), torch.zeros(1, 1, 2))[0, 0].view(4, 4)[0].tolist()
    [0.0, 1.0, 0.0, 0.0]
    >>> PixelSpaceModel(Shift(), pool=2).encode(torch.ones(3, 1, 4, 4)).shape
    torch.Size([3, 4])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from jepa_world.nn.rollout import unroll
from jepa_world.planning.protocols import DecodingModel, FrameskipModel, HoldingModel, MovingLatentModel, WorldModel

DECODE_CHUNK = 1024
"""Frames decoded per decoder call in a rollout (bounds the activation memory of large candidate batches)."""


class PixelSpaceModel:
    """A :class:`WorldModel` whose latent is the (pooled) frame: encode (B, C, H, W) -> (B, P), rollout in frames."""

    def __init__(self, model: DecodingModel, *, repeat: int = 1, pool: int = 1) -> None:
        if not isinstance(model, DecodingModel) or not isinstance(model, WorldModel):
            raise ValueError(f"planning in pixel space needs a world model with a decoder (decode, frame_shape), "
                             f"got {type(model).__name__}")
        if isinstance(model, MovingLatentModel):  # its fast latent rollouts would bypass the decoder
            raise ValueError(f"{type(model).__name__} has a static latent part: plan it in latent space")
        if not isinstance(repeat, int) or repeat < 1 or not isinstance(pool, int) or pool < 1:
            raise ValueError(f"repeat and pool must be ints >= 1, got {repeat!r} and {pool!r}")
        self.base, self.repeat, self.pool = model, repeat, pool
        c, h, w = model.frame_shape
        self.frame_shape = (c, h, w)
        self.latent_shape = (c, -(-h // pool), -(-w // pool))  # (C, ceil(H / pool), ceil(W / pool))

    @property
    def frameskip(self) -> int:
        """Env steps per action chunk: the model's when an action is one of its own (repeat 1, or a model without
        ``hold``), 1 when an action is an env action held ``repeat`` steps."""
        held = self.repeat > 1 and isinstance(self.base, HoldingModel)
        return self.base.frameskip if isinstance(self.base, FrameskipModel) and not held else 1

    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> the pooled frame, flattened: (B, P), P = C * ceil(H / pool) * ceil(W / pool)."""
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.frame_shape:
            raise ValueError(f"expected obs (B, {', '.join(map(str, self.frame_shape))}), got {tuple(obs.shape)}")
        if self.pool > 1:
            obs = F.avg_pool2d(obs, self.pool, ceil_mode=True)  # a partial border block averages its own pixels
        return obs.flatten(1)

    def frames(self, z: Tensor) -> Tensor:
        """z (B, P) -> frames (B, C, H, W): each pooled pixel repeated over its pool x pool block."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected a pixel latent (B, {self.latent_dim}), got {tuple(z.shape)}")
        x = z.view(z.shape[0], *self.latent_shape)
        if self.pool > 1:
            x = x.repeat_interleave(self.pool, dim=2).repeat_interleave(self.pool, dim=3)
        _, h, w = self.frame_shape
        return x[:, :, :h, :w]

    @property
    def latent_dim(self) -> int:
        """P = C * ceil(H / pool) * ceil(W / pool)."""
        c, h, w = self.latent_shape
        return c * h * w

    def latent(self, z: Tensor) -> Tensor:
        """Pixel latents z (..., P) -> the model's latents (..., D) of those frames."""
        lead = z.shape[:-1]
        return self.base.encode(self.frames(z.reshape(-1, z.shape[-1]))).reshape(*lead, -1)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, P), actions (B, T, A) -> (B, T, P): the decoded (pooled) frame after each action, z0 excluded.

        Frames are decoded ``DECODE_CHUNK`` at a time, so a planner's thousands of candidates hold one chunk's
        full-resolution activations at once (under no_grad), not all of them."""
        latents = unroll(self._latent_step, self.latent(z0), actions)  # (B, T, D), one encoding per rollout
        b, t, _ = latents.shape
        flat = latents.flatten(0, 1)  # (B * T, D)
        pixels = [self.encode(self.base.decode(part)) for part in flat.split(DECODE_CHUNK)]  # (<= chunk, P) each
        return torch.cat(pixels).reshape(b, t, -1)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, P), a (B, A) -> (B, P)."""
        return self.rollout(z, a[:, None])[:, 0]

    def _latent_step(self, z: Tensor, a: Tensor) -> Tensor:
        """One action in the model's latent: z (B, D), a (B, A) -> (B, D)."""
        if self.repeat > 1 and isinstance(self.base, HoldingModel):
            return self.base.hold(z, a, self.repeat)
        for _ in range(self.repeat):
            z = self.base.step(z, a)
        return z

    def __repr__(self) -> str:
        return f"PixelSpaceModel({type(self.base).__name__}, repeat={self.repeat}, pool={self.pool})"


def pixel_probe(view: PixelSpaceModel, probe: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """A position probe of the model's latents (..., D) -> (..., 2) made one of the view's pixel latents (..., P)."""

    def read(z: Tensor) -> Tensor:
        return probe(view.latent(z))

    return read
