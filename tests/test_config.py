"""Dataclass config helpers: docs, overrides, round trip, errors."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from jepa_world.config import ConfigError, apply_overrides, field_docs, from_dict, list_fields, to_dict


@dataclass
class Inner:
    lr: float = 1e-3
    """Learning rate."""
    kind: Literal["a", "b"] = "a"
    """Which kind."""
    sizes: tuple[int, ...] = (1, 2)
    """Layer sizes."""


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    """Nested part."""
    steps: int = 10
    """Number of steps."""
    flag: bool = False
    """A switch."""
    name: str | None = None
    """Optional name."""


def test_field_docs():
    assert field_docs(Inner) == {"lr": "Learning rate.", "kind": "Which kind.", "sizes": "Layer sizes."}
    keys = [k for k, _, _ in list_fields(Outer())]
    assert keys == ["inner.lr", "inner.kind", "inner.sizes", "steps", "flag", "name"]


def test_overrides_coerce_types():
    cfg = apply_overrides(Outer(), ["inner.lr=3e-4", "steps=2e3", "flag=true", "inner.kind=b",
                                    "inner.sizes=4,5,6", "name=x"])
    assert cfg.inner.lr == 3e-4 and cfg.steps == 2000 and cfg.flag is True
    assert cfg.inner.kind == "b" and cfg.inner.sizes == (4, 5, 6) and cfg.name == "x"
    assert Outer().steps == 10  # the original is untouched


def test_override_errors_list_choices():
    with pytest.raises(ConfigError, match="valid fields: inner.lr"):
        apply_overrides(Outer(), ["inner.nope=1"])
    with pytest.raises(ConfigError, match=r"\['a', 'b'\]"):
        apply_overrides(Outer(), ["inner.kind=c"])
    with pytest.raises(ConfigError, match="expected int"):
        apply_overrides(Outer(), ["steps=1.5"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(Outer(), ["steps"])


def test_round_trip():
    cfg = apply_overrides(Outer(), ["inner.sizes=3", "name=none"])
    again = from_dict(Outer, to_dict(cfg))
    assert again == cfg
    with pytest.raises(ConfigError, match="unknown keys"):
        from_dict(Outer, {"bogus": 1})
