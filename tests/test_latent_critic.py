"""The latent critic: relabelled TD targets, the expectile's pull towards shortest paths, the terminal cost."""

from __future__ import annotations

import pytest
import torch

from jepa_world.adapt.critic_fit import CriticFitConfig, fit_critic
from jepa_world.nn.latent_critic import LatentCritic, LatentCriticConfig
from jepa_world.objectives.goal_td import discounted_steps, expectile_loss, sample_relabelled, td_targets

GAMMA = 0.9


def _values(critic: LatentCritic, states: torch.Tensor, pairs: list[tuple[int, int]]) -> torch.Tensor:
    with torch.no_grad():
        return critic(states[[a for a, _ in pairs]], states[[b for _, b in pairs]])


def test_td_targets_on_a_chain_equal_the_closed_form_at_the_fixed_point():
    # exact values on a deterministic chain: iterate the target map to its fixed point, compare with the sum
    n = 7
    values = torch.zeros(n, n)  # values[s, g], goal g at or after s
    for _ in range(3 * n):
        new = values.clone()
        for s in range(n - 1):
            for g in range(s, n):
                new[s, g] = td_targets(values[s + 1, g:g + 1], at_goal=torch.tensor([g == s]),
                                       reached=torch.tensor([g == s + 1]), gamma=GAMMA)[0]
        values = new
    k = torch.arange(n)
    for s in range(n - 1):
        torch.testing.assert_close(values[s, s:], discounted_steps(k[: n - s], GAMMA))


def test_fitted_critic_matches_the_closed_form_on_a_deterministic_chain():
    torch.manual_seed(0)
    n = 8
    states = torch.eye(n)
    critic = LatentCritic(LatentCriticConfig(latent_dim=n, hidden=64))
    fit_critic(critic, states[None], CriticFitConfig(steps=1500, batch_size=256, lr=3e-3, gamma=GAMMA,
                                                     expectile=0.5, target_momentum=0.9, p_self=0.2, p_same=0.0,
                                                     p_future=0.6, future_p=0.3))
    pairs = [(s, g) for s in range(n - 1) for g in range(s, n)]  # the last state is never a start
    expected = discounted_steps(torch.tensor([g - s for s, g in pairs]), GAMMA)
    torch.testing.assert_close(_values(critic, states, pairs), expected, atol=0.25, rtol=0.05)


