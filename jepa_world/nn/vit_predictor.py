"""The narrow ViT predictor of I-JEPA (Assran et al. 2023): context tokens + positional mask tokens ->
predicted target-token representations.

The context encoder's tokens (B, Nc, D) are projected to the predictor width d; a learnable mask
token plus the (fixed sine-cosine) position of each target patch stands for every patch to predict;
context and mask tokens go through transformer blocks together, and the mask tokens' outputs are
projected back to D. All target blocks of an image share one sequence (mask tokens carry only
positions, so blocks cannot leak into one another).

Examples:
    >>> import torch
    >>> pred = ViTPredictor(ViTPredictorConfig(dim=16, depth=1, heads=2), embed_dim=32, grid=4)
    >>> ctx = torch.randn(2, 5, 32)
    >>> ctx_idx = torch.tensor([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    >>> tgt_idx = torch.tensor([[10, 11], [12, 13]])
    >>> pred(ctx, context_idx=ctx_idx, target_idx=tgt_idx).shape     # (B, Nt, D)
    torch.Size([2, 2, 32])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from jepa_world.nn.vit import Block, gather_tokens, init_transformer_weights, sincos_pos_embed_2d


@dataclass
class ViTPredictorConfig:
    """Shape of the I-JEPA predictor (narrower than the encoder)."""

    dim: int = 64
    """Token width d of the predictor (divisible by 4 and by heads)."""
    depth: int = 3
    """Transformer blocks."""
    heads: int = 4
    """Attention heads."""
    mlp_ratio: float = 2.0
    """MLP hidden width as a multiple of dim."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.dim, self.depth, self.heads) < 1 or self.mlp_ratio <= 0:
            raise ValueError(f"ViTPredictorConfig needs dim, depth, heads >= 1 and mlp_ratio > 0, got {self}")
        if self.dim % self.heads or self.dim % 4:
            raise ValueError(f"ViTPredictorConfig.dim {self.dim} must be divisible by heads {self.heads} and by 4")


class ViTPredictor(nn.Module):
    """(context tokens (B, Nc, D), context_idx (B, Nc), target_idx (B, Nt)) -> predictions (B, Nt, D)."""

    def __init__(self, config: ViTPredictorConfig, *, embed_dim: int, grid: int) -> None:
        super().__init__()
        config.validate()
        self.config, self.grid = config, grid
        self.embed = nn.Linear(embed_dim, config.dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.register_buffer("pos", sincos_pos_embed_2d(grid, config.dim).unsqueeze(0), persistent=False)
        self.blocks = nn.Sequential(*[Block(config.dim, config.heads, config.mlp_ratio) for _ in range(config.depth)])
        self.norm = nn.LayerNorm(config.dim)
        self.out = nn.Linear(config.dim, embed_dim)
        init_transformer_weights(self)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, context: Tensor, *, context_idx: Tensor, target_idx: Tensor) -> Tensor:
        b = context.shape[0]
        if context.ndim != 3 or context_idx.shape != context.shape[:2] or target_idx.ndim != 2 \
                or target_idx.shape[0] != b:
            raise ValueError(f"ViTPredictor expects context (B, Nc, D), context_idx (B, Nc), target_idx (B, Nt); "
                             f"got {tuple(context.shape)}, {tuple(context_idx.shape)}, {tuple(target_idx.shape)}")
        pos = self.pos.expand(b, -1, -1)  # (B, N, d)
        x = self.embed(context) + gather_tokens(pos, context_idx)  # (B, Nc, d)
        m = self.mask_token + gather_tokens(pos, target_idx)  # (B, Nt, d)
        x = self.norm(self.blocks(torch.cat([x, m], dim=1)))  # (B, Nc + Nt, d)
        return self.out(x[:, context.shape[1]:])  # (B, Nt, D)
