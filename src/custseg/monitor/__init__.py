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

Segment migration and drift (``docs/monitoring.md``):

* :func:`snapshot_features` (:mod:`~custseg.monitor.snapshots`): per-run feature
  distribution summaries and segment sizes and values, called by the pipeline;
* :func:`transition_matrix`, :func:`sizes_over_time`, :func:`sankey`
  (:mod:`~custseg.monitor.migration`): who moved between segments from one run to the next;
* :func:`drift_alerts` and :func:`psi` (:mod:`~custseg.monitor.drift`): size, feature and
  cluster drift alerts with ``[monitor]`` thresholds;
* :func:`history_section` (:mod:`~custseg.monitor.history`): the report's History section.
"""

from __future__ import annotations

from custseg.monitor import stats
from custseg.monitor.charts import campaign_section, forest_plot
from custseg.monitor.drift import Alert, drift_alerts, feature_psi, psi
from custseg.monitor.experiments import (
    CampaignMeasurement,
    SegmentLift,
    campaign_frame,
    measure_campaign,
    measure_tables,
    outcomes_from_orders,
)
from custseg.monitor.history import history_section
from custseg.monitor.holdouts import (
    HOLDOUTS_TABLE,
    Holdout,
    assign_holdout,
    create_holdout,
    holdout_exposures,
    list_holdouts,
    load_holdout,
)
from custseg.monitor.migration import (
    FlaggedFlow,
    Transition,
    flagged_flows,
    sankey,
    sizes_over_time,
    transition_matrix,
)
from custseg.monitor.snapshots import snapshot_features

__all__ = [
    "HOLDOUTS_TABLE",
    "Alert",
    "CampaignMeasurement",
    "FlaggedFlow",
    "Holdout",
    "SegmentLift",
    "Transition",
    "assign_holdout",
    "campaign_frame",
    "campaign_section",
    "create_holdout",
    "drift_alerts",
    "feature_psi",
    "flagged_flows",
    "forest_plot",
    "history_section",
    "holdout_exposures",
    "list_holdouts",
    "load_holdout",
    "measure_campaign",
    "measure_tables",
    "outcomes_from_orders",
    "psi",
    "sankey",
    "sizes_over_time",
    "snapshot_features",
    "stats",
    "transition_matrix",
]
