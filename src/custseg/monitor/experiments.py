"""Campaign measurement: lift per segment, with intervals, p-values and incremental value.

A campaign is a randomized experiment: each exposed customer is in the ``treatment`` arm
(sent the message) or the ``control`` arm (held out). For each segment, and for all
exposed customers together, :func:`measure_campaign` reports the conversion rate and the
revenue per customer in both arms, the absolute and relative lift with their intervals,
p-values with a Benjamini-Hochberg correction across segments, and the incremental
revenue and predicted CLV. Formulas and choices are in ``docs/measurement.md``.

Where the work happens:

* everything per customer is an Ibis expression (exposures joined to outcomes, or to
  the orders inside the attribution window, to the segments and to the predicted CLV);
* one grouped aggregation per segment and arm (counts, conversions, revenue and CLV
  sums) runs in the engine;
* only the **non-zero** revenues come to numpy, for the bootstrap: one value per
  converting customer (the zeros are implied by the counts, see
  :func:`custseg.monitor.stats.bootstrap_mean_diff_interval`). That is a few million
  values at most for very large campaigns, fine in memory.

A customer in several segments of the measured table (``rule`` segments can overlap) is
counted in each of them; the rows are then not independent, and the BH correction
assumes they are independent or positively dependent. Exposed customers in no segment
form the row ``(unsegmented)``.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np

from custseg.exceptions import DataError, SchemaError, UsageError, WorkspaceError
from custseg.monitor import stats

__all__ = [
    "ALL_SEGMENT",
    "ARMS",
    "UNSEGMENTED",
    "CampaignMeasurement",
    "SegmentLift",
    "campaign_frame",
    "measure_campaign",
    "measure_tables",
    "outcomes_from_orders",
]

log = logging.getLogger(__name__)

#: The two arms, as written in ``campaign_exposures.arm`` (case and spaces ignored).
ARMS: tuple[str, str] = ("treatment", "control")
#: Row of exposed customers in no segment of the measured table.
UNSEGMENTED = "(unsegmented)"
#: The segment name of the overall row (every exposed customer once).
ALL_SEGMENT = "(all)"
#: Default attribution window when outcomes are read from orders.
DEFAULT_WINDOW_DAYS = 14
#: Below this many customers with revenue in an arm, the bootstrap interval of the
#: revenue difference understates the uncertainty (it cannot resample values it has not
#: seen); the measurement adds a note naming those segments.
MIN_BOOTSTRAP_CONVERTERS = 5

Source = Literal["auto", "outcomes", "orders"]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SegmentLift:
    """The measured effect of a campaign in one segment (or overall).

    Rates and lifts are fractions (0.05 = 5 points); intervals are ``(lower, upper)`` at
    the measurement's confidence level. Values that cannot be computed (an empty arm, a
    ratio with a zero denominator) are None.

    Attributes
    ----------
    segment, title : str
        Key and display name.
    n_treatment, n_control : int
        Exposed customers per arm.
    conversions_treatment, conversions_control : int
        Converted customers per arm.
    rate_treatment, rate_control : float or None
        Conversion rates, with Wilson intervals ``rate_*_ci``.
    lift, lift_ci : float or None, tuple or None
        ``rate_treatment - rate_control`` with Newcombe's hybrid score interval.
    relative_lift, relative_lift_ci
        ``rate_treatment / rate_control - 1`` with the Katz log interval.
    p_value, p_method, q_value
        Two-sided p-value of equal rates (``z`` test or ``fisher``), and its
        Benjamini-Hochberg q-value across the segments of the measurement.
    revenue_treatment, revenue_control : float or None
        Revenue per exposed customer (converted or not).
    revenue_diff, revenue_diff_ci
        Their difference with a bootstrap interval.
    relative_revenue_lift : float or None
        ``revenue_treatment / revenue_control - 1``.
    p_revenue, q_revenue
        Welch t-test p-value of equal revenue per customer, and its BH q-value.
    incremental_revenue, incremental_revenue_ci
        ``revenue_diff * n_treatment``: the revenue the campaign added among the treated.
    clv_treatment, clv_control, incremental_clv
        Mean predicted CLV per exposed customer per arm, and
        ``(clv_treatment - clv_control) * n_treatment``.
    """

    segment: str
    title: str
    n_treatment: int
    n_control: int
    conversions_treatment: int
    conversions_control: int
    rate_treatment: float | None = None
    rate_control: float | None = None
    rate_treatment_ci: tuple[float, float] | None = None
    rate_control_ci: tuple[float, float] | None = None
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    relative_lift: float | None = None
    relative_lift_ci: tuple[float, float] | None = None
    p_value: float | None = None
    p_method: str | None = None
    q_value: float | None = None
    revenue_treatment: float | None = None
    revenue_control: float | None = None
    revenue_diff: float | None = None
    revenue_diff_ci: tuple[float, float] | None = None
    relative_revenue_lift: float | None = None
    p_revenue: float | None = None
    q_revenue: float | None = None
    incremental_revenue: float | None = None
    incremental_revenue_ci: tuple[float, float] | None = None
    clv_treatment: float | None = None
    clv_control: float | None = None
    incremental_clv: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-able dict (intervals as two-item lists)."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class CampaignMeasurement:
    """The result of :func:`measure_campaign`: one :class:`SegmentLift` per segment.

    Attributes
    ----------
    campaign_id : str
    by : str or None
        The segment family measured, ``"table"`` for a custom segment table, None for
        the overall row only.
    source : str
        ``outcomes`` (``campaign_outcomes``) or ``orders`` (orders in the window).
    started_at : datetime or None
        Start of the campaign (and of the attribution window).
    window_days : int or None
        The attribution window, for ``source="orders"``.
    confidence : float
    bootstrap : str
        ``bca`` or ``percentile``; ``n_boot`` replicates with seed ``seed``.
    clv_column : str or None
        The predicted CLV column used, None when ``customer_features`` lacks it.
    clv_as_of, segments_as_of : date or None
        As-of dates of the features and of the segment evaluation.
    overall : SegmentLift
        Every exposed customer once.
    segments : list of SegmentLift
        One per segment, in definition order; q-values are across these rows.
    notes : list of str
        Caveats found while measuring (e.g. features built after the campaign).
    """

    campaign_id: str
    by: str | None
    source: str
    started_at: datetime | None
    window_days: int | None
    confidence: float
    bootstrap: str
    n_boot: int
    seed: int
    clv_column: str | None
    clv_as_of: date | None
    segments_as_of: date | None
    overall: SegmentLift
    segments: list[SegmentLift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def segment(self, key: str) -> SegmentLift:
        """The row of one segment (by key or title).

        Raises
        ------
        UsageError
            If the measurement has no such segment.
        """
        for s in self.segments:
            if key in (s.segment, s.title):
                return s
        raise UsageError(
            f"no segment {key!r} in the measurement of {self.campaign_id}; it has "
            f"{', '.join(s.segment for s in self.segments) or 'none'}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The measurement as a JSON-able dict."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["overall"] = self.overall.to_dict()
        d["segments"] = [s.to_dict() for s in self.segments]
        return _jsonable(d)

    def to_frame(self) -> Any:
        """A pandas DataFrame: the segments, then the overall row."""
        import pandas as pd

        return pd.DataFrame([asdict(s) for s in [*self.segments, self.overall]])


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, datetime | date):
        return x.isoformat()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return x


# --------------------------------------------------------------------------- tables


def _need(table: ir.Table, columns: Sequence[str], what: str, hint: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{what} needs the column(s) {', '.join(missing)}; it has "
            f"{', '.join(table.columns) or 'none'}. {hint}"
        )


def outcomes_from_orders(
    exposures: ir.Table,
    orders: ir.Table,
    *,
    started_at: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> ir.Table:
    """Outcomes of exposed customers read from orders inside the attribution window.

    An order counts when it has the exposed customer's id, is not cancelled, and was
    placed at or after ``started_at`` and before ``started_at + window_days``; the same
    window for both arms (the control group was never sent anything, so a per-customer
    send time would bias the comparison).

    Parameters
    ----------
    exposures
        ``customer_id`` (one row per exposed customer).
    orders
        The canonical ``orders`` columns ``customer_id, ordered_at, status, total,
        refunded``.
    started_at
        Start of the window (timezone-aware, or naive UTC).
    window_days
        Length of the window in days (> 0).

    Returns
    -------
    ibis Table
        ``customer_id, converted (boolean), revenue (float64)``: one row per exposed
        customer with an order in the window; revenue is net of refunds.
    """
    if window_days <= 0:
        raise UsageError(f"window_days must be a positive number of days, got {window_days}.")
    _need(
        orders,
        ("customer_id", "ordered_at", "status", "total", "refunded"),
        "the orders table",
        "Pass the canonical orders table.",
    )
    start = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    begin = ibis.literal(start, type="timestamp('UTC')")
    end = begin + ibis.interval(days=window_days)
    status = orders.status.lower().strip()
    kept = orders.filter(
        orders.customer_id.notnull(),
        orders.ordered_at >= begin,
        orders.ordered_at < end,
        status.isnull() | (status != "cancelled"),
    )
    kept = kept.semi_join(exposures.select("customer_id"), "customer_id")
    net = kept.total.cast("float64").fill_null(0.0) - kept.refunded.cast("float64").fill_null(0.0)
    return (
        kept.mutate(_net=net)
        .group_by("customer_id")
        .aggregate(revenue=lambda t: t._net.sum())
        .mutate(converted=ibis.literal(True))
        .select("customer_id", "converted", "revenue")
    )


def campaign_frame(
    exposures: ir.Table,
    outcomes: ir.Table,
    *,
    segments: ir.Table | None = None,
    clv: ir.Table | None = None,
) -> ir.Table:
    """One row per exposed customer and segment: arm, outcome, predicted CLV.

    Parameters
    ----------
    exposures
        ``customer_id, arm`` of one campaign (unique customers).
    outcomes
        ``customer_id, converted, revenue``; an exposed customer without an outcome row
        did not convert (revenue 0), null ``converted`` is false and null ``revenue`` 0.
    segments
        ``customer_id, segment``; a customer in several segments gets a row in each,
        one in none gets :data:`UNSEGMENTED`. Default: every customer in
        :data:`ALL_SEGMENT`.
    clv
        ``customer_id, clv``; a missing or null value counts as 0 (customers without
        orders have no predicted CLV).

    Returns
    -------
    ibis Table
        ``customer_id, arm, segment, converted (int64 0/1), revenue (float64),
        clv (float64)``, with ``arm`` lower-cased and stripped.
    """
    _need(exposures, ("customer_id", "arm"), "exposures", "Pass campaign_exposures rows.")
    _need(
        outcomes,
        ("customer_id", "converted", "revenue"),
        "outcomes",
        "Pass campaign_outcomes rows or outcomes_from_orders(...).",
    )
    e = exposures.select("customer_id", arm=exposures.arm.lower().strip())
    o = outcomes.select(
        _o_id=outcomes.customer_id,
        _conv=outcomes.converted.cast("boolean"),
        _rev=outcomes.revenue.cast("float64"),
    )
    j = e.left_join(o, e.customer_id == o._o_id)
    frame = j.select(
        "customer_id",
        "arm",
        converted=j._conv.fill_null(False).ifelse(1, 0).cast("int64"),
        revenue=j._rev.fill_null(0.0),
    )
    if clv is not None:
        _need(clv, ("customer_id", "clv"), "the clv table", "Select customer_id and clv.")
        c = clv.select(_c_id=clv.customer_id, _clv=clv.clv.cast("float64"))
        jc = frame.left_join(c, frame.customer_id == c._c_id)
        frame = jc.select("customer_id", "arm", "converted", "revenue", clv=jc._clv.fill_null(0.0))
    else:
        frame = frame.mutate(clv=ibis.literal(0.0, type="float64"))
    if segments is None:
        return frame.mutate(segment=ibis.literal(ALL_SEGMENT)).select(
            "customer_id", "arm", "segment", "converted", "revenue", "clv"
        )
    _need(
        segments,
        ("customer_id", "segment"),
        "the segments table",
        "Pass a table of customer_id and segment, e.g. memberships.",
    )
    s = (
        segments.select(_s_id=segments.customer_id, _seg=segments.segment.cast("string"))
        .filter(lambda t: t._s_id.notnull())
        .distinct()
    )
    js = frame.left_join(s, frame.customer_id == s._s_id)
    return js.select(
        "customer_id",
        "arm",
        segment=js._seg.fill_null(UNSEGMENTED),
        converted=js.converted,
        revenue=js.revenue,
        clv=js.clv,
    )


def _arm_aggregates(frame: ir.Table) -> ir.Table:
    """Per segment and arm: n, conversions, revenue sum, CLV sum."""
    return frame.group_by(["segment", "arm"]).aggregate(
        n=frame.count(),
        conversions=frame.converted.sum(),
        revenue_sum=frame.revenue.sum(),
        clv_sum=frame.clv.sum(),
    )


# --------------------------------------------------------------------------- statistics


@dataclass
class _Arm:
    n: int = 0
    conversions: int = 0
    revenue_sum: float = 0.0
    clv_sum: float = 0.0
    nonzero: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def revenue_mean(self) -> float:
        return self.revenue_sum / self.n

    @property
    def revenue_var(self) -> float:
        """Sample variance (ddof=1): the non-zero values' squared deviations plus the zeros'."""
        if self.n < 2:
            return 0.0
        mean = self.revenue_mean
        ss = float(((self.nonzero - mean) ** 2).sum()) + (self.n - len(self.nonzero)) * mean**2
        return ss / (self.n - 1)


def _segment_seed(seed: int, segment: str) -> np.random.SeedSequence:
    """A per-segment stream: adding a segment does not change the others' intervals."""
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(segment.encode("utf-8")),))


