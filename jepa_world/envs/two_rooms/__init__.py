"""Two Rooms: a point agent in two rooms joined by a door in a wall (PLDM's and EB-JEPA's benchmark).

One module per part: ``geometry`` (arena, wall, door, free space, layouts), ``ebjepa`` and ``physics`` (EB-JEPA's
collision rule and the strict one, and the choice between them), ``render`` (frames), ``shift`` (worlds the
offline data never showed: gain, drift, obstacles, narrow door), ``batch`` (the batched torch core, episodes),
``env`` (the gymnasium wrapper) and ``oracle`` (the exact dynamics as a world model, an upper bound for planners).
"""

from jepa_world.envs.two_rooms.batch import Episodes, TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms.env import TwoRoomsEnv

__all__ = ["Episodes", "TwoRoomsBatch", "TwoRoomsConfig", "TwoRoomsEnv", "sample_episodes"]
