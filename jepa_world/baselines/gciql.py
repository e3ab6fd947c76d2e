"""GCIQL: goal-conditioned implicit Q-learning with AWR policy extraction (Kostrikov et al. 2022, IQL;
Park et al. 2024, OGBench's GCIQL).

Networks (each a :class:`~jepa_world.baselines.goal_net.GoalNet` with its own encoder): V(s, g), two
Q(s, a, g) heads with an EMA target copy, and the policy pi(s, g). With relabelled transitions
(:mod:`jepa_world.baselines.transitions`: reward 0 at the goal, -1 elsewhere, the episode ends on arrival):

- value: expectile regression of V(s, g) towards min_i Q_target_i(s, a, g) (expectile tau > 0.5: V tracks the
  best logged actions, not their average);
- critic: Q_i(s, a, g) -> -1 + gamma * V(s', g) (0 at the goal, -1 on reaching it; squared error, summed over
  the two heads);
- policy: advantage-weighted regression, weight min(exp(beta * (min_i Q_i(s, a, g) - V(s, g))), 100), on the actor
  goals (:func:`jepa_world.objectives.awr.awr_weights`); its loss is the weighted squared error of the Gaussian
  mean (fixed std).

The three losses are summed into one: their gradients touch disjoint networks, so one Adam step without weight
decay or a global gradient clip (the presets' optimiser, OGBench's) is the three separate optimisers' steps. The
target Q follows by EMA after every optimizer step (``after_optimizer_step``). On the chain of OGBench's
convention, V of a goal d steps away along the data's (deterministic) path converges to
-(1 - gamma^d) / (1 - gamma) (tests/test_gcrl.py).

Defaults are OGBench's GCIQL (``agents/gciql.py``): discount 0.99, expectile 0.9, target EMA 0.005, value goals
(cur 0.2, traj 0.5 geometric, random 0.3), actor goals a later state (uniform); OGBench extracts its GCIQL policy
with DDPG+BC by default and AWR as an option: AWR at beta 3 (HIQL's temperature) is used here.

Examples:
    >>> import torch
    >>> from jepa_world.baselines.goal_net import GoalNetConfig, ImpalaConfig
    >>> enc = ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=2, flat_dims=2)
    >>> model = GCIQL(GCIQLConfig(net=GoalNetConfig(encoder=enc, hidden=16)))
    >>> batch = {"obs": torch.rand(2, 5, 2, 65, 65), "actions": torch.randn(2, 4, 2)}
    >>> loss, metrics = model.training_step(batch, 0)
    >>> sorted(metrics)
    ['actor_loss', 'adv_mean', 'awr_weight_mean', 'critic_loss', 'q_mean', 'v_mean', 'value_loss']
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.baselines.actions import to_unit
from jepa_world.baselines.goal_actor import GoalActor
from jepa_world.baselines.goal_net import GoalNet
from jepa_world.baselines.policy_config import ValuePolicyConfig
from jepa_world.baselines.relabel import step_generator
from jepa_world.baselines.transitions import goal_transitions, value_targets
from jepa_world.objectives.awr import awr_weights
from jepa_world.objectives.ema import EMATarget
from jepa_world.objectives.goal_td import expectile_loss


@dataclass
class GCIQLConfig(ValuePolicyConfig):
    """Goal-conditioned IQL (defaults: OGBench's GCIQL, AWR extraction); ``net`` is the encoder and MLP of each of
    the value, the two critics and the actor."""

    expectile: float = 0.9
    """tau of the value's expectile regression (OGBench GCIQL: 0.9)."""
    beta: float = 3.0
    """AWR inverse temperature (OGBench HIQL's 3.0; 0 = behaviour cloning)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        super().validate()
        if self.beta < 0:
            raise ValueError(f"GCIQLConfig needs beta >= 0, got {self.beta}")


class GCIQL(GoalActor):
    """V(s, g), Q_1,2(s, a, g) (+ EMA target) and pi(s, g) trained by GCIQL (module docstring)."""

    def __init__(self, config: GCIQLConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or GCIQLConfig()
        cfg.validate()
        self.value = GoalNet(cfg.net, out_dim=1)
        self.critic = GoalNet(cfg.net, out_dim=1, extra_dim=cfg.action_dim, ensemble=2)
        self.target_critic = EMATarget(self.critic)
        self.actor = GoalNet(cfg.net, out_dim=cfg.action_dim)

    def values(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """V(s, g): obs, goal_obs (N, C, H, W) -> (N,)."""
        return self.value(self.value.encode(obs), self.value.encode(goal_obs))[:, 0, 0]

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """Batch {"obs": (M, L, C, H, W), "actions": (M, L - 1, A)} -> (summed loss, metrics)."""
        cfg = self.config
        tr = goal_transitions(batch, value=cfg.value_goals, actor=cfg.actor_goals,
                              generator=step_generator(cfg.seed, step), per_trajectory=cfg.per_trajectory)
        b, a = tr.obs.shape[0], to_unit(tr.actions, max_norm=cfg.max_action_norm)  # a: (B, A)
        zv = self.value.encode(torch.cat([tr.obs, tr.value_goal]))  # (2B, D)
        zc = self.critic.encode(torch.cat([tr.obs, tr.value_goal]))
        with torch.no_grad():
            zt = self.target_critic.module.encode(torch.cat([tr.obs, tr.value_goal]))
            q_target = self.target_critic.module(zt[:b], zt[b:], a).amin(dim=1)[:, 0]  # (B,)
            zv_more = self.value.encode(torch.cat([tr.next_obs, tr.actor_goal]))  # (2B, D)
            next_v = self.value(zv_more[:b], zv[b:].detach())[:, 0, 0]
            td_target = value_targets(next_v, at_goal=tr.at_goal, reached=tr.reached, gamma=cfg.discount)  # (B,)
        v = self.value(zv[:b], zv[b:])[:, 0, 0]  # (B,)
        value_loss = expectile_loss(v, q_target, cfg.expectile)
        q = self.critic(zc[:b], zc[b:], a)[..., 0]  # (B, 2)
        critic_loss = (q - td_target[:, None]).pow(2).sum(-1).mean()
        actor_loss, actor_metrics = self._actor_loss(obs=tr.obs, goal=tr.actor_goal, a=a, zv_s=zv[:b].detach(),
                                                     zv_g=zv_more[b:], zc_s=zc[:b].detach())
        metrics = {"value_loss": value_loss.item(), "critic_loss": critic_loss.item(), "v_mean": v.mean().item(),
                   "q_mean": q.mean().item(), **actor_metrics}
        return value_loss + critic_loss + actor_loss, metrics

    def _actor_loss(self, *, obs: Tensor, goal: Tensor, a: Tensor, zv_s: Tensor, zv_g: Tensor, zc_s: Tensor
                    ) -> tuple[Tensor, dict[str, float]]:
        """AWR on the actor goals: obs, goal (B, C, H, W), unit actions a (B, A), the value's and critic's features
        of s and g (B, D) -> (loss, metrics)."""
        b = obs.shape[0]
        with torch.no_grad():
            q = self.critic(zc_s, self.critic.encode(goal), a).amin(dim=1)[:, 0]  # (B,)
            adv = q - self.value(zv_s, zv_g)[:, 0, 0]
        weights = awr_weights(adv, beta=self.config.beta, max_weight=self.config.max_weight)
        z = self.actor.encode(torch.cat([obs, goal]))  # (2B, D)
        pred = self.actor(z[:b], z[b:])[:, 0]
        loss = (weights * (pred - a).pow(2).sum(-1)).mean()
        return loss, {"actor_loss": loss.item(), "adv_mean": adv.mean().item(),
                      "awr_weight_mean": weights.mean().item()}

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA step of the target critic towards the critic."""
        self.target_critic.update(self.critic, momentum=1.0 - self.config.target_tau)
