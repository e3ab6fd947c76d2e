"""Doctest collection of ``jepa_world`` (``pytest --doctest-modules jepa_world``): the modules of an environment
extra that is not installed are left out, as their tests skip (tests/test_pusht_*.py)."""

from importlib.util import find_spec

collect_ignore_glob = [] if find_spec("gym_pusht") else ["jepa_world/envs/pusht/*.py", "jepa_world/data/pusht_*.py"]
