"""Segments (``custseg.segments``): ways to put customers into named groups.

* :func:`score_rfm` / :func:`rfm_segments`: R, F and M scores (quantiles, fixed
  thresholds or natural breaks) and the 11 named RFM groups of :data:`RFM_GROUPS`, a
  replaceable score-range table matched in order. See ``docs/rfm.md``.
"""

from __future__ import annotations

from custseg.segments.rfm import (
    PROSPECTS,
    RFM_GROUPS,
    IncompleteGroupsError,
    RfmGroup,
    natural_breaks,
    rfm_group_counts,
    rfm_segments,
    score_rfm,
)

__all__ = [
    "IncompleteGroupsError",
    "PROSPECTS",
    "RFM_GROUPS",
    "RfmGroup",
    "natural_breaks",
    "rfm_group_counts",
    "rfm_segments",
    "score_rfm",
]
