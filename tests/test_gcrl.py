"""Offline goal-conditioned RL baselines: relabelling, expectile and AWR terms, GCIQL / GCBC on toys with known
answers, the policy in the MPC loop, and train -> eval through the CLI."""

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from jepa_world.baselines.gcbc import GCBC, GCBCConfig
from jepa_world.baselines.gciql import GCIQL, GCIQLConfig
from jepa_world.baselines.goal_net import GoalNetConfig
from jepa_world.baselines.hiql import HIQL, HIQLConfig
from jepa_world.baselines.relabel import CUR, RAND, TRAJ, GoalSampling, relabel
from jepa_world.baselines.transitions import goal_transitions
from jepa_world.cli import app
from jepa_world.envs.two_rooms.batch import Episodes, TwoRoomsBatch, TwoRoomsConfig
from jepa_world.eval.episodes import run_mpc
from jepa_world.eval.planning import policy_mpc
from jepa_world.nn.encoders import ImpalaConfig
from jepa_world.objectives.goal_td import expectile_loss
from jepa_world.planning.policy import PolicyPlanner, PolicyWorldModel

runner = CliRunner()


def draw(sampling: GoalSampling, *, num_traj=100, length=21, per_trajectory=200, seed=0):
    return relabel(num_traj, length, sampling, generator=torch.Generator().manual_seed(seed),
                   per_trajectory=per_trajectory)


# --- relabelling -----------------------------------------------------------------------------------------------


def test_goals_come_from_the_stated_sources_at_the_stated_distances():
    length = 21
    r = draw(GoalSampling(p_cur=0.2, p_traj=0.5, p_rand=0.3, geometric=True, discount=0.9), length=length)
    assert bool((r.t >= 0).all() and (r.t <= length - 2).all())
    cur, traj, rand = r.source == CUR, r.source == TRAJ, r.source == RAND
    assert bool((r.goal_rows[cur | traj] == r.rows[cur | traj]).all())
    assert bool((r.goal_t[cur] == r.t[cur]).all() and (r.steps[cur] == 0).all() and r.at_goal[cur].all())
    assert bool((r.goal_t[traj] > r.t[traj]).all() and (r.goal_t[traj] <= length - 1).all())
    assert bool((r.steps[traj] == r.goal_t[traj] - r.t[traj]).all())
    same_ahead = (r.goal_rows == r.rows) & (r.goal_t >= r.t)
    assert bool((r.steps[rand & ~same_ahead] == -1).all())
    assert bool((r.steps[rand & same_ahead] == (r.goal_t - r.t)[rand & same_ahead]).all())
    assert bool((r.steps >= 0).eq(same_ahead).all())


def test_source_frequencies_match_the_probabilities():
    r = draw(GoalSampling(p_cur=0.2, p_traj=0.5, p_rand=0.3, geometric=True))  # 20 000 goals
    freq = [float((r.source == s).float().mean()) for s in (CUR, TRAJ, RAND)]
    assert freq == pytest.approx([0.2, 0.5, 0.3], abs=0.015)  # > 4 standard errors


@pytest.mark.parametrize("discount", [0.5, 0.9])
def test_geometric_distances_have_the_truncated_geometric_mean(discount):
    """k ~ Geometric(1 - discount) capped at m = L - 1 - t steps: E[min(k, m)] = sum_{j=1..m} discount^(j-1)
    = (1 - discount^m) / (1 - discount), averaged over t uniform in [0, L - 2]."""
    length = 21
    r = draw(GoalSampling(p_cur=0.0, p_traj=1.0, geometric=True, discount=discount), length=length)
    m = torch.arange(1, length)  # remaining steps for t = L - 2 ... 0
    expected = float(((1 - discount ** m.double()) / (1 - discount)).mean())
    assert float(r.steps.double().mean()) == pytest.approx(expected, abs=0.1)
    one_t = r.t == 0  # untruncated enough at t = 0 for discount 0.5: P(k >= 21) = 0.5^20
    if discount == 0.5:
        assert float(r.steps[one_t].double().mean()) == pytest.approx(1 / (1 - discount), abs=0.08)


def test_uniform_distances_cover_the_rest_of_the_trajectory():
    length = 21
    r = draw(GoalSampling(p_cur=0.0, p_traj=1.0, geometric=False), length=length)
    m = torch.arange(1, length).double()
    assert float(r.steps.double().mean()) == pytest.approx(float(((m + 1) / 2).mean()), abs=0.1)
    at_zero = r.steps[r.t == 0]
    assert int(at_zero.min()) == 1 and int(at_zero.max()) == length - 1


