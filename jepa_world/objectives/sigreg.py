"""SIGReg: Sketched Isotropic Gaussian Regularization (Balestriero & LeCun 2025, "LeJEPA: Provable and
Scalable Self-Supervised Learning Without the Heuristics").

Embeddings are projected on M random unit directions; each 1-D projection is compared with
N(0, 1) by the Epps-Pulley test statistic (Epps & Pulley 1983)

    EP(x) = N * integral |phi_N(t) - exp(-t^2 / 2)|^2 w(t) dt,   w(t) = exp(-t^2 / 2),

with ``phi_N(t) = mean_n exp(i t x_n)`` the empirical characteristic function. The integrand is
even in t for real data, so it is integrated over ``[0, t_max]`` and doubled, with the trapezoid
rule on ``num_knots`` knots. SIGReg is the mean of EP over directions.

Scaling. As in the paper the statistic is multiplied by the sample size N (``scale_by_n=True``).
For Gaussian samples its value then does not grow with N: its expectation is
``sum_k w_k (1 - exp(-t_k^2))`` (:func:`epps_pulley_null_mean`, about 1.05 for the defaults),
while a collapsed batch grows like N (constant rows at zero: about 0.4 * N). With
``scale_by_n=False`` the value is the raw weighted L2 distance between characteristic functions:
about 1.05 / N for Gaussian samples (about 5e-4 at N = 2048), ~0.4 for collapsed ones.

Under DDP, ``gather=True`` takes the characteristic functions over every process's samples
(:func:`~jepa_world.objectives.distributed.gather_batch`) and uses rank 0's random directions on every
rank: the value and gradient are those of one process holding the whole batch (directions drawn from the
global RNG, whose rank-0 stream is the one-process stream). Nothing changes without a process group.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.objectives.distributed import gather_batch, same_on_all_ranks


def quadrature(
    num_knots: int = 17, t_max: float = 3.0, *, device=None, dtype=torch.float32
) -> tuple[Tensor, Tensor]:
    """Knots and weights for ``integral_{-t_max}^{t_max} f(t) exp(-t^2/2) dt`` of an even f.

    Returns:
        ``(t, w)``, both (num_knots,): knots on ``[0, t_max]`` and trapezoid weights that include
        the Gaussian window and the factor 2 for the negative half-line.
    """
    if num_knots < 2 or t_max <= 0:
        raise ValueError(f"quadrature: need num_knots >= 2 and t_max > 0, got {num_knots} and {t_max}")
    t = torch.linspace(0.0, t_max, num_knots, device=device, dtype=dtype)
    trap = torch.full_like(t, t_max / (num_knots - 1))
    trap[0] = trap[-1] = trap[0] / 2
    return t, 2.0 * trap * torch.exp(-0.5 * t**2)


def epps_pulley_null_mean(num_knots: int = 17, t_max: float = 3.0) -> float:
    """Expected value of :func:`epps_pulley` (N-scaled) for i.i.d. N(0, 1) samples, any N.

    Under the null, ``E|phi_N(t) - phi(t)|^2 = (1 - exp(-t^2)) / N``, so the expectation is
    ``sum_k w_k (1 - exp(-t_k^2))`` with the quadrature of :func:`quadrature`.

    Examples:
        >>> round(epps_pulley_null_mean(), 3)
        1.052
    """
    t, w = quadrature(num_knots, t_max, dtype=torch.float64)
    return float((w * (1.0 - torch.exp(-(t**2)))).sum())


def epps_pulley(x: Tensor, *, num_knots: int = 17, t_max: float = 3.0) -> Tensor:
    """Epps-Pulley statistic of 1-D samples against N(0, 1) (Epps & Pulley 1983; LeJEPA, Balestriero &
    LeCun 2025), N-scaled.

    Args:
        x: (N, M) M independent 1-D samples of size N (columns), or (N,) a single one.
        num_knots, t_max: trapezoid quadrature on ``[0, t_max]`` (see module docstring).

    Returns:
        (M,) one statistic per column (() for 1-D input).

    Examples:
        >>> float(epps_pulley(torch.zeros(100))) > 40       # all-equal samples: ~0.4 * N
        True
    """
    if x.ndim not in (1, 2) or x.shape[0] < 1:
        raise ValueError(f"epps_pulley: expected x of shape (N,) or (N, M), got {tuple(x.shape)}")
    t, w = quadrature(num_knots, t_max, device=x.device, dtype=x.dtype)  # (K,), (K,)
    xt = x.unsqueeze(-1) * t  # (N, [M,] K)
    real = torch.cos(xt).mean(dim=0) - torch.exp(-0.5 * t**2)  # ([M,] K)
    imag = torch.sin(xt).mean(dim=0)  # ([M,] K)
    return x.shape[0] * ((real.pow(2) + imag.pow(2)) * w).sum(dim=-1)


def random_directions(dim: int, num_directions: int, *, generator: torch.Generator | None = None,
                      device=None, dtype=torch.float32) -> Tensor:
    """Uniform random unit vectors as columns, (dim, num_directions).

    Sampled on the generator's device (or ``device`` with the global RNG), then moved to ``device``.
    """
    gen_device = generator.device if generator is not None else device
    a = torch.randn(dim, num_directions, generator=generator, device=gen_device, dtype=dtype)
    return (a / a.norm(dim=0, keepdim=True)).to(device)


def sigreg(
    z: Tensor,
    *,
    num_directions: int = 256,
    num_knots: int = 17,
    t_max: float = 3.0,
    generator: torch.Generator | None = None,
    directions: Tensor | None = None,
    scale_by_n: bool = True,
    gather: bool = False,
) -> Tensor:
    """SIGReg (Balestriero & LeCun 2025, LeJEPA): mean Epps-Pulley statistic of random 1-D projections.

    Pushes the embedding distribution towards an isotropic standard Gaussian N(0, I). It is ~1
    (:func:`epps_pulley_null_mean`) for Gaussian samples and ~N/2 for collapsed ones.

    Args:
        z: (N, D) embeddings; (..., D) is flattened to (prod(...), D), e.g. a world-model latent
            sequence (B, T, D) counts as N = B * T samples. N is this process's batch unless ``gather``.
        num_directions: M, number of random directions drawn (fresh each call) when ``directions`` is None.
        num_knots, t_max: quadrature on ``[0, t_max]`` (integrand is even in t).
        generator: RNG for the directions (None: global RNG).
        directions: (D, M) fixed directions; columns are normalised to unit length.
        scale_by_n: multiply by N as in the paper (True) or return the raw CF distance (False).
        gather: under DDP, N runs over all processes' samples and rank 0's directions are used everywhere
            (drawn directions; ``directions`` or a ``generator`` must already agree across ranks).

    Returns:
        () scalar. Computed in fp32 at least (half-precision inputs are upcast).

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> healthy = float(sigreg(torch.randn(2048, 16, generator=g), generator=g))
        >>> collapsed = float(sigreg(torch.zeros(2048, 16), generator=g))
        >>> healthy < 2.0 and collapsed > 500.0
        True
    """
    if z.ndim < 2 or z.shape[-1] < 1:
        raise ValueError(f"sigreg: expected z of shape (N, D) or (..., D), got {tuple(z.shape)}")
    z = z.reshape(-1, z.shape[-1])  # (..., D) -> (N, D)
    if gather:
        z = gather_batch(z)  # (N_all, D), rank order
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    dim = z.shape[1]
    if directions is None:
        directions = random_directions(dim, num_directions, generator=generator, device=z.device,
                                       dtype=z.dtype)
        if gather and generator is None:
            directions = same_on_all_ranks(directions)  # (D, M): rank 0's draw
    else:
        if directions.ndim != 2 or directions.shape[0] != dim:
            raise ValueError(f"sigreg: directions must be (D={dim}, M), got {tuple(directions.shape)}")
        directions = directions.to(z) / directions.to(z).norm(dim=0, keepdim=True)
    stats = epps_pulley(z @ directions, num_knots=num_knots, t_max=t_max)  # (N, M) -> (M,)
    value = stats.mean()
    return value if scale_by_n else value / z.shape[0]


class SIGRegLoss(nn.Module):
    """Module wrapper of :func:`sigreg`; ``forward(z, generator=None)`` returns a scalar.

    Examples:
        >>> criterion = SIGRegLoss(num_directions=64)
        >>> criterion(torch.randn(256, 8)).shape
        torch.Size([])
    """

    def __init__(self, num_directions: int = 256, num_knots: int = 17, t_max: float = 3.0,
                 scale_by_n: bool = True, gather: bool = False) -> None:
        super().__init__()
        if num_directions < 1:
            raise ValueError(f"SIGRegLoss: num_directions must be >= 1, got {num_directions}")
        self.num_directions, self.num_knots, self.t_max = num_directions, num_knots, t_max
        self.scale_by_n, self.gather = scale_by_n, gather

    def forward(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z: (N, D) or (..., D) -> () scalar."""
        return sigreg(z, num_directions=self.num_directions, num_knots=self.num_knots, t_max=self.t_max,
                      generator=generator, scale_by_n=self.scale_by_n, gather=self.gather)

    def extra_repr(self) -> str:
        return f"num_directions={self.num_directions}, num_knots={self.num_knots}, t_max={self.t_max}"

