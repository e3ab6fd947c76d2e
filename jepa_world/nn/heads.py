"""Projector and predictor MLPs of joint-embedding methods, and the DINO head.

* :class:`MLPHead`: ``layers`` linear layers; every hidden one is followed by a norm (BatchNorm as
  in SimCLR/BYOL/VICReg/SimSiam, LayerNorm, or none) and a ReLU; optionally a BatchNorm on the output
  (SimSiam's projector). ``layers=0`` is the identity.
* :class:`DINOHead`: an MLP down to an L2-normalised bottleneck, then a linear layer with unit-norm
  rows (weight normalisation with the gain fixed to 1) onto K prototypes (Caron et al. 2021).

Examples:
    >>> import torch
    >>> head = MLPHead(HeadConfig(hidden=32, out_dim=16, layers=2), in_dim=8)
    >>> head(torch.zeros(4, 8)).shape
    torch.Size([4, 16])
    >>> DINOHead(DINOHeadConfig(hidden=32, bottleneck=8, out_dim=64), in_dim=16)(torch.randn(4, 16)).shape
    torch.Size([4, 64])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class HeadConfig:
    """An MLP head (projector or predictor)."""

    hidden: int = 512
    """Width of the hidden layers."""
    out_dim: int = 256
    """Output width."""
    layers: int = 2
    """Linear layers (0 = identity, out_dim is then the input width)."""
    norm: Literal["bn", "ln", "none"] = "bn"
    """Norm after each hidden linear layer: BatchNorm, LayerNorm or none."""
    last_norm: bool = False
    """BatchNorm (without affine) on the output, as SimSiam's projector."""

    def validate(self, name: str = "head") -> None:
        """Raise ValueError naming the first impossible field."""
        if self.layers < 0 or self.hidden < 1 or self.out_dim < 1:
            raise ValueError(f"{name}: need layers >= 0, hidden >= 1, out_dim >= 1; got layers={self.layers}, "
                             f"hidden={self.hidden}, out_dim={self.out_dim}")
        if self.norm not in ("bn", "ln", "none"):
            raise ValueError(f"{name}.norm must be 'bn', 'ln' or 'none', got {self.norm!r}")


def _norm(kind: str, width: int) -> nn.Module:
    return {"bn": lambda: nn.BatchNorm1d(width), "ln": lambda: nn.LayerNorm(width), "none": nn.Identity}[kind]()


class MLPHead(nn.Module):
    """(N, in_dim) -> (N, out_dim) (or identity when ``layers == 0``)."""

    def __init__(self, config: HeadConfig, in_dim: int) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.out_dim = config.out_dim if config.layers else in_dim
        mods: list[nn.Module] = []
        width = in_dim
        for i in range(config.layers):
            last = i == config.layers - 1
            out = config.out_dim if last else config.hidden
            mods.append(nn.Linear(width, out, bias=not (last and config.last_norm)))
            if not last:
                mods += [_norm(config.norm, out), nn.ReLU(inplace=True)]
            width = out
        if config.layers and config.last_norm:
            mods.append(nn.BatchNorm1d(config.out_dim, affine=False))
        self.net = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass
class DINOHeadConfig:
    """The DINO projection head."""

    hidden: int = 512
    """Width of the MLP's hidden layers."""
    bottleneck: int = 64
    """Width of the L2-normalised bottleneck."""
    out_dim: int = 1024
    """K, the number of prototypes (logits)."""
    layers: int = 3
    """Linear layers of the MLP down to the bottleneck (>= 1)."""
    norm: Literal["bn", "none"] = "none"
    """Norm after each hidden layer of the MLP (DINO: none for ViTs, BatchNorm for ResNets)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.hidden, self.bottleneck, self.out_dim, self.layers) < 1:
            raise ValueError(f"DINOHeadConfig: hidden, bottleneck, out_dim, layers must be >= 1, got {self}")
        if self.norm not in ("bn", "none"):
            raise ValueError(f"DINOHeadConfig.norm must be 'bn' or 'none', got {self.norm!r}")


class DINOHead(nn.Module):
    """(N, in_dim) -> MLP -> L2-normalised (N, bottleneck) -> unit-norm-row linear -> (N, K) logits."""

    def __init__(self, config: DINOHeadConfig, in_dim: int) -> None:
        super().__init__()
        config.validate()
        self.config = config
        mods: list[nn.Module] = []
        width = in_dim
        for i in range(config.layers):
            last = i == config.layers - 1
            out = config.bottleneck if last else config.hidden
            mods.append(nn.Linear(width, out))
            if not last:
                mods += [_norm(config.norm, out), nn.GELU()]
            width = out
        self.mlp = nn.Sequential(*mods)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.prototypes = nn.Parameter(torch.empty(config.out_dim, config.bottleneck))
        nn.init.trunc_normal_(self.prototypes, std=0.02)

    def embed(self, x: Tensor) -> Tensor:
        """The L2-normalised bottleneck (N, bottleneck)."""
        return F.normalize(self.mlp(x), dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(self.embed(x), F.normalize(self.prototypes, dim=-1))  # (N, K)
