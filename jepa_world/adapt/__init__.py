"""jepa_world.adapt: learning where planning falls short: the latent critic's fitting and online world-model
adjustment (replay buffer, adjustment steps; the loop that calls them between blocks of episodes is
eval/online.py). It sits above planning/ (it fits what the planners use) and below eval/."""
