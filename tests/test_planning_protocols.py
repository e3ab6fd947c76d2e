"""Optional world-model capabilities are small runtime-checkable protocols, never ``getattr`` probes.

(a) the models and wrappers satisfy the protocols they should, and a plain model satisfies none of them;
(b) no module of ``jepa_world/planning/`` (nor ``eval/planning.py``) probes a world-model verb by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jepa_world.envs.maze.oracle import MazeOracle
from jepa_world.envs.two_rooms.oracle import TwoRoomsOracle
from jepa_world.methods.keypoint_world_model import KeypointWorldModel, KeypointWorldModelConfig
from jepa_world.nn.keypoint_map import KeypointMapConfig
from jepa_world.nn.raymarch import RayMarchConfig
from jepa_world.planning.chunked import ChunkedWorldModel
from jepa_world.planning.costs import make_cost
from jepa_world.planning.high_level import HeldActionModel, HighLevelAsWorldModel
from jepa_world.planning.protocols import (
    ActionRepeater,
    BoundedActions,
    HasHighLevel,
    HoldingModel,
    ModelPlanner,
    MovingLatentModel,
    WorldModel,
    WrapsModel,
)
from jepa_world.planning.registry import make_planner

ROOT = Path(__file__).resolve().parents[1] / "jepa_world"
VERBS = {"hold", "moving_dims", "rollout_moving", "high_level", "base", "repeat", "world_model", "max_norm",
         "reset", "waypoints", "target"}
CAPABILITIES = (HoldingModel, MovingLatentModel, WrapsModel, ActionRepeater, HasHighLevel, BoundedActions,
                ModelPlanner)


class Plain:
    """A world model with the three required verbs and nothing else."""

    def encode(self, obs):
        return obs

    def step(self, z, a):
        return z + a

    def rollout(self, z0, actions):
        return z0[:, None] + actions.cumsum(dim=1)


def _keypoint_model() -> KeypointWorldModel:
    return KeypointWorldModel(KeypointWorldModelConfig(encoder=KeypointMapConfig(map_size=8, map_channels=4),
                                                       predictor=RayMarchConfig(map_size=8)))


def _satisfied(obj: object) -> set[type]:
    return {p for p in CAPABILITIES if isinstance(obj, p)}


def test_plain_model_has_no_optional_capability():
    assert isinstance(Plain(), WorldModel)
    assert _satisfied(Plain()) == set()


@pytest.mark.parametrize(("make", "expected"), [
    (_keypoint_model, {HoldingModel, MovingLatentModel}),
    (MazeOracle, {HoldingModel}),
    (TwoRoomsOracle, set()),
])
def test_models_declare_their_capabilities(make, expected):
    model = make()
    assert isinstance(model, WorldModel)
    assert _satisfied(model) == expected


def test_wrappers_declare_their_capabilities():
    chunked = ChunkedWorldModel(Plain(), 3)
    held = HeldActionModel(Plain(), 3)
    assert _satisfied(chunked) == {WrapsModel, ActionRepeater, HoldingModel}  # held actions nest
    assert _satisfied(held) == {WrapsModel, ActionRepeater, HoldingModel, BoundedActions}
    assert _satisfied(HighLevelAsWorldModel(held)) == {HasHighLevel}


@pytest.mark.parametrize("name", ["cem", "mppi", "gradient", "hierarchical"])
def test_planners_expose_their_world_model(name):
    model = ChunkedWorldModel(Plain(), 2)
    planner = make_planner(name, model, make_cost("l2"), horizon=3, action_dim=2)
    assert isinstance(planner, ModelPlanner) and planner.world_model is model


def verb_probes(source: str, filename: str = "<source>") -> list[str]:
    """``file:line name(obj, 'verb')`` for each getattr/hasattr call whose attribute name is a world-model verb."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2):
            continue
        name = node.args[1]
        if isinstance(name, ast.Constant) and name.value in VERBS:
            found.append(f"{filename}:{node.lineno} {node.func.id}(..., {name.value!r})")
    return found


def test_verb_probe_checker_catches_a_probe():
    assert verb_probes("f = getattr(model, 'hold', None)\nok = getattr(self, 'horizon')\n") == [
        "<source>:1 getattr(..., 'hold')"]
    assert verb_probes("hasattr(m, 'moving_dims')") == ["<source>:1 hasattr(..., 'moving_dims')"]


def test_planning_never_probes_world_model_verbs():
    files = sorted((ROOT / "planning").glob("*.py")) + [ROOT / "eval" / "planning.py"]
    probes = [p for f in files for p in verb_probes(f.read_text(), str(f.relative_to(ROOT.parent)))]
    assert probes == [], "use the capability protocols of planning/protocols.py:\n" + "\n".join(probes)


def test_moving_rollout_found_through_wrappers():
    from jepa_world.planning.moving import moving_rollout

    model = _keypoint_model()
    assert moving_rollout(Plain()) is None
    fast = moving_rollout(HeldActionModel(ChunkedWorldModel(model, 2), 3))
    assert fast is not None and fast.moving_dims == model.moving_dims
    assert moving_rollout(ChunkedWorldModel(Plain(), 2)) is None
