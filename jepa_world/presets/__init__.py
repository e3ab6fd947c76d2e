"""Presets: the names a user types after ``jepa-world train --preset`` and the run each one builds.

A preset is a typed dataclass config (nested: ``model``, ``data``, ``train``, ...) whose fields a user
can override with ``key=value`` (see :func:`jepa_world.config.apply_overrides`), plus a ``build``
function turning that config into a :class:`RunSpec` for :func:`jepa_world.train.train`.

A *method kind* (``"world_model"``, ``"ssl"``, ...) names how a saved ``model_config`` rebuilds its
``nn.Module``: :data:`METHOD_BUILDERS` maps the kind to that function, so evaluation tools can load
any run directory alone.

Modules defining presets register them with :func:`register_preset` / :func:`register_method`
when imported; :func:`load_builtin_presets` imports them all.

Examples:
    >>> load_builtin_presets()
    >>> "two-rooms" in PRESETS
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from jepa_world.train.config import TrainConfig
from jepa_world.train.protocol import BatchSource, Callback


@dataclass
class RunSpec:
    """Everything :func:`jepa_world.train.train` needs for one run."""

    kind: str
    """Method kind, a key of :data:`METHOD_BUILDERS`."""
    method: nn.Module
    """The trainable method (implements ``training_step``)."""
    source: BatchSource
    """``source(step) -> batch``."""
    train: TrainConfig
    """Optimisation settings."""
    model_config: dict[str, Any]
    """JSON-able dict that ``METHOD_BUILDERS[kind]`` turns back into the method."""
    batch_size: int
    """Samples per step, for the throughput metric."""
    callbacks: list[Callback] = field(default_factory=list)
    """Periodic evaluations during training."""


@dataclass
class Preset:
    """A named preset: a config factory and the function building the run from it."""

    name: str
    """What the user types."""
    config: Callable[[], Any]
    """Returns the default config dataclass (with a ``train: TrainConfig`` field)."""
    build: Callable[[Any], RunSpec]
    """config -> RunSpec."""
    help: str
    """One line shown by ``jepa-world presets``."""


PRESETS: dict[str, Preset] = {}
"""Preset name -> Preset."""

METHOD_BUILDERS: dict[str, Callable[[dict[str, Any]], nn.Module]] = {}
"""Method kind -> ``model_config -> nn.Module`` (untrained; load weights afterwards)."""

BUILTIN_MODULES = ("jepa_world.presets.world_model", "jepa_world.presets.ssl",
                   "jepa_world.presets.video", "jepa_world.presets.frozen_world_model", "jepa_world.presets.pointmaze",
                   "jepa_world.presets.gcrl")
"""Modules that register presets when imported (missing ones are skipped)."""


def register_preset(preset: Preset) -> Preset:
    """Add ``preset`` to :data:`PRESETS` (a name may be registered once)."""
    if preset.name in PRESETS and PRESETS[preset.name] is not preset:
        raise ValueError(f"preset {preset.name!r} is already registered")
    PRESETS[preset.name] = preset
    return preset


def register_method(kind: str, builder: Callable[[dict[str, Any]], nn.Module]) -> None:
    """Register how a saved ``model_config`` of ``kind`` rebuilds its method."""
    METHOD_BUILDERS[kind] = builder


def load_builtin_presets() -> None:
    """Import every module of :data:`BUILTIN_MODULES` that exists, registering its presets."""
    for name in BUILTIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ValueError listing the valid names otherwise."""
    load_builtin_presets()
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {sorted(PRESETS)}")
    return PRESETS[name]


def build_method(kind: str, model_config: dict[str, Any]) -> nn.Module:
    """Rebuild an (untrained) method of ``kind`` from its saved config."""
    load_builtin_presets()
    if kind not in METHOD_BUILDERS:
        raise ValueError(f"unknown method kind {kind!r}; valid: {sorted(METHOD_BUILDERS)}")
    return METHOD_BUILDERS[kind](model_config)