def _lift_row(
    segment: str,
    title: str,
    t: _Arm,
    c: _Arm,
    *,
    confidence: float,
    n_boot: int,
    seed: int,
    bootstrap: stats.BootstrapMethod,
    has_clv: bool,
) -> SegmentLift:
    base = dict(
        segment=segment,
        title=title,
        n_treatment=t.n,
        n_control=c.n,
        conversions_treatment=t.conversions,
        conversions_control=c.conversions,
    )
    out: dict[str, Any] = {}
    if t.n:
        out["rate_treatment"] = t.conversions / t.n
        out["rate_treatment_ci"] = stats.wilson_interval(t.conversions, t.n, confidence=confidence)
        out["revenue_treatment"] = t.revenue_mean
        if has_clv:
            out["clv_treatment"] = t.clv_sum / t.n
    if c.n:
        out["rate_control"] = c.conversions / c.n
        out["rate_control_ci"] = stats.wilson_interval(c.conversions, c.n, confidence=confidence)
        out["revenue_control"] = c.revenue_mean
        if has_clv:
            out["clv_control"] = c.clv_sum / c.n
    if t.n and c.n:
        rt, rc = out["rate_treatment"], out["rate_control"]
        out["lift"] = rt - rc
        out["lift_ci"] = stats.newcombe_interval(
            t.conversions, t.n, c.conversions, c.n, confidence=confidence
        )
        if rc > 0:
            out["relative_lift"] = rt / rc - 1.0
        out["relative_lift_ci"] = stats.relative_lift_interval(
            t.conversions, t.n, c.conversions, c.n, confidence=confidence
        )
        out["p_value"], out["p_method"] = stats.two_proportion_pvalue(
            t.conversions, t.n, c.conversions, c.n
        )
        diff = t.revenue_mean - c.revenue_mean
        out["revenue_diff"] = diff
        out["incremental_revenue"] = diff * t.n
        if c.revenue_mean > 0:
            out["relative_revenue_lift"] = t.revenue_mean / c.revenue_mean - 1.0
        out["p_revenue"] = stats.welch_pvalue(
            t.revenue_mean, t.revenue_var, t.n, c.revenue_mean, c.revenue_var, c.n
        )
        lo, hi = stats.bootstrap_mean_diff_interval(
            t.nonzero,
            c.nonzero,
            n_treatment=t.n,
            n_control=c.n,
            confidence=confidence,
            n_boot=n_boot,
            seed=_segment_seed(seed, segment),
            method=bootstrap,
        )
        out["revenue_diff_ci"] = (lo, hi)
        out["incremental_revenue_ci"] = (lo * t.n, hi * t.n)
        if has_clv:
            out["incremental_clv"] = (out["clv_treatment"] - out["clv_control"]) * t.n
    return SegmentLift(**base, **out)


