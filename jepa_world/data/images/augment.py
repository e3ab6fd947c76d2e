"""Batched image augmentations on tensors, in plain torch, driven by an explicit generator.

Every function takes a float batch ``x`` (B, C, H, W) in [0, 1] and a ``torch.Generator``, draws
one set of random parameters per image, and returns a batch of the same dtype in [0, 1]:

* :func:`random_resized_crop` (+ horizontal flip): one ``affine_grid``/``grid_sample`` call crops a
  box of area ``scale`` and aspect ``ratio`` (fractions of the image) and resizes it, bilinearly.
* :func:`color_jitter`: brightness, contrast (all images), saturation and hue (3 channels only), in
  that fixed order, each by a factor drawn uniformly in ``[1 - s, 1 + s]`` (hue: a rotation of the
  YIQ chroma plane by ``h * 2 pi``, ``h`` uniform in ``[-hue, hue]``).
* :func:`random_grayscale`: luminance (ITU-R 601) copied to every channel (3 channels only).
* :func:`gaussian_blur`: a separable Gaussian of per-image sigma.

:func:`augment` chains them as SimCLR/BYOL do (crop+flip, jitter with probability ``jitter_p``,
greyscale with ``grayscale_p``, blur with ``blur_p``). The same generator state gives the same batch.

Examples:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> out = augment(torch.rand(8, 3, 32, 32), AugmentConfig(), generator=g)
    >>> out.shape, bool(out.min() >= 0 and out.max() <= 1)
    (torch.Size([8, 3, 32, 32]), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

_LUMA = (0.299, 0.587, 0.114)


@dataclass
class AugmentConfig:
    """The augmentation pipeline of one view (probabilities in [0, 1]; 0 switches a step off)."""

    crop_scale: tuple[float, float] = (0.3, 1.0)
    """Random resized crop: range of the crop's area as a fraction of the image."""
    crop_ratio: tuple[float, float] = (0.75, 1.3333)
    """Random resized crop: range of the crop's aspect ratio (width / height)."""
    flip_p: float = 0.5
    """Probability of a horizontal flip (0 for digits and text, where it changes the class)."""
    jitter_p: float = 0.8
    """Probability of applying colour jitter."""
    brightness: float = 0.4
    """Brightness factor range [1 - b, 1 + b]."""
    contrast: float = 0.4
    """Contrast factor range [1 - c, 1 + c]."""
    saturation: float = 0.2
    """Saturation factor range [1 - s, 1 + s] (3-channel images only)."""
    hue: float = 0.1
    """Hue shift range [-h, h] in turns (3-channel images only; at most 0.5)."""
    grayscale_p: float = 0.2
    """Probability of converting to greyscale (3-channel images only)."""
    blur_p: float = 0.5
    """Probability of a Gaussian blur."""
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    """Range of the blur's sigma, in pixels."""

    def validate(self) -> None:
        """Raise ValueError naming every out-of-range field."""
        problems = []
        for name in ("flip_p", "jitter_p", "grayscale_p", "blur_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.hue <= 0.5:
            problems.append(f"hue must be in [0, 0.5], got {self.hue}")
        lo, hi = self.crop_scale
        if not 0.0 < lo <= hi <= 1.0:
            problems.append(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}")
        lo, hi = self.crop_ratio
        if not 0.0 < lo <= hi:
            problems.append(f"crop_ratio must satisfy 0 < lo <= hi, got {self.crop_ratio}")
        lo, hi = self.blur_sigma
        if not 0.0 < lo <= hi:
            problems.append(f"blur_sigma must satisfy 0 < lo <= hi, got {self.blur_sigma}")
        if problems:
            raise ValueError("invalid AugmentConfig: " + "; ".join(problems))


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)


def _bernoulli(n: int, p: float, generator: torch.Generator) -> Tensor:
    return torch.rand(n, generator=generator) < p


def _check(x: Tensor, name: str) -> None:
    if x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"{name}: expected a float batch (B, C, H, W) in [0, 1], got {tuple(x.shape)} {x.dtype}")


def crop_boxes(
    n: int, *, scale: tuple[float, float], ratio: tuple[float, float], generator: torch.Generator
) -> Tensor:
    """Random crop boxes as fractions of the image: (n, 4) ``(cx, cy, w, h)``, box inside [0, 1]^2.

    Area ``w * h`` is uniform in ``scale``; aspect ``w / h`` is log-uniform in ``ratio``; when a side
    would exceed the image it is clipped to 1 (keeping the box inside).
    """
    area = _uniform(n, *scale, generator)
    log_r = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator)
    r = log_r.exp()
    w = (area * r).sqrt().clamp(max=1.0)
    h = (area / r).sqrt().clamp(max=1.0)
    cx = w / 2 + (1 - w) * torch.rand(n, generator=generator, dtype=torch.float64)
    cy = h / 2 + (1 - h) * torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.stack([cx, cy, w, h], dim=1)


