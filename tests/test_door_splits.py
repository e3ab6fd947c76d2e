"""Door splits: layouts held out from training (data.doors=low) are the ones evaluated with doors=high."""

import pytest
import torch

from jepa_world.config import from_dict, to_dict
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.batch import sample_episodes
from jepa_world.eval.planning import PlanningEvalConfig, sample_eval_episodes


def test_splits_are_disjoint_halves_covering_the_benchmark_range() -> None:
    low, high, full = geo.DOOR_SPLITS["low"], geo.DOOR_SPLITS["high"], geo.DOOR_SPLITS["all"]
    rows = set(range(low[0], low[1] + 1)) | set(range(high[0], high[1] + 1))
    assert rows == set(range(full[0], full[1] + 1))
    assert low[1] < high[0]


def test_training_data_keeps_to_its_split() -> None:
    g = torch.Generator().manual_seed(0)
    traj = generate(400, TwoRoomsDataConfig(length=3, doors="low"), generator=g)
    lo, hi = geo.DOOR_SPLITS["low"]
    assert traj.door_y.min() >= lo and traj.door_y.max() <= hi
    assert len(set(traj.door_y.tolist())) == hi - lo + 1  # the whole half is used


def test_eval_episodes_keep_to_their_split_and_default_is_unchanged() -> None:
    ep = sample_eval_episodes(PlanningEvalConfig(episodes=300, num_envs=10, doors="high"))
    assert ep.door_y.min() >= geo.DOOR_SPLITS["high"][0]
    default = sample_episodes(50, generator=torch.Generator().manual_seed(3))
    explicit = sample_episodes(50, generator=torch.Generator().manual_seed(3), doors="all")
    assert torch.equal(default.door_y, explicit.door_y) and torch.equal(default.start, explicit.start)


def test_unknown_split_is_refused_and_old_configs_load() -> None:
    with pytest.raises(ValueError, match="doors must be one of"):
        TwoRoomsDataConfig(doors="middle").validate()
    with pytest.raises(ValueError, match="doors must be one of"):
        PlanningEvalConfig(doors="middle")
    old = {k: v for k, v in to_dict(TwoRoomsDataConfig()).items() if k != "doors"}
    assert from_dict(TwoRoomsDataConfig, old).doors == "all"
