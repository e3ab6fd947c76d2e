"""The generative world model baseline: the generic model's encoder and predictor, trained to predict pixels.

The comparison point for the JEPA world models (issue 14): the same convolutional spatial encoder
(:mod:`jepa_world.nn.spatial_encoder`), the same action-conditioned convolutional predictor
(:mod:`jepa_world.nn.spatial_predictor`) and the same frameskip semantics as
:class:`~jepa_world.methods.spatial_world_model.SpatialWorldModel`, plus a convolutional decoder
(:mod:`jepa_world.nn.spatial_decoder`) from the latent back to the frame. Its targets are *frames*,
not embeddings: nothing prevents collapse but the pixel loss itself, so there is no EMA target, no
stop-gradient and no variance/covariance term; gradients flow end to end.

Loss over a window of model-step frames x_0..x_T (every ``frameskip``-th env frame) and chunks a_0..a_{T-1}:
the current frame is encoded, z_0 = Enc(x_0), the predictor rolls it, zhat_t = Pred(...Pred(z_0, a_0)..., a_{t-1}),
and every latent is decoded:

    L = recon_weight * |Dec(z_0) - x_0|^2                        (autoencoder term, the current frame)
      + pred_weight  * mean_{t=1..T} |Dec(zhat_t) - x_t|^2       (the predicted future frames)
      + kl_weight    * KL(q(z_0 | x_0) || N(0, I))               (kl_weight > 0 only)

(squared errors averaged over pixels). Only x_0 is encoded: the future frames are targets, never inputs, so a
step costs one encoding and T + 1 decodings per window.

with frames compared in the encoder's normalised input units ((x - input_mean) / input_std per
channel), so that a small moving blob counts as much as a large static channel. With ``kl_weight > 0``
the latent is a VAE's: the encoder outputs a mean and a log-variance per latent channel, training
uses the reparameterised sample z = mean + exp(log_var / 2) * eps and :func:`encode` returns the mean.

For planners the latent is flattened like the generic model's: ``encode`` returns (B, D) with
D = C' * h * w; :meth:`PixelWorldModel.decode` turns latents back into frames (in observation units),
which lets :class:`~jepa_world.planning.pixel_space.PixelSpaceModel` plan with a pixel-distance cost.

Examples:
    >>> import torch
    >>> cfg = PixelWorldModelConfig(encoder=SpatialEncoderConfig(channels=(8, 8, 8), latent_channels=4),
    ...                             predictor=SpatialPredictorConfig(latent_channels=4, action_dim=4, hidden=8),
    ...                             decoder_channels=(8, 8, 8), frameskip=2)
    >>> wm = PixelWorldModel(cfg)
    >>> batch = {"obs": torch.rand(3, 5, 2, 65, 65), "actions": torch.zeros(3, 4, 2),
    ...          "positions": torch.full((3, 5, 2), 30.0)}
    >>> loss, metrics = wm.training_step(batch, step=0)
    >>> sorted(metrics)
    ['pred', 'probe_px', 'recon']
    >>> z = wm.encode(batch["obs"][:, 0]); z.shape, wm.decode(z).shape
    (torch.Size([3, 324]), torch.Size([3, 2, 65, 65]))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from jepa_world.methods.spatial_dynamics import SpatialDynamics
from jepa_world.nn.spatial_decoder import SpatialDecoder, SpatialDecoderConfig
from jepa_world.nn.spatial_encoder import SpatialEncoder, SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictor, SpatialPredictorConfig
from jepa_world.objectives.gaussian_kl import gaussian_kl


@dataclass
class PixelWorldModelConfig:
    """The generative baseline: the generic model's encoder and predictor, a decoder, a pixel loss."""

    encoder: SpatialEncoderConfig = field(default_factory=SpatialEncoderConfig)
    """The convolutional encoder (its latent_channels sets C'); the same as the generic model's."""
    predictor: SpatialPredictorConfig = field(default_factory=lambda: SpatialPredictorConfig(action_dim=10))
    """The predictor; latent_channels must equal the encoder's, action_dim = frameskip * env action size."""
    decoder_channels: tuple[int, ...] = ()
    """Input channels of the decoder's upsampling stages, coarse to fine (one per encoder stage); empty: the
    encoder's channels reversed."""
    decoder_blocks: int = 1
    """Residual 3x3 blocks of the decoder at the latent resolution."""
    frameskip: int = 5
    """Environment steps per model step (the model's action is their chunk)."""
    recon_weight: float = 1.0
    """Weight of the autoencoder term: the window's current (first) frame reconstructed from its latent."""
    pred_weight: float = 1.0
    """Weight of the prediction term: the decoded predicted latents against the true future frames."""
    kl_weight: float = 0.0
    """> 0: a VAE latent (the encoder outputs mean and log-variance, reparameterised sample, this weight on the
    KL to N(0, I), averaged per latent dim); 0: a deterministic latent."""
    probe: bool = True
    """Train a detached linear probe z -> agent position (a sanity metric and the path decoder of pictures)."""

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        self.encoder.validate()
        self.predictor.validate()
        self.decoder_config().validate()
        if self.frameskip < 1:
            raise ValueError(f"frameskip must be >= 1, got {self.frameskip}")
        if self.predictor.latent_channels != self.encoder.latent_channels:
            raise ValueError(f"predictor.latent_channels ({self.predictor.latent_channels}) must equal "
                             f"encoder.latent_channels ({self.encoder.latent_channels})")
        if self.predictor.action_dim % self.frameskip:
            raise ValueError(f"predictor.action_dim ({self.predictor.action_dim}) must be frameskip "
                             f"({self.frameskip}) x the environment's action size")
        if self.decoder_channels and len(self.decoder_channels) != len(self.encoder.channels):
            raise ValueError(f"decoder_channels needs one entry per encoder stage ({len(self.encoder.channels)}), "
                             f"got {self.decoder_channels}")
        weights = {"recon_weight": self.recon_weight, "pred_weight": self.pred_weight, "kl_weight": self.kl_weight}
        negative = [k for k, v in weights.items() if v < 0]
        if negative:
            raise ValueError(f"loss weights must be >= 0, got negative {negative}")

    def decoder_config(self) -> SpatialDecoderConfig:
        """The decoder's shape: the encoder's, mirrored."""
        enc = self.encoder
        return SpatialDecoderConfig(latent_channels=enc.latent_channels, out_channels=enc.in_channels,
                                    image_size=enc.image_size, channels=self.decoder_channels or enc.channels[::-1],
                                    blocks=self.decoder_blocks)

    @property
    def env_action_dim(self) -> int:
        """Size A of one environment action."""
        return self.predictor.action_dim // self.frameskip