def random_resized_crop(
    x: Tensor,
    *,
    scale: tuple[float, float] = (0.3, 1.0),
    ratio: tuple[float, float] = (0.75, 1.3333),
    flip_p: float = 0.0,
    size: int | None = None,
    generator: torch.Generator,
) -> Tensor:
    """Crop a random box of each image and resize it to ``size`` (default: the input size), with an
    optional horizontal flip. (B, C, H, W) -> (B, C, size, size)."""
    _check(x, "random_resized_crop")
    b = x.shape[0]
    boxes = crop_boxes(b, scale=scale, ratio=ratio, generator=generator)  # (B, 4)
    flip = _bernoulli(b, flip_p, generator)
    cx, cy, w, h = boxes.unbind(1)
    sign = torch.where(flip, -1.0, 1.0).to(torch.float64)
    theta = torch.zeros(b, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = w * sign  # output x in [-1, 1] -> input x in [2cx - 1 - w, 2cx - 1 + w]
    theta[:, 0, 2] = 2 * cx - 1
    theta[:, 1, 1] = h
    theta[:, 1, 2] = 2 * cy - 1
    out_size = size or x.shape[-1]
    grid = F.affine_grid(theta.to(x), [b, x.shape[1], out_size, out_size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _gray(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, 1, H, W) luminance (the image itself for C != 3)."""
    if x.shape[1] != 3:
        return x.mean(dim=1, keepdim=True)
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _per_image(v: Tensor, x: Tensor) -> Tensor:
    return v.to(x).view(-1, 1, 1, 1)


def adjust_hue(x: Tensor, shift: Tensor) -> Tensor:
    """Rotate the chroma of RGB images (B, 3, H, W) by ``shift`` (B,) turns in YIQ space."""
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                          dtype=x.dtype, device=x.device)
    from_yiq = torch.linalg.inv(to_yiq)
    yiq = torch.einsum("ij,bjhw->bihw", to_yiq, x)
    angle = (shift * 2 * math.pi).to(x)
    cos, sin = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", from_yiq, yiq)


def color_jitter(
    x: Tensor,
    *,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p: float = 1.0,
    generator: torch.Generator,
) -> Tensor:
    """Brightness, contrast, then (RGB only) saturation and hue jitter, each image with probability p."""
    _check(x, "color_jitter")
    b = x.shape[0]
    apply = _bernoulli(b, p, generator).to(x.device).view(-1, 1, 1, 1)
    bright = _uniform(b, 1 - brightness, 1 + brightness, generator)
    contr = _uniform(b, 1 - contrast, 1 + contrast, generator)
    satur = _uniform(b, 1 - saturation, 1 + saturation, generator)
    shift = _uniform(b, -hue, hue, generator)
    out = (x * _per_image(bright, x)).clamp(0, 1)
    mean = _gray(out).mean(dim=(1, 2, 3), keepdim=True)
    out = ((out - mean) * _per_image(contr, x) + mean).clamp(0, 1)
    if x.shape[1] == 3:
        gray = _gray(out)
        out = ((out - gray) * _per_image(satur, x) + gray).clamp(0, 1)
        if hue > 0:
            out = adjust_hue(out, shift).clamp(0, 1)
    return torch.where(apply, out, x)


def random_grayscale(x: Tensor, *, p: float, generator: torch.Generator) -> Tensor:
    """Replace each RGB image by its luminance with probability p (other channel counts: unchanged)."""
    _check(x, "random_grayscale")
    apply = _bernoulli(x.shape[0], p, generator).to(x.device).view(-1, 1, 1, 1)
    if x.shape[1] != 3:
        return x
    return torch.where(apply, _gray(x).expand_as(x), x)


def gaussian_kernels(sigma: Tensor, radius: int) -> Tensor:
    """Normalised 1-D Gaussian kernels (B, 2 * radius + 1) of per-image ``sigma`` (B,)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma.double().view(-1, 1)) ** 2)
    return k / k.sum(dim=1, keepdim=True)


def gaussian_blur(
    x: Tensor, *, sigma: tuple[float, float] = (0.1, 1.5), p: float = 1.0, generator: torch.Generator
) -> Tensor:
    """Separable Gaussian blur of each image with probability p, sigma uniform in ``sigma`` (px).

    The kernel radius is ``ceil(3 * sigma_max)``, capped so it stays smaller than the image; borders
    are reflected.
    """
    _check(x, "gaussian_blur")
    b, c, h, w = x.shape
    apply = _bernoulli(b, p, generator).to(x.device).view(-1, 1, 1, 1)
    sig = _uniform(b, *sigma, generator)
    radius = max(1, min(math.ceil(3 * sigma[1]), min(h, w) // 2 - 1))
    k = gaussian_kernels(sig, radius).to(x)  # (B, K)
    k = k.repeat_interleave(c, dim=0)  # (B*C, K): one kernel per image and channel
    y = x.reshape(1, b * c, h, w)
    y = F.pad(y, (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k.view(b * c, 1, 1, -1), groups=b * c)  # along W
    y = F.conv2d(y, k.view(b * c, 1, -1, 1), groups=b * c)  # along H
    return torch.where(apply, y.view(b, c, h, w), x)


def augment(x: Tensor, config: AugmentConfig, *, generator: torch.Generator) -> Tensor:
    """One random view of each image: (B, C, H, W) float in [0, 1] -> same shape, in [0, 1]."""
    _check(x, "augment")
    cfg = config
    x = random_resized_crop(x, scale=cfg.crop_scale, ratio=cfg.crop_ratio, flip_p=cfg.flip_p, generator=generator)
    if cfg.jitter_p > 0:
        x = color_jitter(x, brightness=cfg.brightness, contrast=cfg.contrast, saturation=cfg.saturation,
                         hue=cfg.hue, p=cfg.jitter_p, generator=generator)
    if cfg.grayscale_p > 0:
        x = random_grayscale(x, p=cfg.grayscale_p, generator=generator)
    if cfg.blur_p > 0:
        x = gaussian_blur(x, sigma=cfg.blur_sigma, p=cfg.blur_p, generator=generator)
    return x.clamp(0, 1)
