"""from_dict checks a saved config against its dataclass: missing keys and ill-typed values (issue 11)."""

from dataclasses import dataclass, field

import pytest

from jepa_world.config import ConfigError, from_dict, to_dict
from jepa_world.presets import PRESETS, load_builtin_presets


@dataclass
class Encoder:
    input_mean: tuple[float, ...] = ()
    """Per-channel mean subtracted from inputs (empty: none)."""
    width: int = 8
    """Channels."""


@dataclass
class Model:
    encoder: Encoder = field(default_factory=Encoder)
    """The encoder."""
    kind: str = "a"
    """Which model."""
    dropout: float = 0.0
    """Dropout rate."""
    name: str | None = None
    """Optional name."""


def test_missing_keys_are_listed_not_defaulted():
    saved = to_dict(Model(encoder=Encoder(input_mean=(0.5, 0.25))))
    del saved["encoder"]["input_mean"]
    del saved["dropout"]
    with pytest.raises(ConfigError, match=r"missing keys \['encoder.input_mean'\]") as info:
        from_dict(Model, saved)
    assert "missing keys ['dropout']" in str(info.value)


def test_ill_typed_values_are_listed_in_one_error():
    saved = to_dict(Model())
    saved["encoder"]["width"] = "8"
    saved["encoder"]["input_mean"] = [0.5, "x"]
    saved["dropout"] = True
    with pytest.raises(ConfigError) as info:
        from_dict(Model, saved)
    message = str(info.value)
    assert "encoder.width: expected int, got str '8'" in message
    assert "encoder.input_mean: expected tuple[float, ...]" in message
    assert "dropout: expected float, got bool True" in message
    assert "\n" not in message


def test_well_typed_json_values_are_accepted():
    saved = {"encoder": {"input_mean": [1, 0.5], "width": 3}, "kind": "b", "dropout": 1, "name": None}
    assert from_dict(Model, saved) == Model(Encoder((1, 0.5), 3), "b", 1, None)


def test_every_preset_config_round_trips():
    load_builtin_presets()
    for name, preset in sorted(PRESETS.items()):
        cfg = preset.config()
        assert from_dict(type(cfg), to_dict(cfg)) == cfg, name