def _collect(
    frame: ir.Table,
) -> dict[str, dict[str, _Arm]]:
    """Run the aggregation and fetch the non-zero revenues: ``{segment: {arm: _Arm}}``."""
    agg = _arm_aggregates(frame).to_pyarrow().to_pylist()
    arms_seen = sorted({r["arm"] for r in agg if r["arm"] not in ARMS}, key=str)
    if arms_seen:
        raise DataError(
            f"unknown arm value(s) {', '.join(map(repr, arms_seen))} in the exposures; "
            "expected 'treatment' (sent) or 'control' (held out). Fix the arm column of "
            "campaign_exposures and load it again."
        )
    out: dict[str, dict[str, _Arm]] = {}
    for r in agg:
        out.setdefault(r["segment"], {a: _Arm() for a in ARMS})[r["arm"]] = _Arm(
            n=int(r["n"]),
            conversions=int(r["conversions"] or 0),
            revenue_sum=float(r["revenue_sum"] or 0.0),
            clv_sum=float(r["clv_sum"] or 0.0),
        )
    nz = frame.filter(frame.revenue != 0.0).select("segment", "arm", "revenue").to_pyarrow()
    if nz.num_rows:
        grouped = nz.group_by(["segment", "arm"]).aggregate([("revenue", "list")])
        for s, a, values in zip(
            grouped["segment"].to_pylist(),
            grouped["arm"].to_pylist(),
            grouped["revenue_list"].to_pylist(),
            strict=True,
        ):
            # Sorted: the engine returns rows in no fixed order, and the bootstrap
            # resamples by position, so the same seed must see the same sequence.
            out[s][a].nonzero = np.sort(np.asarray(values, dtype=np.float64))
    return out


