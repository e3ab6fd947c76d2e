"""The collapse verdict of an image-SSL method: its representation and its embedding.

Two sets of vectors are checked with :func:`~jepa_world.objectives.collapse.collapse_report`:

* the **representation** (backbone output, what the probes use), *centred* (its mean subtracted),
  with the default :class:`~jepa_world.objectives.collapse.CollapseThresholds` (complete and dimensional
  collapse). A common offset is harmless to a linear probe and grows large in healthy SimSiam and
  I-JEPA ViTs (the uncentred normalised std then falls low while the probe reads well: docs/ssl.md), so it
  is not counted against the representation; collapse to a point is still caught, by the
  embedding check and by the centred spread vanishing (dead dimensions, effective rank 0);
* the **embedding** the objective sees (projector output, DINO bottleneck, I-JEPA target tokens)
  with :data:`EMBEDDING_THRESHOLDS`: complete collapse only (a point, one direction, or mostly dead
  dimensions). Healthy BYOL/SimSiam projections use few of their many dimensions (an effective rank
  of ~12 of 256 on the digits) and must not be called collapsed for it.

A method is "collapsed" when either check fires.

Examples:
    >>> import torch
    >>> verdict(*collapse_reports(torch.randn(256, 16), torch.zeros(256, 8)))
    'collapsed'
    >>> verdict(*collapse_reports(torch.randn(256, 16), torch.randn(256, 8)))
    'healthy'
"""

from __future__ import annotations

from torch import Tensor

from jepa_world.objectives.collapse import CollapseReport, CollapseThresholds, collapse_report

REPRESENTATION_THRESHOLDS = CollapseThresholds()
"""Rules for the representation: the library defaults."""
EMBEDDING_THRESHOLDS = CollapseThresholds(min_rank_fraction=0.0)
"""Rules for the embedding: the defaults without the rank-fraction (dimensional collapse) rule."""


def collapse_reports(representation: Tensor, embedding: Tensor) -> tuple[CollapseReport, CollapseReport]:
    """Reports of the centred representation (N, D) and the embedding (M, K) under their thresholds."""
    centred = representation - representation.mean(dim=0, keepdim=True)
    return (collapse_report(centred, thresholds=REPRESENTATION_THRESHOLDS),
            collapse_report(embedding, thresholds=EMBEDDING_THRESHOLDS))


def verdict(representation: CollapseReport, embedding: CollapseReport) -> str:
    """``"collapsed"`` if either report is collapsed, else ``"healthy"``."""
    return "collapsed" if representation.collapsed or embedding.collapsed else "healthy"
