"""The planner registry: the names a user types (``"cem"``, ``"mppi"``, ``"gradient"``, ``"hierarchical"``, and
``"policy"``: a trained goal-conditioned policy through the same loop) and a factory.

Examples:
    >>> sorted(PLANNERS)
    ['cem', 'gradient', 'hierarchical', 'mppi']
    >>> planner_config_cls(POLICY).__name__
    'PolicyConfig'
    >>> planner_config_cls("mppi").__name__
    'MPPIConfig'
"""

from __future__ import annotations

from typing import Any

from jepa_world.planning.cem import CEMConfig, CEMPlanner
from jepa_world.planning.gradient import GradientConfig, GradientPlanner
from jepa_world.planning.hierarchical import HierarchicalConfig, HierarchicalPlanner
from jepa_world.planning.mppi import MPPIConfig, MPPIPlanner
from jepa_world.planning.policy import PolicyConfig, PolicyPlanner
from jepa_world.planning.protocols import CostFn, Planner, WorldModel

PLANNERS: dict[str, tuple[type, type]] = {
    "cem": (CEMPlanner, CEMConfig),
    "mppi": (MPPIPlanner, MPPIConfig),
    "gradient": (GradientPlanner, GradientConfig),
    "hierarchical": (HierarchicalPlanner, HierarchicalConfig),
}
"""Planner name -> (planner class, config dataclass): the searches over a world model and a cost."""

COMPOSITE = frozenset({"hierarchical"})
"""Planners made of planners: the registry injects :func:`search_planner` into them (``make_search``)."""

POLICY = "policy"
"""Not a search: a trained goal-conditioned policy acts through the same loop (planning/policy.py). Its name is
accepted wherever a planner's is, but it is kept out of :data:`PLANNERS`, whose members search over any world
model."""


def _lookup(name: str) -> tuple[type, type]:
    if name == POLICY:
        return PolicyPlanner, PolicyConfig
    if name not in PLANNERS:
        raise ValueError(f"unknown planner {name!r}; valid: {sorted(PLANNERS)}")
    return PLANNERS[name]


def planner_config_cls(name: str) -> type:
    """The config dataclass of planner ``name``."""
    return _lookup(name)[1]


def make_planner(
    name: str, world_model: WorldModel, cost: CostFn, config: Any = None, **overrides: Any
) -> Planner:
    """Build planner ``name`` over ``world_model`` and ``cost``.

    ``config`` (an instance of :func:`planner_config_cls`) defaults to the config's defaults;
    keyword ``overrides`` replace individual fields, e.g. ``make_planner("mppi", wm, cost, horizon=8)``.
    Unknown field names raise ValueError listing the valid ones.
    """
    planner_cls, config_cls = _lookup(name)
    composite = {"make_search": search_planner} if name in COMPOSITE else {}
    if config is not None and not isinstance(config, config_cls):
        raise ValueError(f"planner {name!r} needs a {config_cls.__name__}, got {type(config).__name__}")
    fields = set(config_cls.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown {config_cls.__name__} fields {unknown}; valid: {sorted(fields)}")
    base = {f: getattr(config, f) for f in fields} if config is not None else {}
    return planner_cls(world_model, cost, config_cls(**{**base, **overrides}), **composite)


def search_planner(name: str, world_model: WorldModel, cost: CostFn, **fields: Any) -> Planner:
    """Search planner ``name`` with the ``fields`` its config has (others dropped): what a composite planner
    builds its parts with (:class:`~jepa_world.planning.protocols.SearchFactory`)."""
    valid = planner_config_cls(name).__dataclass_fields__
    return make_planner(name, world_model, cost, **{k: v for k, v in fields.items() if k in valid})