def measure_tables(
    exposures: ir.Table,
    outcomes: ir.Table,
    *,
    segments: ir.Table | None = None,
    clv: ir.Table | None = None,
    titles: dict[str, str] | None = None,
    order: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    bootstrap: stats.BootstrapMethod = "bca",
) -> tuple[SegmentLift, list[SegmentLift]]:
    """Measure a campaign from tables, without a workspace.

    Parameters
    ----------
    exposures
        ``customer_id, arm`` (``treatment`` or ``control``), one row per customer.
    outcomes
        ``customer_id, converted, revenue`` (see :func:`campaign_frame`).
    segments
        ``customer_id, segment``; default: only the overall row.
    clv
        ``customer_id, clv`` (predicted CLV), optional.
    titles
        Display name per segment key (default: the key).
    order
        Segment keys in display order; others follow alphabetically, then
        :data:`UNSEGMENTED`.
    confidence, n_boot, seed, bootstrap
        See :func:`measure_campaign`.

    Returns
    -------
    tuple
        ``(overall, segments)``: the overall :class:`SegmentLift` and one per segment,
        with BH q-values across the segments.

    Raises
    ------
    DataError
        An arm other than treatment or control, or a customer exposed twice.
    """
    overall, rows, _ = _measure(
        exposures,
        outcomes,
        segments=segments,
        clv=clv,
        titles=titles,
        order=order,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        bootstrap=bootstrap,
    )
    return overall, rows


