"""jepa_world.objectives: energies and loss terms as pure functions plus thin nn.Module wrappers.

``REGULARIZERS`` maps the names users type to anti-collapse terms ``f(z) -> ()`` on one set of
embeddings, z (N, D) or a world-model latent sequence (B, T, D).
"""

from collections.abc import Callable

from torch import Tensor

from jepa_world.objectives.ema import EMATarget, cosine_momentum, ema_update
from jepa_world.objectives.idm import InverseDynamicsHead, idm_loss
from jepa_world.objectives.prediction import (
    DISTANCES,
    Distance,
    energy,
    multistep_prediction_loss,
    per_horizon_prediction_loss,
    prediction_energy,
)
from jepa_world.objectives.sigreg import SIGRegLoss, epps_pulley, epps_pulley_null_mean, sigreg
from jepa_world.objectives.temporal import temporal_smoothness
from jepa_world.objectives.vicreg import (
    VICRegLoss,
    covariance_term,
    invariance_term,
    temporal_vicreg_terms,
    variance_term,
    vicreg_loss,
    vicreg_regularizer,
)

REGULARIZERS: dict[str, Callable[[Tensor], Tensor]] = {
    "vicreg": vicreg_regularizer,
    "sigreg": sigreg,
}

__all__ = [
    "DISTANCES",
    "REGULARIZERS",
    "Distance",
    "EMATarget",
    "InverseDynamicsHead",
    "SIGRegLoss",
    "VICRegLoss",
    "cosine_momentum",
    "covariance_term",
    "ema_update",
    "energy",
    "epps_pulley",
    "epps_pulley_null_mean",
    "idm_loss",
    "invariance_term",
    "multistep_prediction_loss",
    "per_horizon_prediction_loss",
    "prediction_energy",
    "sigreg",
    "temporal_smoothness",
    "temporal_vicreg_terms",
    "variance_term",
    "vicreg_loss",
    "vicreg_regularizer",
]
