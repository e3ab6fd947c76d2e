"""Fit the visualisation pixel decoder on a video model's frozen (detached) representations.

The decoder maps ``model.encode_target(frame)`` back to the frame (mean squared error on pixels in
[0, 1], AdamW), on fresh moving-digit clips of the training digits each step. The video model is only
run under ``no_grad``: no gradient ever reaches it. Pictures only; no reported number depends on it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from jepa_world.data.images.dataset import to_float
from jepa_world.data.seeds import mixed_seed
from jepa_world.data.video.moving_digits import MovingDigits
from jepa_world.nn.pixel_decoder import PixelDecoder, PixelDecoderConfig


def fit_pixel_decoder(model: nn.Module, digits: MovingDigits, *, steps: int, batch_size: int = 64,
                      lr: float = 2e-3, seed: int = 0) -> tuple[PixelDecoder, float]:
    """``(decoder in eval mode, mean squared pixel error of its last 10 % of steps)``.

    Each step draws ``batch_size`` frames (one frame from each of ``batch_size`` two-frame clips).
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"fit_pixel_decoder: steps and batch_size must be >= 1, got {steps} and {batch_size}")
    model.eval()
    size = digits.config.image_size
    with torch.no_grad():
        probe = model.encode_target(torch.zeros(1, 1, size, size))  # (1, D, h, w)
    torch.manual_seed(seed)
    decoder = PixelDecoder(PixelDecoderConfig(dim=probe.shape[1], grid=probe.shape[-1], image_size=size))
    opt = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    tail = []
    for step in range(steps):
        g = torch.Generator().manual_seed(mixed_seed(seed, step, 0xDEC))
        frames = digits.sample(batch_size, num_frames=1, generator=g).frames[:, 0]  # (B, 1, H, W) uint8
        with torch.no_grad():
            z = model.encode_target(frames)  # (B, D, h, w), detached
        loss = F.mse_loss(decoder(z), to_float(frames))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step >= steps - max(1, steps // 10):
            tail.append(float(loss.detach()))
    return decoder.eval(), sum(tail) / len(tail)
