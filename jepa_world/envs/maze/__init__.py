"""The maze environment: R x R rooms joined by doors, a point agent drawn as a blob.

One module per part: ``layout`` (which doors are open), ``geometry`` (rooms, walls, door slots), ``paths``
(shortest door paths between rooms), ``render`` (frames), ``batch`` (the batched torch core, episodes),
``env`` (the gymnasium wrapper) and ``oracle`` (the exact dynamics as a world model, an upper bound for planners).
"""

from jepa_world.envs.maze.batch import MazeBatch, MazeConfig, MazeEpisodes
from jepa_world.envs.maze.env import MazeEnv

__all__ = ["MazeBatch", "MazeConfig", "MazeEnv", "MazeEpisodes"]
