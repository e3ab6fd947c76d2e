"""Offline goal-conditioned RL baselines (GCBC, GCIQL, HIQL) trained on the world models' reward-free data.

Each method is an ``nn.Module`` with ``training_step(batch, step)`` (the trainer's contract) and the policy split
at its encoder, ``encode(obs) -> z`` and ``act_latent(z, goal_z) -> actions``, which the evaluation loop drives as
a planner (:mod:`jepa_world.planning.policy`), so success rates come from the same episodes and rules as MPC's.
"""