def _measure(
    exposures: ir.Table,
    outcomes: ir.Table,
    *,
    segments: ir.Table | None,
    clv: ir.Table | None,
    titles: dict[str, str] | None,
    order: Sequence[str] | None,
    confidence: float,
    n_boot: int,
    seed: int,
    bootstrap: stats.BootstrapMethod,
) -> tuple[SegmentLift, list[SegmentLift], list[str]]:
    """:func:`measure_tables`, plus the titles of rows with too few converters to bootstrap."""
    stats.z_value(confidence)
    if bootstrap not in ("bca", "percentile"):
        raise UsageError(f"bootstrap must be 'bca' or 'percentile', got {bootstrap!r}.")
    if n_boot < 100:
        raise UsageError(f"n_boot must be at least 100, got {n_boot}.")
    check = exposures.aggregate(n=exposures.count(), distinct=exposures.customer_id.nunique())
    counts = check.to_pyarrow().to_pylist()[0]
    if counts["n"] == 0:
        raise DataError("the campaign has no exposures: nobody to measure.")
    if counts["n"] != counts["distinct"]:
        raise DataError(
            f"the exposures have {counts['n']} rows but {counts['distinct']} distinct customers; "
            "each customer must be exposed once per campaign (in one arm). Deduplicate them."
        )
    titles = titles or {}
    kw = dict(
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        bootstrap=bootstrap,
        has_clv=clv is not None,
    )
    overall_arms = _collect(campaign_frame(exposures, outcomes, clv=clv))[ALL_SEGMENT]
    overall = _lift_row(
        ALL_SEGMENT,
        "All exposed customers",
        overall_arms["treatment"],
        overall_arms["control"],
        **kw,
    )
    thin = [overall.title] if _thin(overall_arms) else []
    if segments is None:
        return overall, [], thin
    per = _collect(campaign_frame(exposures, outcomes, segments=segments, clv=clv))
    rank = {k: i for i, k in enumerate(order or ())}
    keys = sorted(per, key=lambda k: (k == UNSEGMENTED, rank.get(k, len(rank)), str(k)))
    rows = [
        _lift_row(k, titles.get(k, k), per[k]["treatment"], per[k]["control"], **kw) for k in keys
    ]
    q = stats.benjamini_hochberg([r.p_value for r in rows])
    q_rev = stats.benjamini_hochberg([r.p_revenue for r in rows])
    rows = [
        _replace_q(r, qc, qr) for r, qc, qr in zip(rows, q.tolist(), q_rev.tolist(), strict=True)
    ]
    thin = [r.title for r in rows if _thin(per[r.segment])] + thin
    return overall, rows, thin


