"""PointMaze (gymnasium-robotics, MuJoCo) from pixels: an adapter over the package's own env, an optional extra.

Nothing here imports gymnasium-robotics or mujoco at import time: :func:`package.require` does, when an env is
built, and without the extra it raises one :class:`~jepa_world.errors.UserError` naming
``pip install "jepa-world[pointmaze]"``.

- ``layout``: the mazes (UMaze, Medium), their free cells and cell <-> position conversions;
- ``episodes``: start/goal pairs in free cells and their sampler (the evaluation protocol);
- ``camera``: the fixed top-down orthographic view, goal marker hidden;
- ``batch``: :class:`PointMazeBatch`, N package envs stepped together behind the evaluator's ``GoalEnv``.
"""

from jepa_world.envs.pointmaze.batch import PointMazeBatch, PointMazeConfig
from jepa_world.envs.pointmaze.episodes import PointMazeEpisodes, sample_episodes
from jepa_world.envs.pointmaze.layout import MAZES

__all__ = ["MAZES", "PointMazeBatch", "PointMazeConfig", "PointMazeEpisodes", "sample_episodes"]
