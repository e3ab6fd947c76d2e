"""Typed dataclass configs: field docs, ``key=value`` overrides, dict round-trip.

Every config in the project is a (possibly nested) dataclass with a docstring under each field.
The CLI lists fields with their docs and applies overrides such as ``train.lr=3e-4``; a run saves
its resolved config as JSON and :func:`from_dict` rebuilds it.

Examples:
    >>> from jepa_world.train.config import TrainConfig
    >>> apply_overrides(TrainConfig(), ["lr=0.5", "betas=(0.8, 0.9)"]).betas
    (0.8, 0.9)
    >>> from_dict(TrainConfig, to_dict(TrainConfig(steps=7))).steps
    7
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A bad override or config dict; the message lists the valid choices."""


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (inherited ones included)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _resolved_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(text: str, typ: Any, key: str) -> Any:
    """Parse ``text`` as a value of type ``typ`` (bool, int, float, str, Literal, Optional, tuple)."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(text, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError("; ".join(errors))
    if origin is typing.Literal:
        for a in args:
            if str(a) == text:
                return a
        raise ConfigError(f"{key}: {text!r} is not one of {list(args)}")
    if origin in (tuple, list):
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        inner = args[0] if args else str
        vals = [_coerce(p.strip(), inner, key) for p in parts]
        return tuple(vals) if origin is tuple else vals
    if typ is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected a boolean (true/false), got {text!r}")
    if typ in (int, float):
        try:
            val = float(text) if typ is float else int(float(text)) if "e" in text.lower() else int(text)
        except ValueError as e:
            raise ConfigError(f"{key}: expected {typ.__name__}, got {text!r}") from e
        if typ is int and isinstance(val, float) and not val.is_integer():
            raise ConfigError(f"{key}: expected int, got {text!r}")
        return typ(val)
    if typ is str:
        return text
    raise ConfigError(f"{key}: cannot parse a value of type {typ}")


def list_fields(cfg: Any, prefix: str = "") -> list[tuple[str, Any, str]]:
    """All leaf fields of a nested dataclass instance as (dotted_key, value, doc)."""
    out: list[tuple[str, Any, str]] = []
    docs = field_docs(type(cfg))
    for f in dataclasses.fields(cfg):
        val = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(val):
            out.extend(list_fields(val, key + "."))
        else:
            out.append((key, val, docs.get(f.name, "")))
    return out


def apply_overrides(cfg: T, overrides: list[str]) -> T:
    """Return a copy of ``cfg`` with ``key=value`` overrides applied (dotted keys for nesting).

    Raises ConfigError naming the valid keys when a key is unknown.
    """
    cfg = from_dict(type(cfg), to_dict(cfg))
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value (e.g. train.lr=3e-4)")
        key, text = item.split("=", 1)
        *path, leaf = key.strip().split(".")
        obj: Any = cfg
        for i, part in enumerate(path):
            sub = getattr(obj, part, None) if dataclasses.is_dataclass(obj) else None
            if not dataclasses.is_dataclass(sub):
                raise ConfigError(_unknown(key, cfg))
            obj = sub
            _ = i
        names = {f.name for f in dataclasses.fields(obj)}
        if leaf not in names or dataclasses.is_dataclass(getattr(obj, leaf)):
            raise ConfigError(_unknown(key, cfg))
        setattr(obj, leaf, _coerce(text.strip(), _resolved_types(type(obj))[leaf], key))
    validate = getattr(cfg, "validate", None)
    if callable(validate):
        validate()
    return cfg


def _unknown(key: str, cfg: Any) -> str:
    valid = ", ".join(k for k, _, _ in list_fields(cfg))
    return f"unknown config field {key!r}; valid fields: {valid}"


def to_dict(cfg: Any) -> dict[str, Any]:
    """Nested dataclass -> plain JSON-able dict."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild dataclass ``cls`` from :func:`to_dict` output, checking it against the dataclass.

    Every field must be present (a missing key is never silently replaced by its default: a saved
    run must rebuild exactly what it trained) and hold a value of the field's type; unknown keys are
    an error too. All problems, nested ones included, are listed in one ConfigError. The one exception:
    a field added after runs were saved declares (:func:`added_field`) the value that reproduces what
    those runs did without it, and a dict that lacks it gets that value, not the default.
    """
    problems = dict_problems(cls, data)
    if problems:
        raise ConfigError(f"{cls.__name__}: " + "; ".join(problems))
    return _build(cls, data)


def dict_problems(cls: type, data: Any, prefix: str = "") -> list[str]:
    """What keeps ``data`` from being a complete, well-typed dict of dataclass ``cls`` (empty: nothing)."""
    where = prefix.rstrip(".") or cls.__name__
    if not isinstance(data, dict):
        return [f"{where}: expected a dict for {cls.__name__}, got {type(data).__name__}"]
    hints = _resolved_types(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    problems = []
    extra = sorted(set(data) - set(names))
    if extra:
        problems.append(f"unknown keys {[prefix + k for k in extra]} (valid: {sorted(names)})")
    missing = [prefix + name for name in names if name not in data and ABSENT not in _field(cls, name).metadata]
    if missing:
        problems.append(f"missing keys {missing}")
    for name in names:
        if name in data:
            problems.extend(_value_problems(data[name], hints[name], prefix + name))
    return problems


def _value_problems(value: Any, typ: Any, key: str) -> list[str]:
    if dataclasses.is_dataclass(typ):
        return dict_problems(typ, value, key + ".")  # type: ignore[arg-type]
    if _matches(value, typ):
        return []
    return [f"{key}: expected {_type_name(typ)}, got {type(value).__name__} {value!r}"]


def _matches(value: Any, typ: Any) -> bool:
    """Whether a JSON-loaded ``value`` fits type ``typ`` (tuples arrive as lists; ints fit floats)."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if typ is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin in (tuple, list):
        return isinstance(value, list | tuple) and _items_match(value, args, variadic=origin is list)
    if origin is dict or typ is dict:
        return isinstance(value, dict)
    if typ is type(None):
        return value is None
    if typ is bool:
        return isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if dataclasses.is_dataclass(typ):
        return not dict_problems(typ, value)  # type: ignore[arg-type]
    return isinstance(value, typ) if isinstance(typ, type) else True