def _thin(arms: dict[str, _Arm]) -> bool:
    t, c = arms["treatment"], arms["control"]
    return bool(t.n and c.n) and min(len(t.nonzero), len(c.nonzero)) < MIN_BOOTSTRAP_CONVERTERS


def _replace_q(row: SegmentLift, q: float, q_rev: float) -> SegmentLift:
    from dataclasses import replace

    return replace(
        row,
        q_value=None if math.isnan(q) else q,
        q_revenue=None if math.isnan(q_rev) else q_rev,
    )


# --------------------------------------------------------------------------- workspace


def _started_at(con: Any, campaign_id: str, exposures: ir.Table | None) -> datetime | None:
    if "campaigns" in con.list_tables():
        c = con.table("campaigns")
        v = c.filter(c.campaign_id == campaign_id).started_at.min().to_pyarrow().as_py()
        if v is not None:
            return v
    if exposures is not None and "sent_at" in exposures.columns:
        return exposures.sent_at.min().to_pyarrow().as_py()
    return None


def _known_campaigns(con: Any) -> str:
    ids: set[str] = set()
    for name in ("campaigns", "campaign_exposures"):
        if name in con.list_tables():
            t = con.table(name)
            ids.update(t.select("campaign_id").distinct().limit(20).to_pyarrow()[0].to_pylist())
    return ", ".join(sorted(i for i in ids if i)) or "none"


