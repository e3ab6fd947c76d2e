"""jepa_world.adapt: learning where planning falls short: the latent critic's fitting (and, later, online
world-model adjustment). It sits above planning/ (it fits what the planners use) and below eval/."""
