"""The verbs every spatial-latent, frameskip world model shares (the generic JEPA one and the pixel baseline).

A subclass sets ``config`` (with ``frameskip`` and ``env_action_dim``), ``predictor`` ((B, C', h, w), (B, k * A)
-> (B, C', h, w)), ``latent_shape`` (C', h, w) and ``probe`` (a linear position probe or None) and defines
``encode``; this class gives it the flattened latent's layout, ``step`` / ``rollout`` over action chunks, ``hold``
(one env action held for a multiple of the frameskip: the
:class:`~jepa_world.planning.protocols.HoldingModel` capability), the probe's readout and loss, and the windows'
subsampling from env steps to model steps.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from jepa_world.nn.rollout import unroll

POSITION_CENTER = 32.0
"""Probe targets are (position - POSITION_CENTER) / POSITION_SCALE (the arena's centre and half-size, px)."""
POSITION_SCALE = 16.0
"""See POSITION_CENTER."""


class SpatialDynamics(nn.Module):
    """Shared verbs over a (C', h, w) latent flattened to (B, D) and a predictor of frameskip-chunked actions."""

    config: object
    predictor: nn.Module
    latent_shape: tuple[int, int, int]
    probe: nn.Linear | None

    @property
    def frameskip(self) -> int:
        """Env steps per model step (the :class:`~jepa_world.planning.protocols.FrameskipModel` capability)."""
        return self.config.frameskip  # type: ignore[attr-defined]

    @property
    def latent_dim(self) -> int:
        """D = C' * h * w."""
        c, h, w = self.latent_shape
        return c * h * w

    def _fold(self, z: Tensor) -> Tensor:
        """(B, D) -> (B, C', h, w)."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected a latent (B, {self.latent_dim}), got {tuple(z.shape)}")
        return z.view(z.shape[0], *self.latent_shape)

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        """z (B, D), a (B, frameskip * A) the chunk of the next frameskip actions -> z (B, D)."""
        return self.predictor(self._fold(z), a).flatten(1)

    def rollout(self, z0: Tensor, actions: Tensor) -> Tensor:
        """z0 (B, D), actions (B, T, frameskip * A) -> (B, T, D): the latents after each chunk (z0 excluded)."""
        return unroll(self.step, z0, actions)

    def hold(self, z: Tensor, a: Tensor, steps: int) -> Tensor:
        """z (B, D), one env action a (B, A) held for ``steps`` env steps (a multiple of frameskip) -> (B, D)."""
        k, env_dim = self.frameskip, self.config.env_action_dim  # type: ignore[attr-defined]
        if steps % k or a.dim() != 2 or a.shape[1] != env_dim:
            raise ValueError(f"hold needs a (B, {env_dim}) action and steps a multiple of the frameskip {k}, "
                             f"got {tuple(a.shape)} and steps={steps}")
        chunk = a.repeat(1, k)  # (B, A) -> (B, k * A): the same action k times
        for _ in range(steps // k):
            z = self.step(z, chunk)
        return z

    def decode_position(self, z: Tensor) -> Tensor:
        """The detached probe's position estimate (px): z (..., D) -> (..., 2)."""
        if self.probe is None:
            raise ValueError("this world model was trained without a position probe (probe=false)")
        return self.probe(z) * POSITION_SCALE + POSITION_CENTER

    def _probe_loss(self, z: Tensor, positions: Tensor) -> tuple[Tensor, float]:
        """z (..., D) detached, positions (..., 2) px -> (probe MSE loss, mean error in px)."""
        assert self.probe is not None
        target = (positions - POSITION_CENTER) / POSITION_SCALE
        pred = self.probe(z)
        err_px = ((pred.detach() - target).norm(dim=-1) * POSITION_SCALE).mean()
        return F.mse_loss(pred, target), float(err_px)

    def subsample(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Env-step windows -> model-step windows: obs (B, 1 + T*k, ...) -> (B, 1 + T, ...) every k-th frame,
        actions (B, T*k, A) -> chunks (B, T, k*A), positions likewise. ``features`` are already per model step."""
        k, env_dim = self.frameskip, self.config.env_action_dim  # type: ignore[attr-defined]
        actions = batch["actions"]
        b, steps, a = actions.shape
        if steps % k or a != env_dim:
            raise ValueError(f"expected actions (B, T * {k}, {env_dim}) for frameskip {k}, got {tuple(actions.shape)}")
        out = {"actions": actions.reshape(b, steps // k, k * a)}
        for key in ("obs", "positions"):
            if key in batch:
                if batch[key].shape[1] != steps + 1:
                    raise ValueError(f"expected {key} with {steps + 1} frames, got {tuple(batch[key].shape)}")
                out[key] = batch[key][:, ::k]
        if "features" in batch:
            out["features"] = batch["features"]
        return out