def _random_walks(n: int, walks: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Reflecting +-1 walks on a line of n states -> indices (walks, length)."""
    pos = torch.randint(n, (walks,), generator=generator)
    out = [pos]
    for _ in range(length - 1):
        step = torch.randint(2, (walks,), generator=generator) * 2 - 1
        pos = (pos + step).clamp(0, n - 1)
        out.append(pos)
    return torch.stack(out, dim=1)


def test_low_expectile_learns_shortest_paths_from_random_walks():
    # the mean target is the walk's (much longer) hitting time; a low expectile tracks the shortest way
    n, g = 6, torch.Generator().manual_seed(1)
    states = torch.eye(n)
    walks = states[_random_walks(n, 300, 16, g)]  # (300, 16, n)
    pairs = [(s, t) for s in range(n) for t in range(n)]
    shortest = discounted_steps(torch.tensor([abs(s - t) for s, t in pairs]), GAMMA)
    errors = {}
    for tau in (0.5, 0.05):
        torch.manual_seed(0)
        critic = LatentCritic(LatentCriticConfig(latent_dim=n, hidden=64))
        fit_critic(critic, walks, CriticFitConfig(steps=1500, batch_size=256, lr=3e-3, gamma=GAMMA, expectile=tau,
                                                  target_momentum=0.9, p_self=0.1, p_future=0.3))
        errors[tau] = (_values(critic, states, pairs) - shortest).abs().mean().item()
    assert errors[0.05] < 0.3 * errors[0.5], errors
    assert errors[0.05] < 0.6, errors


def test_relabelling_draws_valid_pairs_in_the_asked_proportions():
    pairs = sample_relabelled(10, 5, 20_000, p_self=0.2, p_future=0.5, future_p=0.5,
                              generator=torch.Generator().manual_seed(0))
    assert int(pairs.t.max()) == 3 and int(pairs.goal_t.max()) == 4  # a next state always exists
    same = pairs.goal_rows == pairs.rows
    ahead = same & (pairs.goal_t > pairs.t)
    assert pairs.at_goal.float().mean().item() == pytest.approx(0.2 + 0.3 * 0.1 / 5, abs=0.02)
    assert ahead.float().mean().item() > 0.45  # future goals, plus random ones that happen to lie ahead
    assert bool((pairs.reached == (same & (pairs.goal_t == pairs.t + 1))).all())


def test_expectile_loss_weights_and_errors():
    pred, target = torch.zeros(2), torch.tensor([1.0, -1.0])
    assert expectile_loss(pred, target, 0.1).item() == pytest.approx((0.1 + 0.9) / 2)
    assert expectile_loss(pred, target, 0.5).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="tau"):
        expectile_loss(pred, target, 1.0)


def test_critic_rejects_mismatched_shapes_and_layouts():
    with pytest.raises(ValueError, match="latent_shape"):
        LatentCriticConfig(latent_dim=10, latent_shape=(2, 2, 2)).validate()
    critic = LatentCritic(LatentCriticConfig(latent_dim=4))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        critic(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="sequences"):
        fit_critic(critic, torch.zeros(2, 1, 4), CriticFitConfig(steps=1))


def _tree_digest(root) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


TINY_CRITIC = ["trajectories=12", "model_steps=3", "fit.steps=4", "fit.batch_size=16", "check_trajectories=4",
               "channels=4", "hidden=8"]


def test_critic_cli_fits_writes_elsewhere_and_eval_uses_it(tmp_path):
    import json

    from typer.testing import CliRunner

    from jepa_world.cli import app
    from jepa_world.runs.critic_run import load_critic
    from tests.test_frozen_encoder_cli import FAST_EVAL
    from tests.test_world_model_diagnose import GENERIC, train

    runner = CliRunner()
    run = train(tmp_path, "run", "two-rooms-generic", "train.steps=2", *GENERIC)
    before = _tree_digest(run)
    out = tmp_path / "critic"
    r = runner.invoke(app, ["critic", str(run), "--out", str(out), *TINY_CRITIC])
    assert r.exit_code == 0, r.output
    assert "rank correlation" in r.output
    meta = json.loads((out / "critic.json").read_text())
    assert meta["stride"] == 2 and meta["critic"]["latent_shape"] == [4, 9, 9]
    assert -1.0 <= meta["check"]["spearman_critic"] <= 1.0 and meta["check"]["pairs"] == 4 * 6
    critic = load_critic(out)
    assert critic(torch.zeros(3, 324), torch.ones(3, 324)).shape == (3,)
    assert _tree_digest(run) == before  # the run's files are bitwise unchanged

    again = runner.invoke(app, ["critic", str(run), "--out", str(out), *TINY_CRITIC])
    assert again.exit_code == 2 and "--overwrite" in again.output
    inside = runner.invoke(app, ["critic", str(run), "--out", str(run / "critic"), *TINY_CRITIC])
    assert inside.exit_code == 2 and "inside the run directory" in inside.output
    missing = runner.invoke(app, ["eval", str(run), "--critic", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a critic directory" in missing.output

    report = tmp_path / "eval.json"
    png = tmp_path / "eval.png"  # a frameskip model's planned paths are drawn too
    r = runner.invoke(app, ["eval", str(run), "--planner", "mppi", "--critic", str(out), "--json", str(report),
                            "--png", str(png), *FAST_EVAL, "critic_weight=2.0"])
    assert r.exit_code == 0, r.output
    assert png.stat().st_size > 0
    assert json.loads(report.read_text())["config"]["critic_weight"] == 2.0
