"""A small Vision Transformer (Dosovitskiy et al. 2021) in plain torch, with patch masking for I-JEPA.

image (B, C, H, W) -> patches (B, N, D) with N = (H / p) * (W / p) -> pre-norm transformer blocks ->
final LayerNorm -> tokens (B, N, D). ``forward(x, keep=idx)`` keeps only the patches ``idx`` (B, K)
after the positions are added, which is how the I-JEPA context encoder sees a masked image. There is
no class token: :meth:`VisionTransformer.features` mean-pools the tokens into one (B, D) vector.

Positions are learnable (``pos="learnable"``, truncated-normal init) or fixed 2-D sine-cosine
(``pos="sincos"``, as in MAE and I-JEPA).

Examples:
    >>> import torch
    >>> vit = VisionTransformer(ViTConfig(image_size=16, patch_size=4, dim=32, depth=2, heads=2))
    >>> vit(torch.zeros(3, 1, 16, 16)).shape                       # (B, N, D), N = 4 * 4
    torch.Size([3, 16, 32])
    >>> keep = torch.tensor([[0, 5, 7], [1, 2, 3], [4, 8, 15]])     # (B, K) patch indices
    >>> vit(torch.zeros(3, 1, 16, 16), keep=keep).shape
    torch.Size([3, 3, 32])
    >>> vit.features(torch.zeros(3, 1, 16, 16)).shape
    torch.Size([3, 32])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class ViTConfig:
    """Shape of a small Vision Transformer."""

    image_size: int = 32
    """Height = width of the input image (px); must be divisible by patch_size."""
    in_channels: int = 1
    """Channels C of the input image."""
    patch_size: int = 4
    """Side of the square patches (px); the sequence has (image_size / patch_size)^2 tokens."""
    dim: int = 128
    """Token width D."""
    depth: int = 4
    """Number of transformer blocks."""
    heads: int = 4
    """Attention heads; must divide dim."""
    mlp_ratio: float = 2.0
    """Hidden width of each block's MLP, as a multiple of dim."""
    pos: Literal["learnable", "sincos"] = "sincos"
    """Position embedding: learnable (trunc-normal init) or fixed 2-D sine-cosine."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field and its value."""
        for name in ("image_size", "in_channels", "patch_size", "dim", "depth", "heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"ViTConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"ViTConfig: image_size {self.image_size} is not divisible by patch_size {self.patch_size} "
                f"(choose a patch size among {divisors(self.image_size)} or resize the images)"
            )
        if self.dim % self.heads:
            raise ValueError(f"ViTConfig: heads {self.heads} must divide dim {self.dim}")
        if self.pos not in ("learnable", "sincos"):
            raise ValueError(f"ViTConfig.pos must be 'learnable' or 'sincos', got {self.pos!r}")
        if self.pos == "sincos" and self.dim % 4:
            raise ValueError(f"ViTConfig: pos='sincos' needs dim divisible by 4, got {self.dim}")
        if self.mlp_ratio <= 0:
            raise ValueError(f"ViTConfig.mlp_ratio must be > 0, got {self.mlp_ratio}")

    @property
    def grid(self) -> int:
        """Patches per side."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        """Tokens N per image."""
        return self.grid**2


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` (for error messages)."""
    return [d for d in range(1, n + 1) if n % d == 0]


