"""Environments, simulated in batched torch; registered with gymnasium at import."""

import gymnasium as gym

from jepa_world.envs.maze import MazeEnv
from jepa_world.envs.maze_batch import MazeBatch, MazeConfig, MazeEpisodes
from jepa_world.envs.two_rooms import TwoRoomsEnv
from jepa_world.envs.two_rooms_batch import Episodes, TwoRoomsBatch, TwoRoomsConfig, sample_episodes

ENV_ID = "jepa_world/TwoRooms-v0"
MAZE_ENV_ID = "jepa_world/Maze-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="jepa_world.envs.two_rooms:TwoRoomsEnv", max_episode_steps=None)
if MAZE_ENV_ID not in gym.registry:
    gym.register(id=MAZE_ENV_ID, entry_point="jepa_world.envs.maze:MazeEnv", max_episode_steps=None)

__all__ = ["ENV_ID", "MAZE_ENV_ID", "Episodes", "MazeBatch", "MazeConfig", "MazeEnv", "MazeEpisodes", "TwoRoomsBatch",
           "TwoRoomsConfig", "TwoRoomsEnv", "sample_episodes"]
