"""GCBC: goal-conditioned behaviour cloning (Lynch et al. 2019; Ghosh et al. 2021; OGBench's GCBC, Park et al. 2024).

The policy pi(s, g) regresses the logged action a_t from the state s_t and a goal relabelled from the same
trajectory (OGBench's actor goals: a later state, uniform over the rest of the trajectory). The policy is a
Gaussian with a fixed standard deviation, so its negative log-likelihood is the squared error of its mean: the
loss is ``|pi(s, g) - a / max_norm|^2`` (actions in units of the bound, :mod:`jepa_world.baselines.actions`).

``encode`` / ``act_latent`` are the policy split at its encoder, the shape the evaluation loop drives
(:mod:`jepa_world.planning.policy`): the goal is encoded once per episode.

Examples:
    >>> import torch
    >>> from jepa_world.baselines.goal_net import GoalNetConfig, ImpalaConfig
    >>> enc = ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=2, flat_dims=2)
    >>> model = GCBC(GCBCConfig(net=GoalNetConfig(encoder=enc, hidden=16)))
    >>> batch = {"obs": torch.rand(2, 5, 2, 65, 65), "actions": torch.randn(2, 4, 2)}
    >>> loss, metrics = model.training_step(batch, 0)
    >>> sorted(metrics), model.act(batch["obs"][:, 0], batch["obs"][:, 4]).shape
    (['bc_mse'], torch.Size([2, 2]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.baselines.actions import to_unit
from jepa_world.baselines.goal_actor import GoalActor
from jepa_world.baselines.goal_net import GoalNet
from jepa_world.baselines.policy_config import GoalPolicyConfig
from jepa_world.baselines.relabel import step_generator
from jepa_world.baselines.transitions import goal_transitions


@dataclass
class GCBCConfig(GoalPolicyConfig):
    """Goal-conditioned behaviour cloning (the shared fields only: net, actor_goals, per_trajectory, action_dim,
    max_action_norm, seed)."""


class GCBC(GoalActor):
    """pi(s, g) -> a by behaviour cloning on relabelled goals."""

    def __init__(self, config: GCBCConfig | None = None) -> None:
        super().__init__()
        self.config = config or GCBCConfig()
        self.config.validate()
        self.actor = GoalNet(self.config.net, out_dim=self.config.action_dim)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """Batch {"obs": (M, L, C, H, W), "actions": (M, L - 1, A)} -> (loss, metrics)."""
        cfg = self.config
        tr = goal_transitions(batch, value=cfg.actor_goals, actor=cfg.actor_goals,
                              generator=step_generator(cfg.seed, step), per_trajectory=cfg.per_trajectory)
        b = tr.obs.shape[0]
        z = self.actor.encode(torch.cat([tr.obs, tr.actor_goal]))  # (2B, D)
        pred = self.actor(z[:b], z[b:])[:, 0]  # (B, A)
        loss = (pred - to_unit(tr.actions, max_norm=cfg.max_action_norm)).pow(2).sum(-1).mean()
        return loss, {"bc_mse": loss.item()}
