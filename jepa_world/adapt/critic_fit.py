"""Fit a latent critic V(z, g) to reward-free latent sequences by relabelled, expectile TD (objectives/goal_td.py).

The sequences are latents of real observations, one per model step: encoded offline data, or the agent's own
episodes. A slowly moving copy of the critic (EMA) gives the bootstrapped values, as in DQN-style TD.

Examples:
    >>> import torch
    >>> from jepa_world.nn.latent_critic import LatentCritic, LatentCriticConfig
    >>> chain = torch.eye(6)[None]                      # one sequence of 6 one-hot latents: (M=1, L=6, D=6)
    >>> critic = LatentCritic(LatentCriticConfig(latent_dim=6, hidden=16))
    >>> losses = fit_critic(critic, chain, CriticFitConfig(steps=3, batch_size=8))
    >>> len(losses)
    3
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm import tqdm

from jepa_world.nn.latent_critic import LatentCritic
from jepa_world.objectives.ema import ema_update
from jepa_world.objectives.goal_td import Relabelled, expectile_loss, sample_relabelled, td_targets


@dataclass
class CriticFitConfig:
    """Settings of the critic's TD fitting."""

    steps: int = 3000
    """Gradient steps."""
    batch_size: int = 512
    """(start, goal) pairs per step."""
    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.97
    """Discount per model step: values lie in [0, 1 / (1 - gamma))."""
    expectile: float = 0.2
    """tau of the expectile loss; < 0.5 regresses towards the shortest way (random-walk data)."""
    target_momentum: float = 0.99
    """EMA momentum of the target critic that gives the bootstrapped values."""
    p_self: float = 0.1
    """Share of pairs whose goal is the start (value 0)."""
    p_future: float = 0.3
    """Share of pairs whose goal is a later state of the same sequence (geometric number of steps ahead)."""
    p_same: float = 0.4
    """Share of pairs whose goal is any state of the same sequence; the rest are any state of any sequence."""
    future_p: float = 0.3
    """Success probability of the geometric number of steps to a same-sequence goal."""
    seed: int = 0
    """Seed of the relabelling draws."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if self.steps < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(f"CriticFitConfig needs steps, batch_size >= 1 and lr > 0, got "
                             f"{self.steps}, {self.batch_size}, {self.lr}")
        if not 0 < self.gamma <= 1 or not 0 <= self.target_momentum < 1:
            raise ValueError(f"CriticFitConfig needs 0 < gamma <= 1 and 0 <= target_momentum < 1, got "
                             f"{self.gamma}, {self.target_momentum}")


def fit_critic(critic: LatentCritic, latents: Tensor, config: CriticFitConfig, *,
               progress: bool = False) -> list[float]:
    """Train ``critic`` in place on latents (M, L, D) (M sequences of L model steps); returns the loss per step."""
    config.validate()
    if latents.dim() != 3:
        raise ValueError(f"fit_critic expects latents (M, L, D), got {tuple(latents.shape)}")
    _pairs(latents, 1, config, torch.Generator())  # validates the relabelling settings
    target = copy.deepcopy(critic).requires_grad_(False)
    optimizer = torch.optim.Adam(critic.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    losses = []
    for _ in tqdm(range(config.steps), disable=not progress, desc="critic", unit="step"):
        loss = _td_loss(critic, target, latents, config, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ema_update(target, critic, momentum=config.target_momentum)
        losses.append(float(loss.detach()))
    return losses


def _td_loss(critic: LatentCritic, target: LatentCritic, latents: Tensor, config: CriticFitConfig,
             generator: torch.Generator) -> Tensor:
    """One batch of relabelled pairs -> the expectile TD loss."""
    pairs = _pairs(latents, config.batch_size, config, generator)
    z, z_next = latents[pairs.rows, pairs.t], latents[pairs.rows, pairs.t + 1]  # (B, D)
    goal = latents[pairs.goal_rows, pairs.goal_t]
    with torch.no_grad():
        targets = td_targets(target(z_next, goal), at_goal=pairs.at_goal, reached=pairs.reached, gamma=config.gamma)
    return expectile_loss(critic(z, goal), targets, config.expectile)


def _pairs(latents: Tensor, batch: int, config: CriticFitConfig, generator: torch.Generator) -> Relabelled:
    """``batch`` relabelled (start, goal) pairs over latents (M, L, D), in the config's shares."""
    return sample_relabelled(latents.shape[0], latents.shape[1], batch, p_self=config.p_self,
                             p_future=config.p_future, p_same=config.p_same, future_p=config.future_p,
                             generator=generator)
