"""Segment profiles, their charts, and the offline HTML report (``custseg.profiles``).

* :func:`profile_segments` / :func:`profile_segment` (:mod:`~custseg.profiles.stats`):
  the profile of each segment against the population, computed in the engine in a few
  grouped Ibis queries for all segments at once;
* :class:`SegmentProfile` (:mod:`~custseg.profiles.model`): the result, plain data with a
  documented JSON form (``to_dict`` / ``from_dict``); :func:`compare` puts several
  segments side by side;
* :mod:`~custseg.profiles.charts`: functions returning Plotly figures of a profile;
* :class:`ReportSection`, :func:`segment_sections`, :func:`write_report`
  (:mod:`~custseg.profiles.report`): one self-contained offline HTML report assembled
  from sections.

Example::

    from custseg.profiles import profile_segments, segment_sections, write_report
    con = ws.connect()
    profiles = profile_segments(
        con.table("customer_features"), memberships,
        orders=con.table("orders"), order_lines=con.table("order_lines"),
    )
    write_report("report.html", segment_sections(profiles))

See ``docs/profiles.md``.
"""

from __future__ import annotations

from custseg.profiles import charts
from custseg.profiles.model import (
    CategoryShare,
    ClvHistogram,
    Distinction,
    Distribution,
    FeatureStat,
    HistogramBin,
    ItemLift,
    SegmentProfile,
    TopItems,
    compare,
)
from custseg.profiles.report import (
    ReportSection,
    html_table,
    overview_section,
    render_report,
    segment_section,
    segment_sections,
    write_report,
)
from custseg.profiles.stats import profile_segment, profile_segments

__all__ = [
    "CategoryShare",
    "ClvHistogram",
    "Distinction",
    "Distribution",
    "FeatureStat",
    "HistogramBin",
    "ItemLift",
    "ReportSection",
    "SegmentProfile",
    "TopItems",
    "charts",
    "compare",
    "html_table",
    "overview_section",
    "profile_segment",
    "profile_segments",
    "render_report",
    "segment_section",
    "segment_sections",
    "write_report",
]
