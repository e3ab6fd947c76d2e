"""Seeded, vectorised samplers the data generators need (torch.distributions takes no Generator)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def von_mises(n: int, kappa: float, *, generator: torch.Generator, dtype=torch.float64) -> Tensor:
    """n angles from von Mises(0, kappa) in (-pi, pi] by Best & Fisher's (1979) rejection method.

    Vectorised: each round draws candidates for the still-pending entries only.
    """
    if kappa <= 0:
        raise ValueError(f"kappa must be > 0, got {kappa}")
    tau = 1.0 + math.sqrt(1.0 + 4.0 * kappa**2)
    rho = (tau - math.sqrt(2.0 * tau)) / (2.0 * kappa)
    r = (1.0 + rho**2) / (2.0 * rho)
    out = torch.empty(n, dtype=dtype)
    pending = torch.arange(n)
    while pending.numel():
        u = torch.rand(pending.numel(), 3, generator=generator, dtype=dtype)
        z = torch.cos(math.pi * u[:, 0])
        f = (1.0 + r * z) / (r + z)
        c = kappa * (r - f)
        accept = (c * (2.0 - c) - u[:, 1] > 0) | (torch.log(c / u[:, 1]) + 1.0 - c >= 0)
        theta = torch.sign(u[:, 2] - 0.5) * torch.acos(f.clamp(-1.0, 1.0))
        out[pending[accept]] = theta[accept]
        pending = pending[~accept]
    return out


def truncated_normal(
    shape: tuple[int, ...], *, mean: float, std: float, low: float, high: float, generator: torch.Generator
) -> Tensor:
    """Normal(mean, std) truncated to [low, high] by the inverse CDF (exact, no rejection loop)."""
    if not (low < high and std > 0):
        raise ValueError(f"need low < high and std > 0, got low={low}, high={high}, std={std}")
    def cdf(x: float) -> float:
        return 0.5 * (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0))))
    a, b = cdf(low), cdf(high)
    u = a + (b - a) * torch.rand(shape, generator=generator, dtype=torch.float64)
    x = mean + std * torch.special.ndtri(u)
    return x.clamp(low, high)
