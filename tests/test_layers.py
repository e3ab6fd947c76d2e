"""DESIGN.md's layer rule: imports only go *up* the list of layers (data flows down it).

The list is DESIGN.md's with one layer added, ``runs`` (loading run directories back into objects),
between ``presets`` and ``cli``: it needs both the method rebuilders of presets and the checkpoints of
train, and eval takes objects, not run directories (docs/architecture.md).

Every module under ``jepa_world/`` is parsed with ``ast``; each ``import`` (at module level or inside a
function) of another ``jepa_world`` module is checked against :data:`LAYERS`. A module may import its
own layer and any layer before it in the list, never one after it.

Top-level helper modules sit in the list too:

- ``config.py`` (typed dataclass configs) and ``errors.py`` (which exceptions are user errors) are
  importable from everywhere: layer ``base``, before ``envs``;
- ``gym_registration.py`` registers the gymnasium ids of ``envs``: it sits with ``envs``;
- ``output_paths.py`` (outputs checked before long work) is used by ``cli``: it sits with ``cli``;
- ``__init__.py`` runs ``gym_registration`` on ``import jepa_world``: it sits with ``envs``.

Violations that exist today and are not fixed yet are listed in :data:`ALLOWED`: that list may only
shrink; any new violation fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jepa_world"

LAYERS = ("base", "envs", "data", "nn", "objectives", "methods", "baselines", "planning", "adapt", "eval", "train",
          "presets", "runs", "cli")
"""The layers, lowest first: a module imports only its own layer and layers before it."""

HELPERS = {"config": "base", "errors": "base", "gym_registration": "envs", "__init__": "envs",
           "output_paths": "cli", "cli": "cli"}
"""Top-level modules of ``jepa_world/`` and the layer each sits in."""

ALLOWED: set[tuple[str, str]] = set()
"""Known violations, (importer, imported) module pairs: remove each one fixed, never add one."""


def layer_of(module: str) -> str:
    """``jepa_world.planning.mpc`` -> ``planning``; top-level helpers -> their layer of :data:`HELPERS`."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    if head in HELPERS:
        return HELPERS[head]
    if head not in LAYERS:
        raise ValueError(f"{module}: {head!r} is neither a layer {LAYERS} nor a helper {sorted(HELPERS)}")
    return head


def module_name(path: Path) -> str:
    """``.../jepa_world/planning/mpc.py`` -> ``jepa_world.planning.mpc`` (a package's ``__init__`` -> the package)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str) -> set[str]:
    """The ``jepa_world`` modules ``source`` (the text of ``module``) imports, at any depth of the tree."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}")}
    return {m for m in found if m == "jepa_world" or m.startswith("jepa_world.")}


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def violations(imports: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs whose imported module sits in a later layer than its importer."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    return {(src, dst) for src, dsts in imports.items() for dst in dsts
            if rank[layer_of(dst)] > rank[layer_of(src)]}


def package_imports() -> dict[str, set[str]]:
    """Module name -> the jepa_world modules it imports, for every module under ``jepa_world/``."""
    return {module_name(p): imported_modules(p.read_text(), module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_sits_in_a_layer():
    for module in package_imports():
        layer_of(module)


def test_imports_only_go_up_the_layers():
    new = violations(package_imports()) - ALLOWED
    assert not new, "imports going down the layers (see DESIGN.md):\n" + "\n".join(
        f"  {a} -> {b}" for a, b in sorted(new))


def test_allowlist_only_shrinks():
    stale = ALLOWED - violations(package_imports())
    assert not stale, "fixed violations still allowlisted, remove them from ALLOWED:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in sorted(stale))


def test_checker_catches_a_new_violation():
    source = "import torch\nfrom jepa_world.planning.mpc import MPCAgent\n\ndef f():\n    from jepa_world import cli\n"
    imports = {"jepa_world.envs.fake": imported_modules(source, "jepa_world.envs.fake"),
               "jepa_world.eval.fake": {"jepa_world.planning.mpc", "jepa_world.config"}}
    assert violations(imports) - ALLOWED == {("jepa_world.envs.fake", "jepa_world.planning.mpc"),
                                             ("jepa_world.envs.fake", "jepa_world.cli")}
