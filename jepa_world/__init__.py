"""jepa-world: JEPA encoders, latent world models and planning by MPC in representation space."""

from jepa_world.gym_registration import register_envs

__version__ = "0.1.0"

register_envs()  # gym.make("jepa_world/TwoRooms-v0") after `import jepa_world`
