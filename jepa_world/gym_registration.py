"""The environments' gymnasium ids, registered by ``import jepa_world`` (string entry points: nothing heavy is
imported until ``gym.make``), so ``gym.make("jepa_world/TwoRooms-v0")`` needs no other import.

``gym.make_vec(ID, num_envs=N)`` uses the batched torch core through ``envs.vector`` (one core stepping N
episodes) instead of N single envs; ``max_episode_steps`` is each env's own episode length.

Examples:
    >>> import gymnasium as gym
    >>> gym.spec(TWO_ROOMS_ID).max_episode_steps, gym.spec(MAZE_ID).max_episode_steps
    (200, 80)
"""

from __future__ import annotations

import gymnasium as gym

TWO_ROOMS_ID = "jepa_world/TwoRooms-v0"
MAZE_ID = "jepa_world/Maze-v0"

SPECS = {
    TWO_ROOMS_ID: ("jepa_world.envs.two_rooms:TwoRoomsEnv", "jepa_world.envs.vector:TwoRoomsVectorEnv", 200),
    MAZE_ID: ("jepa_world.envs.maze:MazeEnv", "jepa_world.envs.vector:MazeVectorEnv", 80),
}
"""id -> (single-env entry point, vector entry point, max_episode_steps: the env's default episode length)."""


def register_envs() -> None:
    """Register every id in SPECS with gymnasium (once; later calls do nothing)."""
    for env_id, (entry, vector_entry, steps) in SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, vector_entry_point=vector_entry, max_episode_steps=steps)
