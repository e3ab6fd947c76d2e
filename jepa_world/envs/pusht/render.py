"""Frames of one gym-pusht env at a chosen size, with or without the package's goal region.

The package paints every frame on a 512 x 512 pygame surface: white, the fixed goal pose of the T in
light green (always at (256, 256, pi / 4) in gym-pusht), then the walls, block and agent. With
``show_goal=False`` the same space is painted by the package's own ``DrawOptions`` without the green
region, as DINO-WM's ``with_target=False``: our goals are other states, given as goal observations, and
a fixed green T would show a goal that is not the episode's. The surface is then scaled to
``size x size`` by pygame's ``smoothscale`` (an averaging filter: thin lines survive at 64 px).

Examples:
    >>> from jepa_world.envs.pusht.package import make_pusht_env
    >>> env = make_pusht_env()
    >>> _ = env.reset(seed=0)
    >>> render_frame(env, 64).shape, render_frame(env, 64).dtype.name
    ((3, 64, 64), 'uint8')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jepa_world.envs.pusht.package import draw_options_class

WORKSPACE = 512
"""Side of the package's square drawing surface (px); states are in these units."""


def surface(env: Any, *, show_goal: bool) -> Any:
    """The env drawn on a 512 x 512 pygame surface (the package's drawing, its goal region optional)."""
    if show_goal:
        return env._draw()
    import pygame

    screen = pygame.Surface((WORKSPACE, WORKSPACE))
    screen.fill((255, 255, 255))
    env.space.debug_draw(draw_options_class()(screen))
    return screen


def render_frame(env: Any, size: int, *, show_goal: bool = False) -> np.ndarray:
    """The env's frame (3, size, size) uint8 RGB."""
    import pygame

    screen = surface(env, show_goal=show_goal)
    if size != WORKSPACE:
        screen = pygame.transform.smoothscale(screen, (size, size))
    return np.ascontiguousarray(pygame.surfarray.array3d(screen).transpose(2, 1, 0))  # (W, H, 3) -> (3, H, W)
