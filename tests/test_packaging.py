"""A plain `pip install jepa-world` has what the library imports; CI smoke-tests the built wheel."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def _imported_top_level_modules() -> set[str]:
    """Top-level names of every module imported anywhere in jepa_world (function-level imports included)."""
    names = set()
    for path in (ROOT / "jepa_world").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"jepa_world"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {_normalized(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) for d in deps}


def test_every_imported_package_is_a_runtime_dependency():
    dists = packages_distributions()
    imported = _imported_top_level_modules()
    unknown = sorted(m for m in imported if m not in dists)
    assert not unknown, f"imported by jepa_world but not installed here: {unknown}"
    needed = {_normalized(dists[m][0]) for m in imported}
    missing = sorted(needed - _declared() - _optional_envs())
    assert not missing, f"jepa_world imports these but pyproject's dependencies lack them: {missing}"


def _optional_envs() -> set[str]:
    """Packages of the environment extras (imported on first use only, e.g. envs/pusht/package.py)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set().union(*(_declared(x) for x in project["optional-dependencies"] if x != "dev"))


def test_the_core_imports_without_the_environment_extras():
    """No module of jepa_world imports an extra's package at module level (only inside the functions that use it),
    so ``import jepa_world`` and every command that does not use the extra work without it."""
    extras = {"gym_pusht", "pygame", "pymunk"}
    found = []
    for path in (ROOT / "jepa_world").rglob("*.py"):
        for node in ast.parse(path.read_text(), str(path)).body:  # module level only
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in extras]
    assert not found, f"module-level imports of an optional extra: {found}"


def test_torch_is_installed_first_and_pinned_in_the_wheel_smoke():
    script = (ROOT / ".ci" / "wheel_smoke.sh").read_text()
    torch_at = script.index("install --quiet torch==2.13.0")
    assert torch_at < script.index(".whl"), "torch must be installed (pinned) before the wheel"
    assert re.search(r'/jepa-world"? presets', script) and re.search(r'/jepa-world"? demo', script)
    assert re.search(r'/jepa-world"? train --preset', script), "every preset goes through the console script"


def test_ci_runs_the_wheel_smoke_after_the_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("wheel-smoke")
    assert "wheel-smoke:" in (ROOT / "Makefile").read_text()
