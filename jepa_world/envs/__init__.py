"""Environments, simulated in batched torch; registered with gymnasium by ``import jepa_world``
(``jepa_world.gym_registration``: single envs and vector envs over the batched cores)."""

from jepa_world.envs.maze import MazeEnv
from jepa_world.envs.maze.batch import MazeBatch, MazeConfig, MazeEpisodes
from jepa_world.envs.two_rooms import TwoRoomsEnv
from jepa_world.envs.two_rooms.batch import Episodes, TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.vector import MazeVectorEnv, TwoRoomsVectorEnv
from jepa_world.gym_registration import MAZE_ID as MAZE_ENV_ID
from jepa_world.gym_registration import TWO_ROOMS_ID as ENV_ID

__all__ = ["ENV_ID", "MAZE_ENV_ID", "Episodes", "MazeBatch", "MazeConfig", "MazeEnv", "MazeEpisodes",
           "MazeVectorEnv", "TwoRoomsBatch", "TwoRoomsConfig", "TwoRoomsEnv", "TwoRoomsVectorEnv", "sample_episodes"]
