"""jepa-world: JEPA encoders, latent world models and planning by MPC in representation space."""

__version__ = "0.1.0"
