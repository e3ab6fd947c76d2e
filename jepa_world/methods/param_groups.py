"""AdamW parameter groups of the SSL methods: weight decay on weight matrices only.

Biases, norm parameters (every parameter with fewer than two dimensions) and position embeddings
get no weight decay (as in ViT, DINO, I-JEPA); parameters that do not require grad (EMA teachers,
fixed sine-cosine positions) are left out.

Examples:
    >>> from torch import nn
    >>> groups = weight_decay_groups(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)))
    >>> [len(g["params"]) for g in groups], groups[1]["weight_decay"]
    ([1, 3], 0.0)
"""

from __future__ import annotations

from typing import Any

from torch import nn

NO_DECAY_NAMES = ("pos_embed", "mask_token")
"""Parameter-name fragments exempt from weight decay."""


def weight_decay_groups(module: nn.Module) -> list[dict[str, Any]]:
    """``[{"params": decayed}, {"params": others, "weight_decay": 0.0}]`` over trainable parameters.

    The first group keeps the optimizer's weight decay (``TrainConfig.weight_decay``); empty groups
    are dropped.
    """
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or any(frag in name for frag in NO_DECAY_NAMES):
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
