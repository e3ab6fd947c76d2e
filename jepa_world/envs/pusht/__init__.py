"""PushT (gym-pusht) from pixels: an adapter over the package, the optional extra ``jepa-world[pusht]``.

Importing this subpackage needs nothing extra; the package is imported when an env is made
(:mod:`jepa_world.envs.pusht.package` names the pip command when it is missing).
"""

from jepa_world.envs.pusht.batch import PushTBatch, PushTConfig, PushTEpisodes, sample_episodes
from jepa_world.envs.pusht.success import pusht_distance

__all__ = ["PushTBatch", "PushTConfig", "PushTEpisodes", "pusht_distance", "sample_episodes"]