def sincos_pos_embed_2d(grid: int, dim: int) -> Tensor:
    """Fixed 2-D sine-cosine position embedding (Vaswani et al. 2017; He et al. 2022, MAE).

    Half of the ``dim`` channels encode the row, half the column, each as ``[sin(pos * w), cos(pos * w)]``
    with frequencies ``w_k = 10000^(-k / (dim / 4))``.

    Args:
        grid: patches per side G.
        dim: embedding width D, divisible by 4.

    Returns:
        (G * G, D), row-major over the patch grid.

    Examples:
        >>> sincos_pos_embed_2d(2, 8).shape
        torch.Size([4, 8])
    """
    if dim % 4:
        raise ValueError(f"sincos_pos_embed_2d: dim must be divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))  # (D/4,)
    coords = torch.arange(grid, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")  # (G, G) each

    def embed(pos: Tensor) -> Tensor:  # (G*G,) -> (G*G, D/2)
        angles = pos.reshape(-1, 1) * omega  # (G*G, D/4)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    return torch.cat([embed(rows), embed(cols)], dim=1).float()  # (G*G, D)


class Attention(nn.Module):
    """Multi-head self-attention: (B, N, D) -> (B, N, D)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (3, B, h, N, d/h)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, h, N, d/h)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)); (B, N, D) -> (B, N, D)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = max(1, int(round(dim * mlp_ratio)))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def init_transformer_weights(module: nn.Module) -> None:
    """Truncated-normal(0.02) linear weights, zero biases, unit LayerNorms (ViT/I-JEPA convention)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def gather_tokens(x: Tensor, idx: Tensor) -> Tensor:
    """Select tokens per sample: x (B, N, D), idx (B, K) long in [0, N) -> (B, K, D)."""
    if idx.ndim != 2 or idx.shape[0] != x.shape[0]:
        raise ValueError(f"gather_tokens: expected idx (B={x.shape[0]}, K), got {tuple(idx.shape)}")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= x.shape[1]):
        raise ValueError(f"gather_tokens: indices must be in [0, {x.shape[1]}), "
                         f"got range [{int(idx.min())}, {int(idx.max())}]")
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class VisionTransformer(nn.Module):
    """image (B, C, H, W) [, keep (B, K)] -> tokens (B, N or K, D); ``features`` -> (B, D)."""

    def __init__(self, config: ViTConfig | None = None) -> None:
        super().__init__()
        self.config = config or ViTConfig()
        self.config.validate()
        cfg = self.config
        self.embed_dim = cfg.dim
        self.patch_embed = nn.Conv2d(cfg.in_channels, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        pos = sincos_pos_embed_2d(cfg.grid, cfg.dim) if cfg.pos == "sincos" else torch.zeros(cfg.num_patches, cfg.dim)
        self.pos_embed = nn.Parameter(pos.unsqueeze(0), requires_grad=cfg.pos == "learnable")  # (1, N, D)
        self.blocks = nn.Sequential(*[Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim)
        init_transformer_weights(self)
        if cfg.pos == "learnable":
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        w = self.patch_embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))  # as MAE: the conv as a linear layer
        nn.init.zeros_(self.patch_embed.bias)

    def _check_image(self, x: Tensor) -> None:
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != cfg.in_channels or x.shape[-2:] != (cfg.image_size, cfg.image_size):
            raise ValueError(
                f"VisionTransformer expects images (B, {cfg.in_channels}, {cfg.image_size}, {cfg.image_size}), "
                f"got {tuple(x.shape)}"
                + (f"; {x.shape[-1]} px is not divisible by patch_size {cfg.patch_size}"
                   if x.ndim == 4 and x.shape[-1] % cfg.patch_size else "")
            )

    def patchify(self, x: Tensor) -> Tensor:
        """Patch embedding plus positions: (B, C, H, W) -> (B, N, D)."""
        self._check_image(x)
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, D, G, G) -> (B, N, D)
        return tokens + self.pos_embed

    def forward(self, x: Tensor, keep: Tensor | None = None) -> Tensor:
        """x (B, C, H, W), keep (B, K) patch indices or None -> (B, K or N, D) normalised tokens."""
        tokens = self.patchify(x)
        if keep is not None:
            tokens = gather_tokens(tokens, keep)  # (B, K, D)
        return self.norm(self.blocks(tokens))

    def features(self, x: Tensor) -> Tensor:
        """Mean-pooled tokens of the whole image: (B, C, H, W) -> (B, D)."""
        return self(x).mean(dim=1)

    def no_weight_decay(self) -> set[str]:
        """Parameter names exempt from weight decay (positions)."""
        return {"pos_embed"}

