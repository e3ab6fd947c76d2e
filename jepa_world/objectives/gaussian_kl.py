"""KL divergence of a diagonal Gaussian posterior to the standard normal prior (the VAE latent term).

Kingma & Welling 2014, "Auto-Encoding Variational Bayes", appendix B: for q = N(mu, diag(sigma^2)) and
p = N(0, I), ``KL(q || p) = 1/2 sum_d (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2)``. Here it is averaged
over every dimension and sample instead of summed, so its weight does not change with the latent size
(the pixel world model's reconstruction terms are per-pixel means too).
"""

from __future__ import annotations

from torch import Tensor


def gaussian_kl(*, mean: Tensor, log_var: Tensor) -> Tensor:
    """Mean over all elements of ``1/2 (mean^2 + exp(log_var) - 1 - log_var)``: KL(N(mean, e^log_var) || N(0, 1)).

    Args:
        mean: (...) posterior means.
        log_var: (...) posterior log-variances, the same shape.

    Returns:
        () scalar, >= 0, zero exactly when mean = 0 and log_var = 0.

    Examples:
        >>> import torch
        >>> float(gaussian_kl(mean=torch.tensor([0.0, 2.0]), log_var=torch.zeros(2)))   # (0 + 4 / 2) / 2
        1.0
    """
    if mean.shape != log_var.shape:
        raise ValueError(f"gaussian_kl needs mean and log_var of one shape, got {tuple(mean.shape)} and "
                         f"{tuple(log_var.shape)}")
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).mean()
