"""Online adjustment inside an evaluation: the agent's own windows, the adjustment schedule, and `eval --adapt`
writing the adjusted model to a new run while the original run's files stay bitwise unchanged."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from typer.testing import CliRunner

from jepa_world.cli import app
from jepa_world.eval.online import OnlineAdjustConfig, evaluate_online, experience_windows, step_surprise
from jepa_world.eval.planning import PlanningEvalConfig
from jepa_world.methods.spatial_world_model import SpatialLossWeights, SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.planning.mpc import MPCConfig
from jepa_world.runs.load import load_method

runner = CliRunner()
TINY = ["model.encoder.map_channels=4", "model.encoder.map_size=8", "model.predictor.map_size=8",
        "model.idm_hidden=16", "batch_size=4", "data.length=3", "train.progress=false", "train.tensorboard=false",
        "train.log_every=1", "train.warmup_steps=1", "train.steps=2"]
FAST_PLAN = ["planner.horizon=2", "planner.num_samples=8", "planner.num_elites=4", "planner.iterations=1",
             "mpc.replan_every=40", "mpc.action_repeat=20"]


def test_windows_are_cut_from_the_agents_own_steps_with_their_surprise():
    n, steps = 2, 8
    obs = torch.arange(steps + 1, dtype=torch.uint8).view(1, -1, 1, 1, 1).expand(n, -1, 1, 2, 2)  # frame t = t
    actions = torch.arange(steps, dtype=torch.float32).view(1, -1, 1).expand(n, -1, 2)  # action t = t
    surprise = torch.tensor([[1.0, 3.0], [2.0, 2.0]])  # 2 replans after the first, every 3 steps
    assert step_surprise(surprise, replan_every=3, steps=steps).tolist() == [[1, 1, 1, 3, 3, 3, 3, 3],
                                                                             [2, 2, 2, 2, 2, 2, 2, 2]]
    w_obs, w_act, w_sur = experience_windows(obs, actions, surprise, length=3, replan_every=3)
    assert w_obs.shape == (2 * 4, 3, 1, 2, 2) and w_act.shape == (8, 2, 2)
    assert (w_obs[:4, :, 0, 0, 0] * 255).round().tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]]
    assert w_act[:4, :, 0].tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]  # actions t..t+1 between frames t..t+2
    assert w_sur.tolist() == [1.0, 2.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0]


def _tiny_model() -> SpatialWorldModel:
    torch.manual_seed(0)
    cfg = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(channels=(4, 4, 4), latent_channels=2),
                                  predictor=SpatialPredictorConfig(latent_channels=2, action_dim=4, hidden=8),
                                  frameskip=2, probe=False, weights=SpatialLossWeights(time=0.0, idm=0.0))
    model = SpatialWorldModel(cfg).eval()
    with torch.no_grad():  # a predictor that is not the identity: the agent is surprised by what it observes
        model.predictor.convs[-1].weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(5))
    return model


def _eval_config(**fields) -> PlanningEvalConfig:
    fast = {"horizon": 2, "num_samples": 8, "num_elites": 4, "iterations": 1}
    return PlanningEvalConfig(episodes=6, num_envs=2, planner_overrides=fast,
                              mpc=MPCConfig(replan_every=40, action_repeat=20), shift="gain0.5", **fields)


def _run(model, online):
    return evaluate_online(model, _eval_config(), online, offline=None, window=5)


def test_the_adjustment_runs_every_k_blocks_and_a_frozen_model_is_left_alone():
    model = _tiny_model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    frozen = _run(model, OnlineAdjustConfig(every=0, steps=1, batch_size=4))
    assert frozen.adjusted == [False] * 3 and frozen.update_s == [0.0] * 3
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    every2 = _run(model, OnlineAdjustConfig(every=2, steps=2, batch_size=4))
    assert every2.adjusted == [False, True, False] and [len(x) for x in every2.losses] == [0, 2, 0]
    assert every2.update_s[1] > 0 and len(every2.success) == 3 and frozen.success[0] == every2.success[0]
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in state.items())


@pytest.mark.parametrize("above", [True, False])
def test_the_adjustment_runs_when_a_blocks_surprise_exceeds_the_threshold(above):
    first = _run(_tiny_model(), OnlineAdjustConfig(every=0, steps=1, batch_size=4)).block_surprise[0]
    assert first > 0
    threshold = first * (0.5 if above else 2.0)
    report = _run(_tiny_model(), OnlineAdjustConfig(every=0, block_surprise=threshold, steps=1, batch_size=4))
    assert report.adjusted[0] is above
    assert report.adjusted == [s > threshold for s in report.block_surprise]


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_eval_adapt_writes_the_adjusted_run_elsewhere_and_leaves_the_original_bitwise_unchanged(tmp_path):
    run, out = tmp_path / "run", tmp_path / "adjusted"
    r = runner.invoke(app, ["train", "--preset", "two-rooms", "--run-dir", str(run), *TINY])
    assert r.exit_code == 0, r.output
    before = _digests(run)
    args = ["eval", str(run), "--episodes", "4", "--num-envs", "2", "--planner", "cem", *FAST_PLAN, "shift=gain0.5"]
    r = runner.invoke(app, [*args, "--adapt", "--adapt-out", str(out), "adapt.steps=2", "adapt.batch_size=4"])
    assert r.exit_code == 0, r.output
    assert "success per block of 2" in r.output
    assert _digests(run) == before
    record = json.loads((out / "adapt.json").read_text())
    assert record["adjusted"] == [True, True] and record["window"] == 3 and record["source_run"] == str(run.resolve())
    assert record["summary"]["config"]["shift"] == "gain0.5"
    original, _ = load_method(run, expected_kind="world_model")
    adjusted, _ = load_method(out, expected_kind="world_model")
    changed = [k for k, v in original.state_dict().items() if not torch.equal(v, adjusted.state_dict()[k])]
    assert changed  # the adjusted weights were saved, loadable as a run
    for bad, message in ((["--adapt"], "--adapt-out"), (["--adapt", "--adapt-out", str(run)], "never over"),
                         (["--adapt", "--adapt-out", str(out)], "not an empty directory"),
                         (["--adapt-out", str(tmp_path / "x")], "need --adapt")):
        r = runner.invoke(app, [*args, *bad])
        assert r.exit_code == 2 and message in r.output, r.output
    assert _digests(run) == before
