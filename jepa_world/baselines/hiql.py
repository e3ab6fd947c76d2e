"""HIQL: hierarchical implicit Q-learning from offline data (Park et al. 2023; OGBench's HIQL, Park et al. 2024).

One goal-conditioned value V(s, g) learned without actions, two policies extracted from it:

- value: action-free IQL. V(s, g) = MLP([enc(s), phi(s, g)]) with a goal representation phi(s, g) = MLP([enc(s),
  enc(g)]) scaled to norm sqrt(rep_dim) (OGBench's length normalisation); two heads and an EMA target copy.
  Each head i regresses, by expectile tau, towards -1 + gamma * V_target_i(s', g) (0 at the goal, -1 on reaching
  it: :func:`~jepa_world.baselines.transitions.value_targets`). OGBench weights this expectile by the sign of the
  target's advantage; here each head's own residual sets it (:func:`jepa_world.objectives.goal_td.expectile_loss`).
- high-level policy pi_h(s, g) -> a subgoal *representation*: it regresses phi(s, s_{t+k}) (s_{t+k}: the state k
  = ``subgoal_steps`` ahead, capped at the goal), weighted by AWR with advantage V(s_{t+k}, g) - V(s, g).
- low-level policy pi_l(s, phi) -> action: it regresses a_t given phi(s, s_{t+k}) (k ahead, capped at the
  trajectory's end), weighted by AWR with advantage V(s_{t+1}, s_{t+k}) - V(s, s_{t+k}); the representation is not
  trained through the policy (OGBench's ``low_actor_rep_grad=False``).

Acting: phi = pi_h(s, g) scaled to norm sqrt(rep_dim), then a = pi_l(s, phi). Both policies read one actor encoder
(OGBench gives each its own), so ``encode`` (what the evaluation loop calls once per observation) is one pass.

Defaults are OGBench's HIQL (``agents/hiql.py``): discount 0.99, expectile 0.7, AWR temperatures 3.0 (high and low),
rep_dim 10, target EMA 0.005, value goals (cur 0.2, traj 0.5 geometric, random 0.3), actor goals a later state
(uniform). ``subgoal_steps`` is 10, not OGBench's 25 for navigation: the training windows here hold 20 steps.

Examples:
    >>> import torch
    >>> from jepa_world.baselines.goal_net import GoalNetConfig, ImpalaConfig
    >>> enc = ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=2, flat_dims=2)
    >>> model = HIQL(HIQLConfig(net=GoalNetConfig(encoder=enc, hidden=16), subgoal_steps=2))
    >>> batch = {"obs": torch.rand(2, 5, 2, 65, 65), "actions": torch.randn(2, 4, 2)}
    >>> loss, metrics = model.training_step(batch, 0)
    >>> sorted(metrics)
    ['high_actor_loss', 'high_adv_mean', 'low_actor_loss', 'low_adv_mean', 'v_mean', 'value_loss']
    >>> obs = batch["obs"][:, 0]
    >>> rep = model.subgoal_rep(model.encode(obs), model.encode(obs))
    >>> torch.allclose(rep.norm(dim=-1), torch.full((2,), 10 ** 0.5))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.baselines.actions import from_unit, to_unit
from jepa_world.baselines.goal_actor import GoalActor
from jepa_world.baselines.goal_net import GoalNet, mlp
from jepa_world.baselines.policy_config import ValuePolicyConfig
from jepa_world.baselines.relabel import step_generator
from jepa_world.baselines.transitions import GoalTransitions, goal_transitions, value_targets
from jepa_world.objectives.awr import awr_weights
from jepa_world.objectives.ema import EMATarget
from jepa_world.objectives.goal_td import expectile_loss


@dataclass
class HIQLConfig(ValuePolicyConfig):
    """HIQL (defaults: OGBench's HIQL; subgoal_steps sized to the 20-step training windows); ``net`` is the encoder
    and MLPs of the value (with its goal representation) and of the policies."""

    rep_dim: int = 10
    """Size of the goal representation phi(s, g) (OGBench: 10)."""
    subgoal_steps: int = 10
    """k: the high-level policy proposes the state k steps ahead (OGBench navigation: 25; windows here: 20 steps)."""
    high_beta: float = 3.0
    """AWR inverse temperature of the high-level policy (OGBench: 3.0)."""
    low_beta: float = 3.0
    """AWR inverse temperature of the low-level policy (OGBench: 3.0)."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        super().validate()
        if min(self.rep_dim, self.subgoal_steps) < 1 or min(self.high_beta, self.low_beta) < 0:
            raise ValueError(f"HIQLConfig needs rep_dim, subgoal_steps >= 1 and betas >= 0, got {self.rep_dim}, "
                             f"{self.subgoal_steps}, {self.high_beta}, {self.low_beta}")


def length_normalized(x: Tensor) -> Tensor:
    """x (N, K) scaled to norm sqrt(K) per row (OGBench's goal representation)."""
    return F.normalize(x, dim=-1) * x.shape[-1] ** 0.5


class HIQLValue(nn.Module):
    """V(s, g) = heads([enc(s), phi(s, g)]), phi(s, g) = length_normalized(MLP([enc(s), enc(g)]))."""

    def __init__(self, config: HIQLConfig) -> None:
        super().__init__()
        net = config.net
        self.rep = GoalNet(net, out_dim=config.rep_dim)  # its encoder is the value's encoder
        d = net.feature_dim()
        self.heads = nn.ModuleList(mlp(d + config.rep_dim, 1, hidden=net.hidden, layers=net.layers,
                                       layer_norm=net.layer_norm) for _ in range(2))

    def encode(self, obs: Tensor) -> Tensor:
        """obs (N, C, H, W) -> (N, D)."""
        return self.rep.encode(obs)

    def goal_rep(self, z: Tensor, zg: Tensor) -> Tensor:
        """phi(s, g): features (N, D), (N, D) -> (N, rep_dim) of norm sqrt(rep_dim)."""
        return length_normalized(self.rep(z, zg)[:, 0])

    def forward(self, z: Tensor, zg: Tensor) -> Tensor:
        """Features of s and g (N, D) -> the two heads' V (N, 2)."""
        x = torch.cat([z, self.goal_rep(z, zg)], dim=-1)
        return torch.cat([head(x) for head in self.heads], dim=-1)


class HIQL(GoalActor):
    """V(s, g) (+ EMA target), pi_h(s, g) -> subgoal representation, pi_l(s, phi) -> action (module docstring)."""

    def __init__(self, config: HIQLConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or HIQLConfig()
        cfg.validate()
        self.value = HIQLValue(cfg)
        self.target_value = EMATarget(self.value)
        self.actor = GoalNet(cfg.net, out_dim=cfg.rep_dim)  # the high level; its encoder is the policies'
        self.low_actor = mlp(cfg.net.feature_dim() + cfg.rep_dim, cfg.action_dim, hidden=cfg.net.hidden,
                             layers=cfg.net.layers, layer_norm=cfg.net.layer_norm)

    def subgoal_rep(self, z: Tensor, goal: Tensor) -> Tensor:
        """The high-level policy: features z, goal (N, D) -> subgoal representation (N, rep_dim), norm sqrt(rep_dim)."""
        return length_normalized(self.actor(z, goal)[:, 0])

    def act_latent(self, z: Tensor, goal: Tensor) -> Tensor:
        """Features z (N, D), goal features (N, D) -> env actions (N, A) within the bound."""
        rep = self.subgoal_rep(z, goal)
        return from_unit(self.low_actor(torch.cat([z, rep], dim=-1)), max_norm=self.config.max_action_norm)

    def values(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """V(s, g), mean of the two heads: obs, goal_obs (N, C, H, W) -> (N,)."""
        return self.value(self.value.encode(obs), self.value.encode(goal_obs)).mean(-1)

    def training_step(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        """Batch {"obs": (M, L, C, H, W), "actions": (M, L - 1, A)} -> (summed loss, metrics)."""
        cfg = self.config
        tr = goal_transitions(batch, value=cfg.value_goals, actor=cfg.actor_goals, generator=step_generator(
            cfg.seed, step), per_trajectory=cfg.per_trajectory, subgoal_steps=cfg.subgoal_steps)
        b = tr.obs.shape[0]
        with torch.no_grad():
            target = self.target_value.module
            zt = target.encode(torch.cat([tr.next_obs, tr.value_goal]))  # (2B, D)
            q = value_targets(target(zt[:b], zt[b:]), at_goal=tr.at_goal, reached=tr.reached,
                              gamma=cfg.discount)  # (B, 2)
        z = self.value.encode(torch.cat([tr.obs, tr.value_goal]))  # (2B, D)
        v = self.value(z[:b], z[b:])  # (B, 2)
        value_loss = expectile_loss(v[:, 0], q[:, 0], cfg.expectile) + expectile_loss(v[:, 1], q[:, 1], cfg.expectile)
        actor_loss, metrics = self._actor_losses(tr, z[:b].detach())
        return value_loss + actor_loss, {"value_loss": value_loss.item(), "v_mean": v.mean().item(), **metrics}

    def _actor_losses(self, tr: GoalTransitions, zs: Tensor) -> tuple[Tensor, dict[str, float]]:
        """AWR losses of both levels; zs (B, D): the value's features of s."""
        cfg = self.config
        assert tr.subgoal is not None and tr.subgoal_target is not None
        b = zs.shape[0]
        with torch.no_grad():
            zn, zw, zw_high, zg = self.value.encode(
                torch.cat([tr.next_obs, tr.subgoal, tr.subgoal_target, tr.actor_goal])).split(b)  # 4 x (B, D)
            low_adv = (self.value(zn, zw) - self.value(zs, zw)).mean(-1)  # (B,)
            high_adv = (self.value(zw_high, zg) - self.value(zs, zg)).mean(-1)
            low_rep, high_rep = self.value.goal_rep(zs, zw), self.value.goal_rep(zs, zw_high)  # (B, rep_dim)
        za = self.actor.encode(torch.cat([tr.obs, tr.actor_goal]))  # (2B, D)
        a = to_unit(tr.actions, max_norm=cfg.max_action_norm)
        low_w = awr_weights(low_adv, beta=cfg.low_beta, max_weight=cfg.max_weight)
        low = (low_w * (self.low_actor(torch.cat([za[:b], low_rep], dim=-1)) - a).pow(2).sum(-1)).mean()
        high_w = awr_weights(high_adv, beta=cfg.high_beta, max_weight=cfg.max_weight)
        high = (high_w * (self.actor(za[:b], za[b:])[:, 0] - high_rep).pow(2).sum(-1)).mean()
        return low + high, {"low_actor_loss": low.item(), "high_actor_loss": high.item(),
                            "low_adv_mean": low_adv.mean().item(), "high_adv_mean": high_adv.mean().item()}

    def after_optimizer_step(self, step: int, total_steps: int) -> None:
        """EMA step of the target value towards the value."""
        self.target_value.update(self.value, momentum=1.0 - self.config.target_tau)
