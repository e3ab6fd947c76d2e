"""The gym-pusht package, imported on first use: the optional extra ``jepa-world[pusht]``.

``import jepa_world`` and every other command work without it; asking for PushT without it raises one
:class:`~jepa_world.errors.UserError` line that names the pip command. pygame draws off-screen
(``SDL_VIDEODRIVER=dummy`` unless the user set a driver), so no display is needed.
"""

from __future__ import annotations

import os
from typing import Any

from jepa_world.errors import UserError

EXTRA = 'pip install "jepa-world[pusht]"'
"""The command that installs what this environment needs."""


def pusht_env_class() -> Any:
    """gym-pusht's ``PushTEnv`` class; UserError naming :data:`EXTRA` when the package is missing."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        from gym_pusht.envs.pusht import PushTEnv
    except ImportError as e:
        raise UserError(f"the PushT environment needs gym-pusht, pymunk<7 and pygame ({e}); "
                        f"install them with: {EXTRA}") from e
    return PushTEnv


def draw_options_class() -> Any:
    """gym-pusht's pygame ``DrawOptions`` (how it paints a pymunk space), for goal-free frames."""
    pusht_env_class()
    from gym_pusht.envs.pymunk_override import DrawOptions

    return DrawOptions


def make_pusht_env() -> Any:
    """One package env that returns states (5,) and draws on request (render size chosen by our renderer)."""
    return pusht_env_class()(obs_type="state", render_mode="rgb_array")
