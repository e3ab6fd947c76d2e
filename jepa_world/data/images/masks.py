"""I-JEPA multi-block masks (Assran et al. 2023, Sec. 3), sampled in the data collator.

On a ``grid x grid`` patch grid (patch index = row * grid + col):

* ``num_targets`` target blocks: rectangles of area ``target_scale`` (fraction of the patches) and
  aspect ratio (height / width) ``target_aspect``. One block size is drawn per batch (every image
  gets blocks of the same size, so the batch stacks), positions per image; blocks may overlap.
* one context block: a rectangle of area ``context_scale`` and aspect 1, per image, **minus every
  patch of every target block**, so the context never sees a target patch.
* if fewer than ``min_context`` patches are left the image's blocks are drawn again (up to
  ``max_tries`` times, then the context is every non-target patch).
* the context sets of a batch have different sizes; every set is cut, by a random subset, to the
  smallest size in the batch (I-JEPA truncates the same way), so the batch stacks.

Output: ``context_idx`` (B, Nc) and ``target_idx`` (B, M, Nt) long tensors, each row sorted.

Examples:
    >>> import torch
    >>> sampler = MultiBlockMaskSampler(MaskConfig(), grid=8)
    >>> masks = sampler(4, generator=torch.Generator().manual_seed(0))
    >>> masks.context_idx.shape[0], masks.target_idx.shape[:2]
    (4, torch.Size([4, 4]))
    >>> bool(torch.isin(masks.target_idx[0], masks.context_idx[0]).any())
    False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class MaskConfig:
    """Multi-block mask sampling of I-JEPA (defaults of the paper)."""

    num_targets: int = 4
    """M, the number of target blocks per image."""
    target_scale: tuple[float, float] = (0.15, 0.2)
    """Range of each target block's area, as a fraction of the patches."""
    target_aspect: tuple[float, float] = (0.75, 1.5)
    """Range of each target block's aspect ratio (height / width)."""
    context_scale: tuple[float, float] = (0.85, 1.0)
    """Range of the context block's area (before the targets are removed)."""
    min_context: int = 4
    """Fewest context patches an image may keep; blocks are redrawn below it."""
    max_tries: int = 20
    """Redraws per image before falling back to every non-target patch as context."""

    def validate(self) -> None:
        """Raise ValueError naming every impossible field."""
        problems = []
        if self.num_targets < 1:
            problems.append(f"num_targets must be >= 1, got {self.num_targets}")
        for name in ("target_scale", "context_scale"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi <= 1.0:
                problems.append(f"{name} must satisfy 0 < lo <= hi <= 1, got {getattr(self, name)}")
        lo, hi = self.target_aspect
        if not 0.0 < lo <= hi:
            problems.append(f"target_aspect must satisfy 0 < lo <= hi, got {self.target_aspect}")
        if self.min_context < 1 or self.max_tries < 1:
            problems.append(f"min_context and max_tries must be >= 1, got {self.min_context}, {self.max_tries}")
        if problems:
            raise ValueError("invalid MaskConfig: " + "; ".join(problems))


@dataclass(frozen=True)
class MaskBatch:
    """Patch indices of one batch: what the context encoder sees and what the predictor predicts."""

    context_idx: Tensor
    """(B, Nc) long, sorted; disjoint from every target block of the same image."""
    target_idx: Tensor
    """(B, M, Nt) long, each block sorted."""


def block_size(grid: int, scale: float, aspect: float) -> tuple[int, int]:
    """(height, width) in patches of a block of area ``scale * grid^2`` and aspect ``aspect``, each side
    rounded and clipped to [1, grid]."""
    area = scale * grid * grid
    h = int(round(math.sqrt(area * aspect)))
    w = int(round(math.sqrt(area / aspect)))
    return min(max(h, 1), grid), min(max(w, 1), grid)


def _block_masks(grid: int, top: Tensor, left: Tensor, h: int, w: int) -> Tensor:
    """Boolean (..., G, G) masks of h x w blocks with top-left corners ``top``, ``left`` (...,)."""
    r = torch.arange(grid)
    rows = (r >= top.unsqueeze(-1)) & (r < top.unsqueeze(-1) + h)  # (..., G)
    cols = (r >= left.unsqueeze(-1)) & (r < left.unsqueeze(-1) + w)  # (..., G)
    return rows.unsqueeze(-1) & cols.unsqueeze(-2)  # (..., G, G)


class MultiBlockMaskSampler:
    """``sampler(batch_size, generator=g) -> MaskBatch`` on a ``grid x grid`` patch grid."""

    def __init__(self, config: MaskConfig, grid: int) -> None:
        config.validate()
        if grid < 2:
            raise ValueError(f"MultiBlockMaskSampler: grid must be >= 2 patches per side, got {grid}")
        self.config, self.grid = config, grid
        if config.min_context >= grid * grid:
            raise ValueError(f"MaskConfig.min_context {config.min_context} must be < {grid * grid} patches")

    def _draw_size(
        self, scale: tuple[float, float], aspect: tuple[float, float], g: torch.Generator
    ) -> tuple[int, int]:
        u = torch.rand(2, generator=g, dtype=torch.float64).tolist()
        s = scale[0] + (scale[1] - scale[0]) * u[0]
        log_a = math.log(aspect[0]) + (math.log(aspect[1]) - math.log(aspect[0])) * u[1]
        return block_size(self.grid, s, math.exp(log_a))

    def _corners(self, shape: tuple[int, ...], h: int, w: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
        top = torch.randint(0, self.grid - h + 1, shape, generator=g)
        left = torch.randint(0, self.grid - w + 1, shape, generator=g)
        return top, left

    def __call__(self, batch_size: int, *, generator: torch.Generator) -> MaskBatch:
        """Masks for ``batch_size`` images, fully determined by the generator's state."""
        if batch_size < 1:
            raise ValueError(f"MultiBlockMaskSampler: batch_size must be >= 1, got {batch_size}")
        cfg, g, grid, b = self.config, generator, self.grid, batch_size
        th, tw = self._draw_size(cfg.target_scale, cfg.target_aspect, g)
        ch, cw = self._draw_size(cfg.context_scale, (1.0, 1.0), g)
        targets = torch.zeros(b, cfg.num_targets, grid, grid, dtype=torch.bool)
        context = torch.zeros(b, grid, grid, dtype=torch.bool)
        todo = torch.ones(b, dtype=torch.bool)  # images whose blocks still need drawing
        for _ in range(cfg.max_tries):
            n = int(todo.sum())
            if n == 0:
                break
            t = _block_masks(grid, *self._corners((n, cfg.num_targets), th, tw, g), th, tw)  # (n, M, G, G)
            c = _block_masks(grid, *self._corners((n,), ch, cw, g), ch, cw) & ~t.any(dim=1)  # (n, G, G)
            targets[todo], context[todo] = t, c
            ok = c.flatten(1).sum(dim=1) >= cfg.min_context
            todo[todo.clone()] = ~ok
        if todo.any():  # fallback: every non-target patch
            context[todo] = ~targets[todo].any(dim=1)
        context = context.flatten(1)  # (B, N)
        keep = int(context.sum(dim=1).min())
        if keep == 0:
            raise ValueError(f"MultiBlockMaskSampler: {cfg.num_targets} target blocks of {th}x{tw} patches cover "
                             f"the whole {grid}x{grid} grid; lower num_targets or target_scale")
        # a random subset of `keep` context patches per image: random keys, non-context patches last
        keys = torch.rand(context.shape, generator=g).masked_fill(~context, 2.0)
        context_idx = keys.argsort(dim=1)[:, :keep].sort(dim=1).values  # (B, keep)
        target_idx = targets.flatten(2).nonzero()[:, 2].view(b, cfg.num_targets, th * tw)  # row-major, sorted
        return MaskBatch(context_idx=context_idx, target_idx=target_idx)