class PixelWorldModel(SpatialDynamics):
    """encode (B, C, H, W) -> (B, D); step (B, D), (B, frameskip * A) -> (B, D); decode (B, D) -> (B, C, H, W)."""

    def __init__(self, config: PixelWorldModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or PixelWorldModelConfig()
        self.config.validate()
        cfg = self.config
        c = cfg.encoder.latent_channels
        # a VAE's encoder outputs mean and log-variance: twice the latent channels
        self.encoder = SpatialEncoder(replace(cfg.encoder, latent_channels=2 * c) if self.variational
                                      else cfg.encoder)
        self.predictor = SpatialPredictor(cfg.predictor)
        self.decoder = SpatialDecoder(cfg.decoder_config())
        self.latent_shape: tuple[int, int, int] = cfg.encoder.latent_shape()
        self.frame_shape: tuple[int, int, int] = (cfg.encoder.in_channels, cfg.encoder.image_size,
                                                  cfg.encoder.image_size)
        self.probe = nn.Linear(self.latent_dim, 2) if cfg.probe else None

    @property
    def variational(self) -> bool:
        """True when the latent is a VAE's (kl_weight > 0)."""
        return self.config.kl_weight > 0

    # --- the WorldModel verbs -------------------------------------------------------------------
    def encode(self, obs: Tensor) -> Tensor:
        """obs (B, C, H, W) -> z (B, D): the latent (a VAE's posterior mean)."""
        return self._posterior(obs)[0].flatten(1)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, D) -> frames (B, C, H, W) in observation units."""
        enc = self.encoder
        return self.decoder(self._fold(z)) * enc.input_std + enc.input_mean

    def _posterior(self, obs: Tensor) -> tuple[Tensor, Tensor | None]:
        """obs (B, C, H, W) -> (mean (B, C', h, w), log-variance (B, C', h, w) or None when deterministic)."""
        out = self.encoder(obs)
        if not self.variational:
            return out, None
        mean, log_var = out.chunk(2, dim=1)
        return mean, log_var

    def _normalize(self, frames: Tensor) -> Tensor:
        """frames (..., C, H, W) in observation units -> the encoder's normalised units (the decoder's)."""
        return (frames - self.encoder.input_mean) / self.encoder.input_std

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """batch: obs (B, 1+T*k, C, H, W), actions (B, T*k, A), positions (optional) -> (loss, metrics)."""
        batch = self.subsample(batch)
        obs, actions = batch["obs"], batch["actions"]  # (B, T+1, C, H, W), (B, T, k*A)
        mean, log_var = self._posterior(obs[:, 0])  # (B, C', h, w) each: the current frame only
        z0 = mean if log_var is None else mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        z0 = z0.flatten(1)  # (B, D)
        latents = torch.cat([z0[:, None], self.rollout(z0, actions)], dim=1)  # (B, T+1, D): z_0, zhat_1..zhat_T
        decoded = self._decode_normalized(latents)  # (B, T+1, C, H, W), one batched decoder call
        target = self._normalize(obs)  # (B, T+1, C, H, W)
        terms = {"recon": F.mse_loss(decoded[:, 0], target[:, 0]), "pred": F.mse_loss(decoded[:, 1:], target[:, 1:])}
        if log_var is not None:
            terms["kl"] = gaussian_kl(mean=mean, log_var=log_var)
        weights = {"recon": self.config.recon_weight, "pred": self.config.pred_weight, "kl": self.config.kl_weight}
        loss = sum(weights[k] * v for k, v in terms.items())
        metrics = {k: float(v.detach()) for k, v in terms.items()}
        if self.probe is not None and "positions" in batch:
            probe_loss, metrics["probe_px"] = self._probe_loss(z0.detach(), batch["positions"][:, 0])
            loss = loss + probe_loss
        return loss, metrics

    def _decode_normalized(self, z: Tensor) -> Tensor:
        """z (B, T, D) -> decoded frames (B, T, C, H, W) in normalised units, one batched decoder call."""
        b, t, _ = z.shape
        return self.decoder(z.reshape(b * t, *self.latent_shape)).reshape(b, t, *self.frame_shape)

    @torch.no_grad()
    def diagnostic_embeddings(self, batch: dict[str, Tensor]) -> Tensor:
        """The latent cells of the batch's first frames, one row each: (B * h * w, C') (as the generic model's)."""
        z = self.encode(batch["obs"][:, 0])
        return z.reshape(z.shape[0], *self.latent_shape).permute(0, 2, 3, 1).reshape(-1, self.latent_shape[0])
