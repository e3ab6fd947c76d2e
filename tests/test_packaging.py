"""A plain `pip install jepa-world` has what the library imports; CI smoke-tests the built wheel."""

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


EXTRAS = {"envs/pointmaze": "pointmaze", "envs/pusht": "pusht"}
"""Folders of jepa_world (relative) whose modules may also import the packages of an optional extra."""


def _imported_top_level_modules(folder: str | None = None) -> set[str]:
    """Top-level names of every module imported in jepa_world (function-level imports included): in ``folder``
    only, or, with None, everywhere outside the folders of :data:`EXTRAS`."""
    names = set()
    for path in (ROOT / "jepa_world").rglob("*.py"):
        rel = path.relative_to(ROOT / "jepa_world").as_posix()
        inside = [f for f in EXTRAS if rel.startswith(f + "/")]
        if (folder is None and inside) or (folder is not None and folder not in inside):
            continue
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
    missing = sorted(needed - _declared())
    assert not missing, f"jepa_world imports these but pyproject's dependencies lack them: {missing}"


@pytest.mark.parametrize("folder", sorted(EXTRAS))
def test_an_extra_declares_what_its_folder_imports(folder):
    dists = packages_distributions()
    imported = _imported_top_level_modules(folder)
    if any(m not in dists for m in imported):
        pytest.skip(f"the extra {EXTRAS[folder]!r} is not installed here")
    declared = _declared() | _declared(EXTRAS[folder])
    missing = sorted(m for m in imported if not {_normalized(d) for d in dists[m]} & declared)
    assert not missing, f"jepa_world/{folder} imports these but the extra {EXTRAS[folder]!r} lacks them: {missing}"


def test_importing_the_library_and_cli_loads_no_extra():
    code = ("import sys, jepa_world, jepa_world.cli, jepa_world.envs.pointmaze; "
            "print(sorted(m for m in ('mujoco', 'gymnasium_robotics') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"

def test_the_core_imports_without_the_environment_extras():
    """No module of jepa_world imports an extra's package at module level (only inside the functions that use it),
    so ``import jepa_world`` and every command that does not use the extra work without it."""
    extras = {"gym_pusht", "pygame", "pymunk", "mujoco", "gymnasium_robotics"}
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