def _segments_for(ws: Any, by: str) -> tuple[ir.Table, dict[str, str], list[str], date | None]:
    from custseg.segments.registry import MEMBERSHIPS_TABLE, load_definitions

    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments "
            "evaluate` first, or measure without --by."
        )
    m = con.table(MEMBERSHIPS_TABLE)
    fams = m.select("family").distinct().to_pyarrow()[0].to_pylist()
    if by not in fams:
        raise UsageError(
            f"no evaluated segments of family {by!r}; the evaluated families are "
            f"{', '.join(sorted(f for f in fams if f)) or 'none'}."
        )
    sel = m.filter(m.family == by)
    as_of = sel.as_of.max().to_pyarrow().as_py() if "as_of" in sel.columns else None
    defs = [d for d in load_definitions(ws) if d.family == by]
    titles = {d.name: d.title for d in defs}
    return sel.select("customer_id", "segment"), titles, [d.name for d in defs], as_of


def _clv_for(ws: Any, clv_column: str) -> tuple[ir.Table | None, date | None]:
    con = ws.connect()
    if "customer_features" not in con.list_tables():
        return None, None
    f = con.table("customer_features")
    if clv_column not in f.columns:
        return None, None
    as_of = f.as_of.max().to_pyarrow().as_py() if "as_of" in f.columns else None
    return f.select("customer_id", clv=f[clv_column]), as_of


