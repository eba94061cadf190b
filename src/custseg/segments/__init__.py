"""Segments (``custseg.segments``): ways to put customers into named groups.

* :func:`score_rfm` / :func:`rfm_segments`: R, F and M scores (quantiles, fixed
  thresholds or natural breaks) and the 11 named RFM groups of :data:`RFM_GROUPS`, a
  replaceable score-range table matched in order. See ``docs/rfm.md``.
* :mod:`~custseg.segments.dsl`: the segment language (``docs/segment-language.md``).
* :mod:`~custseg.segments.registry`: definitions (built-ins, ``custseg.toml``,
  ``segments/*.seg``), exclusive groups, :func:`evaluate` into ``memberships``, backtests.
* :mod:`~custseg.segments.predictive`: CLV tiers, churn-risk bands, due soon.
* :mod:`~custseg.segments.clustering`: explainable clustering estimators.
* :mod:`~custseg.segments.objectives`: objective presets and opportunity sizing.
See ``docs/segments.md``.
"""

from __future__ import annotations

from custseg.segments.registry import (
    SegmentDefinition,
    evaluate,
    load_definitions,
    rule_context,
)
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
    "SegmentDefinition",
    "evaluate",
    "load_definitions",
    "rule_context",
    "PROSPECTS",
    "RFM_GROUPS",
    "RfmGroup",
    "natural_breaks",
    "rfm_group_counts",
    "rfm_segments",
    "score_rfm",
]
