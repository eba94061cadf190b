"""Monitoring what segments and campaigns did (``custseg.monitor``).

Campaign measurement:

* :func:`measure_campaign` (:mod:`~custseg.monitor.experiments`): lift per segment of a
  randomized campaign, with Wilson/Newcombe intervals for conversion rates, a bootstrap
  interval for revenue per customer, Benjamini-Hochberg q-values across segments, and
  the incremental revenue and predicted CLV; :func:`measure_tables` does the same on
  plain tables;
* :func:`create_holdout` (:mod:`~custseg.monitor.holdouts`): a reproducible control group
  for the next campaign, stratified by segment, stored and exported;
* :func:`forest_plot` and :func:`campaign_section` (:mod:`~custseg.monitor.charts`): the
  report;
* :mod:`~custseg.monitor.stats`: the statistics, pure numpy/scipy.

See ``docs/measurement.md``.
"""

from __future__ import annotations

from custseg.monitor import stats
from custseg.monitor.charts import campaign_section, forest_plot
from custseg.monitor.experiments import (
    CampaignMeasurement,
    SegmentLift,
    campaign_frame,
    measure_campaign,
    measure_tables,
    outcomes_from_orders,
)
from custseg.monitor.holdouts import (
    HOLDOUTS_TABLE,
    Holdout,
    assign_holdout,
    create_holdout,
    holdout_exposures,
    list_holdouts,
    load_holdout,
)

__all__ = [
    "HOLDOUTS_TABLE",
    "CampaignMeasurement",
    "Holdout",
    "SegmentLift",
    "assign_holdout",
    "campaign_frame",
    "campaign_section",
    "create_holdout",
    "forest_plot",
    "holdout_exposures",
    "list_holdouts",
    "load_holdout",
    "measure_campaign",
    "measure_tables",
    "outcomes_from_orders",
    "stats",
]