def _items_match(value: list | tuple, args: tuple, *, variadic: bool) -> bool:
    if not args:
        return True
    if variadic or (len(args) == 2 and args[1] is Ellipsis):
        return all(_matches(v, args[0]) for v in value)
    return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args, strict=True))


def _type_name(typ: Any) -> str:
    return typ.__name__ if isinstance(typ, type) else str(typ).replace("typing.", "")


ABSENT = "absent"
"""dataclass field metadata key: the value a saved dict without the field stands for (:func:`added_field`)."""


def added_field(default: Any, *, absent: Any) -> Any:
    """A config field added after runs were saved: ``default`` for new configs, ``absent`` (what the older runs
    did, e.g. ``False`` for a new option they never had) when a saved dict lacks the key.

    Examples:
        >>> @dataclasses.dataclass
        ... class Old:
        ...     lr: float = 0.1
        ...     gather: bool = added_field(True, absent=False)
        >>> from_dict(Old, {"lr": 0.5})
        Old(lr=0.5, gather=False)
        >>> Old()
        Old(lr=0.1, gather=True)
    """
    return dataclasses.field(default=default, metadata={ABSENT: absent})


def _field(cls: type, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)  # type: ignore[arg-type]


def _build(cls: type[T], data: dict[str, Any]) -> T:
    hints = _resolved_types(cls)
    kwargs: dict[str, Any] = {f.name: f.metadata[ABSENT] for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                              if f.init and f.name not in data and ABSENT in f.metadata}
    for name, val in data.items():
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            kwargs[name] = _build(typ, val)  # type: ignore[arg-type]
        elif typing.get_origin(typ) is tuple and isinstance(val, list):
            kwargs[name] = tuple(val)
        else:
            kwargs[name] = val
    return cls(**kwargs)