def measure_campaign(
    ws: Any,
    campaign_id: str,
    *,
    by: str | ir.Table | None = None,
    source: Source = "auto",
    window_days: int = DEFAULT_WINDOW_DAYS,
    started_at: datetime | None = None,
    holdout: str | None = None,
    clv_column: str = "clv_365d",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    bootstrap: stats.BootstrapMethod = "bca",
) -> CampaignMeasurement:
    """Measure a campaign of the workspace, overall and per segment.

    Parameters
    ----------
    ws : Workspace
        The workspace.
    campaign_id
        The campaign (``campaign_exposures.campaign_id``).
    by
        A segment family of the evaluated ``memberships`` (``rfm``, ``clv_tier``,
        ``churn_risk``, ``due_soon``, ``cluster``, ``rule``), or any Ibis table of
        ``customer_id, segment``; default: only the overall row.
    source
        ``outcomes``: ``campaign_outcomes``; ``orders``: orders in the attribution
        window (:func:`outcomes_from_orders`); ``auto`` (default): outcomes when the
        campaign has any, else orders.
    window_days
        Attribution window for ``source="orders"``.
    started_at
        Start of the window; default ``campaigns.started_at``, then the first
        ``sent_at``.
    holdout
        A holdout id (:func:`custseg.monitor.create_holdout`): its arms are the
        exposures, for a campaign sent to the holdout's treatment customers.
    clv_column
        Predicted CLV column of ``customer_features``.
    confidence
        Two-sided confidence level of every interval.
    n_boot, seed, bootstrap
        Bootstrap replicates, seed and method (``bca`` or ``percentile``) of the
        revenue interval.

    Returns
    -------
    CampaignMeasurement

    Raises
    ------
    UsageError
        Unknown campaign, family or source.
    DataError
        Bad exposures (unknown arm, duplicates).
    """
    if source not in ("auto", "outcomes", "orders"):
        raise UsageError(f"source must be auto, outcomes or orders, got {source!r}.")
    con = ws.connect()
    tables = set(con.list_tables())
    if holdout is not None:
        from custseg.monitor.holdouts import holdout_exposures

        exposures = holdout_exposures(ws, holdout, campaign_id=campaign_id)
    else:
        if "campaign_exposures" not in tables:
            raise UsageError(
                f"the workspace has no campaign_exposures table, so campaign {campaign_id!r} "
                "cannot be measured; load the exposures (custseg ingest) or pass a holdout."
            )
        ex = con.table("campaign_exposures")
        exposures = ex.filter(ex.campaign_id == campaign_id)
        if exposures.count().to_pyarrow().as_py() == 0:
            raise UsageError(
                f"no exposures for campaign {campaign_id!r}; the campaigns in the workspace "
                f"are: {_known_campaigns(con)}."
            )
    notes: list[str] = []
    outcomes: ir.Table | None = None
    used = source
    if source in ("auto", "outcomes") and "campaign_outcomes" in tables:
        oc = con.table("campaign_outcomes")
        oc = oc.filter(oc.campaign_id == campaign_id)
        if source == "outcomes" or oc.count().to_pyarrow().as_py() > 0:
            outcomes, used = oc, "outcomes"
    if outcomes is None and source == "outcomes":
        raise UsageError(
            f"the workspace has no campaign_outcomes table for {campaign_id!r}; "
            "use --source orders to read outcomes from orders in the attribution window."
        )
    start = started_at or _started_at(con, campaign_id, exposures)
    if outcomes is None:
        used = "orders"
        if "orders" not in tables:
            raise UsageError(
                f"campaign {campaign_id!r} has no outcomes and the workspace has no orders "
                "to read them from; load campaign_outcomes or orders."
            )
        if start is None:
            raise UsageError(
                f"campaign {campaign_id!r} has no start date (campaigns.started_at or "
                "sent_at) to open the attribution window; pass started_at."
            )
        outcomes = outcomes_from_orders(
            exposures, con.table("orders"), started_at=start, window_days=window_days
        )
    seg_table: ir.Table | None = None
    titles: dict[str, str] = {}
    order: list[str] = []
    seg_as_of: date | None = None
    by_name: str | None = None
    if isinstance(by, str):
        seg_table, titles, order, seg_as_of = _segments_for(ws, by)
        by_name = by
    elif by is not None:
        seg_table, by_name = by, "table"
    clv, clv_as_of = _clv_for(ws, clv_column)
    start_day = start.date() if start is not None else None
    if clv is None:
        notes.append(
            f"customer_features has no {clv_column}: incremental predicted CLV not computed."
        )
    elif start_day is not None and clv_as_of is not None and clv_as_of >= start_day:
        notes.append(
            f"predicted CLV is from features as of {clv_as_of}, on or after the campaign "
            f"start ({start_day}): it includes the campaign's effect on purchases, so the "
            "incremental CLV measures the value added after the campaign."
        )
    if start_day is not None and seg_as_of is not None and seg_as_of >= start_day:
        notes.append(
            f"segments were evaluated as of {seg_as_of}, on or after the campaign start "
            f"({start_day}); if the campaign changed who is in a segment, its lift there "
            "is biased. Evaluate segments as of a date before the campaign for a clean read."
        )
    overall, rows, thin = _measure(
        exposures,
        outcomes,
        segments=seg_table,
        clv=clv,
        titles=titles,
        order=order,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        bootstrap=bootstrap,
    )
    if thin:
        notes.append(
            "fewer than "
            f"{MIN_BOOTSTRAP_CONVERTERS} customers with revenue in an arm of: {', '.join(thin)}; "
            "their revenue intervals understate the uncertainty (the bootstrap cannot "
            "resample revenues it has not seen). Read their conversion lift instead."
        )
    log.info(
        "measured %s (%s, %d segments): lift %s",
        campaign_id,
        used,
        len(rows),
        overall.lift,
    )
    return CampaignMeasurement(
        campaign_id=campaign_id,
        by=by_name,
        source=used,
        started_at=start,
        window_days=window_days if used == "orders" else None,
        confidence=confidence,
        bootstrap=bootstrap,
        n_boot=n_boot,
        seed=seed,
        clv_column=clv_column if clv is not None else None,
        clv_as_of=clv_as_of,
        segments_as_of=seg_as_of,
        overall=overall,
        segments=rows,
        notes=notes,
    )