def test_relabelling_is_a_pure_function_of_the_generator():
    s = GoalSampling(p_cur=0.3, p_traj=0.4, p_rand=0.3, geometric=True)
    a, b, c = draw(s, seed=1, per_trajectory=4), draw(s, seed=1, per_trajectory=4), draw(s, seed=2, per_trajectory=4)
    assert torch.equal(a.goal_t, b.goal_t) and torch.equal(a.goal_rows, b.goal_rows)
    assert not torch.equal(a.goal_t, c.goal_t)
    with pytest.raises(ValueError, match=r"\(0.5, 0.6, 0.0\)"):
        draw(GoalSampling(p_cur=0.5, p_traj=0.6, p_rand=0.0))


def test_transitions_cut_the_right_frames_and_subgoals():
    """Frames that hold their own (row, index): every field of the transitions can be read back."""
    m, length, k = 6, 9, 3
    frames = (100 * torch.arange(m)[:, None] + torch.arange(length)[None]).float()  # (M, L) = 100 row + t
    batch = {"obs": frames[..., None, None, None], "actions": frames[:, :-1, None].expand(m, length - 1, 2)}
    tr = goal_transitions(batch, value=GoalSampling(p_cur=0.3, p_traj=0.4, p_rand=0.3, geometric=True),
                          actor=GoalSampling(p_cur=0.2, p_traj=0.5, p_rand=0.3), subgoal_steps=k,
                          generator=torch.Generator().manual_seed(0), per_trajectory=50)

    def read(x):
        return x.flatten(1)[:, 0].long()

    base = 100 * tr.value.rows
    t = tr.value.t
    assert torch.equal(read(tr.obs), base + t) and torch.equal(read(tr.next_obs), base + t + 1)
    assert torch.equal(tr.actions[:, 0].long(), base + t)
    assert torch.equal(read(tr.value_goal), 100 * tr.value.goal_rows + tr.value.goal_t)
    assert torch.equal(tr.at_goal, tr.value.steps == 0) and torch.equal(tr.reached, tr.value.steps == 1)
    ahead = (t + k).clamp(max=length - 1)
    assert torch.equal(read(tr.subgoal), base + ahead)
    on_path = tr.actor.steps >= 0
    capped = torch.where(on_path, torch.minimum(ahead, tr.actor.goal_t), ahead)
    assert torch.equal(read(tr.subgoal_target), base + capped)
    assert bool((capped[on_path] <= tr.actor.goal_t[on_path]).all()) and bool((~on_path).any())


# --- loss terms ------------------------------------------------------------------------------------------------


def test_expectile_loss_is_the_asymmetric_square():
    pred, target, tau = torch.tensor([0.0, 0.0]), torch.tensor([2.0, -1.0]), 0.8
    assert float(expectile_loss(pred, target, tau)) == pytest.approx((0.8 * 4 + 0.2 * 1) / 2)


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.7, 0.9])
def test_the_expectile_loss_minimiser_is_the_tau_expectile(tau):
    """argmin_m E[|tau - 1(x < m)| (x - m)^2] solves tau E[(x - m)+] = (1 - tau) E[(m - x)+]: found by bisection
    on that first-order condition, and by gradient descent on the loss."""
    x = torch.tensor([0.0, 1.0, 1.5, 4.0, 10.0], dtype=torch.float64)

    def condition(m: float) -> float:
        return float(tau * (x - m).clamp_min(0).sum() - (1 - tau) * (m - x).clamp_min(0).sum())

    lo, hi = float(x.min()), float(x.max())
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if condition(mid) > 0 else (lo, mid)
    m = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([m], lr=0.5)
    for _ in range(3000):
        opt.zero_grad()
        expectile_loss(m.expand(5), x, tau).backward()
        opt.step()
    assert float(m.detach()) == pytest.approx(lo, abs=1e-4)
    if tau == 0.5:
        assert lo == pytest.approx(float(x.mean()), abs=1e-6)


# --- the methods on toys -----------------------------------------------------------------------------------------


def identity_net(size: int, hidden: int = 64) -> GoalNetConfig:
    """State-vector observations (size, 1, 1) read as they are."""
    return GoalNetConfig(encoder=ImpalaConfig(in_channels=size, image_size=1), encoder_kind="identity", hidden=hidden)


