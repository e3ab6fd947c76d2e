"""Online world-model adjustment: a few gradient steps of the model's own objective on what the agent executed.

When plans fail because the model is wrong about this world (the agent's surprise is high), the model is
adjusted on the windows the agent itself recorded (adapt/replay.py), the most surprising ones first, mixed with
a slice of the offline data it was trained on so that it does not forget. The loss is the model's own
``training_step`` (prediction energy plus its anti-collapse terms), so this works for any trainable world model;
no position, distance or reward is used.

Examples:
    >>> cfg = AdjustConfig(steps=2, batch_size=4)
    >>> cfg.replay_rows, cfg.offline_rows
    (2, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from jepa_world.adapt.replay import ReplayBuffer

Batches = Callable[[int], dict[str, Tensor]]
"""The offline data: step -> a training batch of the model's kind (its own stream, e.g. ``RunSpec.source``)."""


@dataclass
class AdjustConfig:
    """When and how much the world model is adjusted online."""

    steps: int = 5
    """Gradient steps per adjustment."""
    lr: float = 1e-4
    """Adam learning rate of the adjustment (small: a correction, not a retraining)."""
    batch_size: int = 32
    """Windows per adjustment step."""
    offline_share: float = 0.5
    """Share of each batch taken from the offline data (against forgetting)."""
    surprising_share: float = 0.5
    """Share of the replayed windows drawn from the most surprising ones."""
    surprise_threshold: float = 0.0
    """Adjust only when the buffer's mean surprise is above this (0: always)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.steps < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(f"AdjustConfig needs steps, batch_size >= 1 and lr > 0, got {self.steps}, "
                             f"{self.batch_size}, {self.lr}")
        if not 0.0 <= self.surprising_share <= 1.0 or not 0.0 <= self.offline_share < 1.0:
            raise ValueError(f"AdjustConfig needs surprising_share in [0, 1] and offline_share in [0, 1) (some "
                             f"replayed windows), got {self.surprising_share}, {self.offline_share}")
        if self.replay_rows < 1:
            raise ValueError(f"AdjustConfig: batch_size={self.batch_size} x (1 - offline_share) leaves no replayed "
                             f"window")

    @property
    def replay_rows(self) -> int:
        """Windows per batch from the replay buffer."""
        return self.batch_size - self.offline_rows

    @property
    def offline_rows(self) -> int:
        """Windows per batch from the offline data."""
        return round(self.batch_size * self.offline_share)


def adjust_world_model(model: nn.Module, buffer: ReplayBuffer, offline: Batches | None, config: AdjustConfig, *,
                       generator: torch.Generator, start_step: int = 0) -> list[float]:
    """Run ``config.steps`` steps of ``model.training_step`` on replayed (+ offline) windows; returns the losses
    (empty when the buffer's mean surprise is not above the threshold). The model is left in eval mode."""
    config.validate()
    if len(buffer) == 0 or float(buffer.surprise.mean()) <= config.surprise_threshold:
        return []
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr)
    losses = []
    model.train()
    for i in range(config.steps):
        batch = _mixed(buffer, offline, config, generator, step=start_step + i)
        loss, _ = model.training_step(batch, start_step + i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def _mixed(buffer: ReplayBuffer, offline: Batches | None, config: AdjustConfig, generator: torch.Generator, *,
           step: int) -> dict[str, Tensor]:
    """Replayed windows, then offline rows of the same window length (their other keys, e.g. labels, dropped)."""
    rows = config.batch_size if offline is None else config.replay_rows
    batch = buffer.sample(rows, generator=generator, surprising_share=config.surprising_share)
    if offline is None or config.offline_rows == 0:
        return batch
    extra = offline(step)
    length = batch["obs"].shape[1]
    if extra["obs"].shape[1] < length:
        raise ValueError(f"offline windows have {extra['obs'].shape[1]} frames, fewer than the replayed {length}")
    rows = config.offline_rows
    return {"obs": torch.cat([batch["obs"], extra["obs"][:rows, :length].to(batch["obs"])]),
            "actions": torch.cat([batch["actions"], extra["actions"][:rows, :length - 1].to(batch["actions"])])}