def chain_batch(n: int, m: int) -> dict:
    """m copies of one trajectory along a chain of n one-hot states, always stepping right."""
    obs = torch.eye(n)[None, :, :, None, None].expand(m, n, n, 1, 1).contiguous()  # (m, n, n, 1, 1)
    actions = torch.tensor([1.0, 0.0]).expand(m, n - 1, 2).contiguous()
    return {"obs": obs, "actions": actions}


def test_gciql_learns_the_closed_form_value_on_a_chain():
    """Deterministic chain, reward -1 until the goal: V(s_i, s_j) = -(1 - gamma^d) / (1 - gamma), d = j - i."""
    torch.manual_seed(0)
    n, gamma = 8, 0.9
    goals = GoalSampling(p_cur=0.3, p_traj=0.7, p_rand=0.0, geometric=False)
    model = GCIQL(GCIQLConfig(net=identity_net(n), value_goals=goals, discount=gamma, expectile=0.7,
                              target_tau=0.05, per_trajectory=16))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    batch = chain_batch(n, 4)
    for step in range(1500):
        loss, _ = model.training_step(batch, step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.after_optimizer_step(step, 1500)
    i, j = torch.triu_indices(n - 1, n)  # every goal at or ahead of its state; the last state is never a state s_t
    states = torch.eye(n)[:, :, None, None]
    with torch.no_grad():
        v = model.values(states[i], states[j])
    closed = -(1 - gamma ** (j - i).double()) / (1 - gamma)
    assert (v.double() - closed).abs().max() < 0.35, list(zip((j - i).tolist(), v.tolist(), strict=True))


def test_gcbc_learns_the_direction_to_the_goal():
    """Straight-line trajectories with unit steps: the logged action is (g - s) / |g - s| for any goal ahead."""
    torch.manual_seed(0)

    def lines(seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)
        angle = torch.rand(64, generator=g) * 2 * math.pi
        step = torch.stack([angle.cos(), angle.sin()], dim=-1)  # (64, 2)
        pos = torch.rand(64, 1, 2, generator=g) * 4 - 2 + torch.arange(9)[None, :, None] * step[:, None]
        return {"obs": pos[..., None, None], "actions": step[:, None].expand(64, 8, 2).contiguous()}

    model = GCBC(GCBCConfig(net=identity_net(2), per_trajectory=2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.training_step(lines(10_000), 0)[0].detach())
    for step in range(600):
        loss, _ = model.training_step(lines(step), step)
        opt.zero_grad()
        loss.backward()
        opt.step()
    held_out = float(model.training_step(lines(10_001), 1)[0].detach())
    assert held_out < 0.1 * first and held_out < 0.02
    s, goal = torch.zeros(1, 2, 1, 1), torch.tensor([[3.0, 4.0]])[..., None, None]
    with torch.no_grad():
        a = model.act(s, goal)
    assert torch.allclose(a, torch.tensor([[0.6, 0.8]]), atol=0.15)


def test_actions_stay_within_the_bound():
    model = GCBC(GCBCConfig(net=identity_net(2), max_action_norm=2.45))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(100)  # huge outputs
        a = model.act(torch.randn(16, 2, 1, 1), torch.randn(16, 2, 1, 1))
    assert float(a.norm(dim=-1).max()) <= 2.45 + 1e-5


def test_hiql_subgoal_representation_is_length_normalised_and_steps_run():
    torch.manual_seed(0)
    model = HIQL(HIQLConfig(net=identity_net(8), subgoal_steps=3, rep_dim=4, per_trajectory=4))
    loss, metrics = model.training_step(chain_batch(8, 2), 0)
    assert torch.isfinite(loss) and set(metrics) >= {"value_loss", "low_actor_loss", "high_actor_loss"}
    z = model.encode(torch.eye(8)[:, :, None, None])
    assert torch.allclose(model.subgoal_rep(z, z.flip(0)).norm(dim=-1), torch.full((8,), 2.0))
    old_target = [p.clone() for p in model.target_value.parameters()]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss.backward()
    opt.step()
    model.after_optimizer_step(0, 1)  # target <- (1 - tau) target + tau value
    tau = model.config.target_tau
    for old, new, online in zip(old_target, model.target_value.parameters(), model.value.parameters(), strict=True):
        assert torch.allclose(new, (1 - tau) * old + tau * online, atol=1e-6)
    assert any(not torch.equal(o, n) for o, n in zip(old_target, model.target_value.parameters(), strict=True))


# --- the policy in the evaluation loop ---------------------------------------------------------------------------


class CentroidPolicy:
    """Hand-made policy on pixels: step from the agent blob's centroid towards the goal's (channel 0)."""

    def encode(self, obs):
        w = obs[:, 0].clamp_min(0) ** 4  # (N, H, W), sharpened blob
        ys, xs = torch.meshgrid(torch.arange(65.0), torch.arange(65.0), indexing="ij")
        return torch.stack([(w * xs).sum((1, 2)), (w * ys).sum((1, 2))], -1) / w.sum((1, 2))[:, None]

    def act_latent(self, z, goal):
        return goal - z


def same_room_episodes() -> Episodes:
    return Episodes(wall_x=torch.tensor([32, 32]), door_y=torch.tensor([18, 40]),
                    start=torch.tensor([[10.0, 10.0], [50.0, 50.0]]), goal=torch.tensor([[20.0, 40.0], [42.0, 20.0]]))


def test_a_policy_runs_through_the_mpc_loop_without_surprise():
    model = PolicyWorldModel(CentroidPolicy())
    env = TwoRoomsBatch(2, TwoRoomsConfig(physics="strict", walls="arena", max_action_norm=2.45))
    result = run_mpc(env, model, PolicyPlanner(model), episodes=same_room_episodes(), config=policy_mpc())
    assert result.surprise is None and result.escapes is None
    assert len(result.replan_ms) == env.config.max_steps  # one policy call per step
    assert bool(result.success.all()), result.final_distance  # the goal observation reached the policy
    steps = (result.positions[:, 1:] - result.positions[:, :-1]).norm(dim=-1)
    assert float(steps.max()) <= 2.45 + 1e-4


def test_the_policy_planner_refuses_a_world_model():
    from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle

    with pytest.raises(ValueError, match="TwoRoomsOracle"):
        PolicyPlanner(TwoRoomsOracle())


# --- the CLI: train -> eval ------------------------------------------------------------------------------------

TINY = ["batch_size=4", "data.length=5", "model.net.encoder.channels=(4,4)", "model.net.encoder.embed_dim=8",
        "model.net.encoder.keypoints=2", "model.net.encoder.flat_dims=2", "model.net.hidden=8", "train.steps=2",
        "train.progress=false", "train.tensorboard=false", "train.warmup_steps=0", "train.log_every=1"]


@pytest.mark.parametrize("preset", ["two-rooms-gcbc", "two-rooms-gciql", "two-rooms-hiql", "maze-gciql"])
def test_train_then_eval_a_baseline(preset, tmp_path):
    run, report = tmp_path / "run", tmp_path / "eval.json"
    extra = ["model.subgoal_steps=2"] if preset.endswith("hiql") else []
    r = runner.invoke(app, ["train", "--preset", preset, "--run-dir", str(run), *TINY, *extra])
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "gcrl" and config["model"]["method"] == preset.split("-")[-1]
    assert len(config["model"]["net"]["encoder"]["input_std"]) == 2  # measured on the data
    args = ["eval", str(run), "--episodes", "2", "--num-envs", "2", "--json", str(report)]
    r = runner.invoke(app, args + (["maze.max_steps=20"] if preset.startswith("maze") else []))
    assert r.exit_code == 0, r.output
    out = json.loads(report.read_text())
    assert out["planner"] == "policy" and out["episodes"] == 2 and out["mean_surprise"] is None
    assert 0.0 <= out["success_rate"] <= 1.0 and 0.0 <= out["success_rate_first_hit"] <= 1.0
    assert out["config"]["env"] == ("maze" if preset.startswith("maze") else "two_rooms")
    assert out["config"]["mpc"]["replan_every"] == 1 and out["config"]["goal_stop"] is False


def test_a_baseline_run_refuses_a_search_planner(tmp_path):
    run = tmp_path / "run"
    assert runner.invoke(app, ["train", "--preset", "two-rooms-gcbc", "--run-dir", str(run), *TINY]).exit_code == 0
    r = runner.invoke(app, ["eval", str(run), "--planner", "mppi", "--episodes", "1"])
    assert r.exit_code == 2 and "--planner policy" in r.output
