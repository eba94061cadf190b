"""RFM scoring and the named RFM groups.

:func:`score_rfm` adds ``r_score``, ``f_score`` and ``m_score`` (1 to ``bins``, 5 by
default), ``rfm_score`` (e.g. ``"545"``) and ``rfm_group`` to a customer feature table.
Scores come from quantiles (computed in the engine), fixed thresholds, or natural breaks
(Jenks, computed in Python on a sample and applied in the engine as thresholds).
:data:`RFM_GROUPS` is the default, replaceable table of the 11 named groups, matched in
order (first match wins). Customers with no orders (null recency) are ``"Prospects"``.

The full rules, including how ties are scored, are in ``docs/rfm.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np

from custseg.exceptions import ConfigError, DataError, SchemaError, UsageError

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

Method = Literal["quantile", "fixed", "jenks"]
METHODS: tuple[str, ...] = ("quantile", "fixed", "jenks")
METRICS: tuple[str, ...] = ("recency", "frequency", "monetary")
PROSPECTS = "Prospects"
SCORE_COLUMNS: tuple[str, ...] = ("r_score", "f_score", "m_score", "rfm_score", "rfm_group")

_FEATURES_HINT = (
    "Build the table with custseg.features (one row per customer), or name your columns "
    "with recency=..., frequency=..., monetary=...."
)
# Jenks: at most this many points enter the O(k * m^2) dynamic program; beyond it,
# consecutive sorted values are merged into chunks (exact sums, so exact costs per chunk).
_JENKS_MAX_POINTS = 2_000


class IncompleteGroupsError(ConfigError):
    """An RFM group table leaves some score cells without a group.

    ``uncovered`` holds the cells: ``(r, f)`` pairs, or ``(r, f, m)`` triples where
    only some monetary scores of a pair are uncovered.
    """

    def __init__(self, message: str, uncovered: Sequence[tuple[int, ...]]) -> None:
        super().__init__(message)
        self.uncovered = tuple(uncovered)


@dataclass(frozen=True)
class RfmGroup:
    """One named RFM group: inclusive score ranges, a description and an action hint.

    Parameters
    ----------
    name
        The group's name, e.g. ``"Champions"``.
    r, f
        Inclusive ``(low, high)`` ranges of ``r_score`` and ``f_score``.
    m
        Inclusive range of ``m_score``; ``None`` means any.
    description
        Who is in the group.
    action
        What to do with them.
    """

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int] | None = None
    description: str = ""
    action: str = ""

    def matches(self, r: int, f: int, m: int) -> bool:
        """Whether the scores ``(r, f, m)`` fall in this group's ranges."""
        m_ok = self.m is None or self.m[0] <= m <= self.m[1]
        return self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1] and m_ok


#: The default group table, in precedence order: the first group whose ranges contain a
#: customer's scores wins. The order reproduces the widely used R x F segment map (see
#: ``docs/rfm.md`` for the resulting 5 x 5 grid); every group is reachable.
RFM_GROUPS: tuple[RfmGroup, ...] = (
    RfmGroup(
        "Champions",
        r=(4, 5),
        f=(4, 5),
        description="Bought recently, buy often and spend the most.",
        action="Reward them; early access to new products; ask for reviews and referrals.",
    ),
    RfmGroup(
        "Can't Lose Them",
        r=(1, 2),
        f=(4, 5),
        description="Used to buy often, but have not come back for a long time.",
        action="Win them back with renewals or newer products; talk to them; don't lose them.",
    ),
    RfmGroup(
        "Lost",
        r=(1, 1),
        f=(1, 1),
        description="Lowest recency and frequency.",
        action="Revive interest with a reach-out campaign; otherwise ignore.",
    ),
    RfmGroup(
        "Hibernating",
        r=(1, 2),
        f=(1, 2),
        description="Last purchase long ago, few orders.",
        action="Offer other relevant products and special discounts; recreate brand value.",
    ),
    RfmGroup(
        "At Risk",
        r=(1, 2),
        f=(2, 5),
        description="Bought fairly often, but a long time ago.",
        action="Send personalized e-mails to reconnect; offer renewals and helpful resources.",
    ),
    RfmGroup(
        "About To Sleep",
        r=(2, 3),
        f=(1, 2),
        description="Below-average recency and frequency; will be lost if not reactivated.",
        action="Share valuable resources; recommend popular products; renewals at discount.",
    ),
    RfmGroup(
        "Need Attention",
        r=(2, 3),
        f=(2, 3),
        description="Average recency and frequency; may not have bought very recently.",
        action="Make limited-time offers; recommend based on past purchases; reactivate.",
    ),
    RfmGroup(
        "Promising",
        r=(3, 4),
        f=(1, 1),
        description="Recent shoppers who have not bought much yet.",
        action="Create brand awareness; offer free trials.",
    ),
    RfmGroup(
        "New Customers",
        r=(4, 5),
        f=(1, 1),
        description="Bought most recently, but not often.",
        action="Provide on-boarding support; give them early success; build a relationship.",
    ),
    RfmGroup(
        "Potential Loyalist",
        r=(3, 5),
        f=(1, 3),
        description="Recent customers with average frequency.",
        action="Offer membership or a loyalty program; recommend other products.",
    ),
    RfmGroup(
        "Loyal Customers",
        r=(2, 5),
        f=(3, 5),
        description="Buy regularly and respond to promotions.",
        action="Upsell higher-value products; ask for reviews; engage them.",
    ),
)


# --------------------------------------------------------------------------- validation


def _check_columns(features: ir.Table, columns: Mapping[str, str]) -> None:
    schema = features.schema()
    missing = [f"{role}={name!r}" for role, name in columns.items() if name not in schema]
    if missing:
        got = ", ".join(repr(c) for c in list(schema.names)[:20]) or "none"
        raise SchemaError(
            f"score_rfm needs the column(s) {', '.join(missing)}, which the table lacks "
            f"(it has {got}). {_FEATURES_HINT}"
        )
    for role, name in columns.items():
        if role == "customer_id":
            continue
        dtype = schema[name]
        if not dtype.is_numeric():
            raise SchemaError(
                f"Column {name!r} ({role}) must be numeric, got {dtype}. {_FEATURES_HINT}"
            )


def _check_options(method: str, bins: object) -> None:
    if method not in METHODS:
        raise UsageError(f"method options are {list(METHODS)}, got: {method!r}")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 9:
        raise UsageError(
            f"bins must be an integer from 2 to 9 (scores are one digit), got {bins!r}"
        )


def _check_thresholds(
    method: str, bins: int, thresholds: Mapping[str, Sequence[float]] | None
) -> dict[str, list[float]] | None:
    if method != "fixed":
        if thresholds is not None:
            raise UsageError(
                f"thresholds are only used with method='fixed', got method={method!r}; "
                "drop thresholds= or pass method='fixed'"
            )
        return None
    example = '{"recency": [30, 90, 180, 365], "frequency": [2, 3, 5, 10], ...}'
    if not isinstance(thresholds, Mapping):
        raise UsageError(
            f"method='fixed' needs thresholds={example} with {bins - 1} cut points per "
            f"metric, got {thresholds!r}"
        )
    unknown = sorted(set(thresholds) - set(METRICS))
    missing = [k for k in METRICS if k not in thresholds]
    if unknown or missing:
        raise UsageError(
            f"thresholds must have exactly the keys {list(METRICS)}; "
            f"missing {missing}, unknown {unknown}"
        )
    out: dict[str, list[float]] = {}
    for key in METRICS:
        cuts = list(thresholds[key])
        ok = len(cuts) == bins - 1 and all(
            isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c)
            for c in cuts
        )
        if not ok or any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
            raise UsageError(
                f"thresholds[{key!r}] must be {bins - 1} finite numbers in strictly "
                f"increasing order (bins={bins}), got {cuts!r}"
            )
        out[key] = cuts
    return out


def _cell_label(cell: tuple[int, ...]) -> str:
    names = ("r", "f", "m")
    return "(" + ", ".join(f"{n}={v}" for n, v in zip(names, cell, strict=False)) + ")"


def _check_groups(groups: Sequence[RfmGroup] | None, bins: int) -> tuple[RfmGroup, ...]:
    """Return the group table after checking that it covers every score cell."""
    if groups is None:
        if bins != 5:
            raise UsageError(
                f"The default RFM_GROUPS are defined on scores 1-5, but bins={bins}; "
                f"pass groups=... covering scores 1-{bins}, or use bins=5"
            )
        return RFM_GROUPS
    groups = tuple(groups)
    if not groups:
        raise ConfigError("groups is empty; pass RfmGroup rows, e.g. custseg.segments.RFM_GROUPS")
    names = [g.name for g in groups]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"Group names must be unique; repeated: {dupes}")
    if PROSPECTS in names:
        raise ConfigError(
            f"{PROSPECTS!r} is reserved for customers with no orders; rename that group"
        )
    for g in groups:
        if not isinstance(g, RfmGroup):
            raise ConfigError(f"groups must hold RfmGroup rows, got {g!r}")
        for axis, rng in (("r", g.r), ("f", g.f), ("m", g.m)):
            if rng is None and axis == "m":
                continue
            lo, hi = rng
            if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= bins):
                raise ConfigError(
                    f"Group {g.name!r}: {axis}={rng!r} must be (low, high) with "
                    f"1 <= low <= high <= {bins}"
                )
    uncovered = _uncovered_cells(groups, bins)
    if uncovered:
        shown = ", ".join(_cell_label(c) for c in uncovered[:30])
        more = f" and {len(uncovered) - 30} more" if len(uncovered) > 30 else ""
        raise IncompleteGroupsError(
            f"The RFM group table leaves {len(uncovered)} score cell(s) without a group: "
            f"{shown}{more}. Widen a group's ranges or add a catch-all last row, e.g. "
            f"RfmGroup('Other', r=(1, {bins}), f=(1, {bins})).",
            uncovered,
        )
    return groups


def _uncovered_cells(groups: Sequence[RfmGroup], bins: int) -> list[tuple[int, ...]]:
    """Cells no group matches: ``(r, f)`` when no m is covered, else ``(r, f, m)``."""
    out: list[tuple[int, ...]] = []
    scores = range(1, bins + 1)
    for r in scores:
        for f in scores:
            missing_m = [m for m in scores if not any(g.matches(r, f, m) for g in groups)]
            if len(missing_m) == bins:
                out.append((r, f))
            else:
                out.extend((r, f, m) for m in missing_m)
    return out


def _check_data(
    features: ir.Table, *, recency: str, frequency: str, monetary: str, customer_id: str | None
) -> None:
    """One query: F and M are present for every customer with an order; ids are unique."""
    t = features
    scored = t[recency].notnull()
    aggs = {
        "null_f": (scored & t[frequency].isnull()).sum(),
        "null_m": (scored & t[monetary].isnull()).sum(),
    }
    if customer_id is not None:
        aggs["n"] = t.count()
        aggs["n_ids"] = t[customer_id].nunique()
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    for key, col in (("null_f", frequency), ("null_m", monetary)):
        if row[key]:
            raise DataError(
                f"{row[key]} customer(s) with a {recency!r} (so with orders) have a null "
                f"{col!r}; scores need a value. Fill it (0 for counts and sums, as "
                f"custseg.features does) before scoring."
            )
    if customer_id is not None and row["n"] != row["n_ids"]:
        raise DataError(
            f"{customer_id!r} must be unique: {row['n']} rows but {row['n_ids']} distinct "
            "ids. Aggregate to one row per customer (custseg.features does) first."
        )


# --------------------------------------------------------------------------- Jenks


def natural_breaks(values: Sequence[float] | np.ndarray, n_classes: int) -> list[float]:
    """Fisher-Jenks natural breaks: the optimal split of ``values`` into classes.

    Minimizes the total within-class sum of squared deviations with Fisher's exact
    dynamic program over the sorted distinct values (weighted by their counts).

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        The values; NaN are ignored.
    n_classes
        The number of classes wanted; fewer are returned if there are fewer distinct
        values.

    Returns
    -------
    list of float
        The lower bound of every class but the first, ascending: a value ``v`` is in
        class ``1 + sum(v >= b for b in breaks)``. Empty when there is one class.

    Examples
    --------
    >>> natural_breaks([1, 2, 3, 50, 51, 52, 100, 101], 3)
    [50.0, 100.0]
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if n_classes < 1:
        raise UsageError(f"n_classes must be at least 1, got {n_classes}")
    if x.size == 0:
        return []
    ux, counts = np.unique(x, return_counts=True)
    return _fisher_breaks(ux, counts.astype(float), n_classes)


def _fisher_breaks(ux: np.ndarray, counts: np.ndarray, n_classes: int) -> list[float]:
    """Breaks of the sorted distinct values ``ux`` with weights ``counts``."""
    center = float(np.average(ux, weights=counts))
    xc = ux - center
    lows = ux
    w, s, q = counts, counts * xc, counts * xc * xc
    if ux.size > _JENKS_MAX_POINTS:
        # Merge consecutive values into chunks. A chunk keeps its exact sums, so a class's
        # cost stays exact; only the possible break points are restricted to chunk starts:
        # half of them at the largest gaps between values (where natural breaks fall when
        # groups are well apart), half at equal-weight positions (resolution everywhere).
        half = _JENKS_MAX_POINTS // 2
        gaps = np.argsort(-np.diff(ux), kind="stable")[: half - 1] + 1
        cum = np.cumsum(counts)
        even = np.searchsorted(cum, np.linspace(0, cum[-1], half + 1)[1:-1]) + 1
        starts = np.unique(np.concatenate([[0], gaps, even]))
        starts = starts[starts < ux.size]
        lows = ux[starts]
        w, s, q = (np.add.reduceat(a, starts) for a in (w, s, q))
    m = lows.size
    k = min(n_classes, m)
    if k <= 1:
        return []
    cw, cs, cq = (np.concatenate([[0.0], np.cumsum(a)]) for a in (w, s, q))

    def cost(i: np.ndarray | int, j: int) -> np.ndarray:
        """Within-class SSD of points i..j-1 (vectorized over i)."""
        ww = cw[j] - cw[i]
        ss = cs[j] - cs[i]
        return np.maximum(cq[j] - cq[i] - ss * ss / ww, 0.0)

    best = np.full((k + 1, m + 1), np.inf)
    back = np.zeros((k + 1, m + 1), dtype=np.int64)
    best[1, 1:] = [cost(0, j) for j in range(1, m + 1)]
    for c in range(2, k + 1):
        for j in range(c, m + 1):
            i = np.arange(c - 1, j)
            total = best[c - 1, i] + cost(i, j)
            pick = int(np.argmin(total))
            best[c, j] = total[pick]
            back[c, j] = i[pick]
    breaks: list[float] = []
    j = m
    for c in range(k, 1, -1):
        i = int(back[c, j])
        breaks.append(float(lows[i]))
        j = i
    return sorted(breaks)


# --------------------------------------------------------------------------- scoring


def _quantile_score(x: ir.NumericValue, scored: ir.BooleanValue, bins: int) -> ir.IntegerValue:
    """The quantile score of ``x`` among the scored rows (higher ``x``, higher score).

    A tie block of ``eq`` rows with ``below`` rows strictly under it, out of ``n``, has
    mid-point cumulative share ``(below + eq / 2) / n`` and gets the bin that holds it,
    ``1 + floor(bins * (2 * below + eq) / (2 * n))``, except: the smallest value gets 1,
    the largest gets ``bins``, and when every value is equal all get the middle score.
    """
    part = ibis.window(group_by=scored)
    below = ibis.rank().over(group_by=scored, order_by=x)  # rows strictly below x
    eq = x.count().over(group_by=[scored, x])
    n = x.count().over(part)
    lo = x.min().over(part)
    hi = x.max().over(part)
    quantile = 1 + (bins * (2 * below + eq) / (2 * n)).floor()
    return ibis.cases(
        (lo == hi, (bins + 1) // 2),
        (x == lo, 1),
        (x == hi, bins),
        else_=quantile,
    )


def _threshold_score(
    x: ir.NumericValue, lower_bounds: Mapping[int, float], default: int
) -> ir.IntegerValue:
    """``max(score for score, bound in lower_bounds if x >= bound)``, else ``default``."""
    branches = [(x >= bound, score) for score, bound in sorted(lower_bounds.items(), reverse=True)]
    if not branches:
        return ibis.literal(default)
    return ibis.cases(*branches, else_=default)


def _fixed_bounds(key: str, cuts: Sequence[float], bins: int) -> dict[int, float]:
    """Lower bounds per score on the oriented scale (recency negated)."""
    if key == "recency":
        # ascending day cuts: recency <= cuts[0] -> bins, ..., recency > cuts[-1] -> 1
        return {bins - i: -float(c) for i, c in enumerate(cuts)}
    return {i + 2: float(c) for i, c in enumerate(cuts)}


def _jenks_bounds(
    x: ir.NumericValue,
    scored: ir.BooleanValue,
    table: ir.Table,
    bins: int,
    *,
    sample_size: int,
) -> tuple[dict[int, float], int]:
    """Natural breaks of the scored values of ``x`` as (lower bounds per score, default)."""
    t = table.filter(scored).select(v=x)
    n = int(t.count().to_pyarrow().as_py())
    if n > sample_size:
        # a systematic sample of the sorted values: the middle row of every run of `step`
        # rows (deterministic, on any backend, and it keeps the distribution's shape)
        step = -(-n // sample_size)
        rn = ibis.row_number().over(order_by=t.v)
        t = t.mutate(rn=rn).filter((rn % step) == step // 2).select("v")
    vc = t.group_by("v").aggregate(w=t.count()).to_pyarrow()
    ux = np.asarray(vc.column("v").to_numpy(zero_copy_only=False), dtype=float)
    w = np.asarray(vc.column("w").to_numpy(zero_copy_only=False), dtype=float)
    keep = ~np.isnan(ux)
    ux, w = ux[keep], w[keep]
    order = np.argsort(ux)
    ux, w = ux[order], w[order]
    if ux.size == 0:
        return {}, (bins + 1) // 2
    breaks = _fisher_breaks(ux, w, bins)
    k = len(breaks) + 1
    if k == 1:
        return {}, (bins + 1) // 2
    # k classes spread over 1..bins (k == bins: class c -> c + 1)
    scores = [1 + math.floor(c * (bins - 1) / (k - 1) + 0.5) for c in range(k)]
    return {scores[c]: breaks[c - 1] for c in range(1, k)}, scores[0]


def score_rfm(
    features: ir.Table,
    *,
    recency: str = "days_since_last_order",
    frequency: str = "number_of_orders",
    monetary: str = "amount_spent",
    method: Method = "quantile",
    bins: int = 5,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    groups: Sequence[RfmGroup] | None = None,
    sample_size: int = 100_000,
) -> ir.Table:
    """Add R, F and M scores, the RFM code and the named group to a customer table.

    Customers with a null ``recency`` have no orders: their scores are null and their
    group is ``"Prospects"``. Every other customer gets three scores from 1 to ``bins``
    (higher is better; recency is inverted, so the most recent score highest) and
    exactly one group. Existing columns of the same names are replaced.

    Parameters
    ----------
    features
        One row per customer with the three columns below (``custseg.features`` builds
        it).
    recency
        Days since the last order; null for customers with no orders.
    frequency
        Number of orders.
    monetary
        Amount spent.
    method
        ``"quantile"`` (default): rank-based quantiles, computed in the engine; tied
        values share a score (see Notes). ``"fixed"``: ``thresholds``. ``"jenks"``:
        natural breaks found on up to ``sample_size`` scored rows, then applied as
        thresholds.
    bins
        The number of scores, 2 to 9.
    thresholds
        For ``method="fixed"``: ``bins - 1`` strictly increasing cut points per metric,
        e.g. ``{"recency": [30, 90, 180, 365], "frequency": [2, 3, 5, 10],
        "monetary": [50, 100, 250, 1000]}``. A value on a cut point takes the better
        score: recency ``<= 30`` scores 5, frequency ``>= 2`` scores at least 2.
    groups
        The group table, in precedence order (first match wins); default
        :data:`RFM_GROUPS`. It must cover every (r, f, m) score cell.
    sample_size
        Jenks only: breaks are found on at most this many scored rows (a systematic
        sample of the sorted values when there are more).

    Returns
    -------
    ir.Table
        ``features`` plus ``r_score``, ``f_score``, ``m_score`` (int8), ``rfm_score``
        (string, e.g. ``"545"``) and ``rfm_group`` (string).

    Raises
    ------
    SchemaError
        A column is missing or not numeric.
    DataError
        A customer with orders has a null frequency or monetary value.
    UsageError
        An unknown ``method``, a bad ``bins`` or bad ``thresholds``.
    IncompleteGroupsError
        ``groups`` leaves score cells without a group (the message lists them).
    ConfigError
        ``groups`` is otherwise malformed.

    Notes
    -----
    Quantile ties: a block of equal values with ``below`` customers strictly under it
    and ``eq`` in it, out of ``n`` scored customers, gets the bin holding its mid-point
    share, ``1 + floor(bins * (below + eq / 2) / n)``; the smallest value always scores
    1 and the largest ``bins``; when all values are equal (or there is one customer),
    everyone gets the middle score, ``(bins + 1) // 2``. Recency is scored as
    ``-recency``.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({
    ...     "days_since_last_order": [3, 40, 200, 400, None],
    ...     "number_of_orders": [6, 3, 2, 1, 0],
    ...     "amount_spent": [500.0, 120.0, 80.0, 20.0, 0.0],
    ... })
    >>> out = score_rfm(t).order_by(ibis.desc("number_of_orders")).execute()
    >>> out.rfm_score.tolist()[:4], out.rfm_group.tolist()
    (['555', '444', '222', '111'], ['Champions', 'Champions', 'Hibernating', 'Lost', 'Prospects'])
    """
    _check_options(method, bins)
    cuts = _check_thresholds(method, bins, thresholds)
    table_groups = _check_groups(groups, bins)
    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    _check_columns(features, columns)
    if method == "jenks" and (
        isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1
    ):
        raise UsageError(f"sample_size must be a positive integer, got {sample_size!r}")
    _check_data(features, customer_id=None, **columns)
    return _score_rfm(
        features,
        columns=columns,
        method=method,
        bins=bins,
        cuts=cuts,
        groups=table_groups,
        sample_size=sample_size,
    )


def _score_rfm(
    features: ir.Table,
    *,
    columns: Mapping[str, str],
    method: str,
    bins: int,
    cuts: Mapping[str, Sequence[float]] | None,
    groups: Sequence[RfmGroup],
    sample_size: int,
) -> ir.Table:
    """Guts of :func:`score_rfm`; no validation."""
    t = features
    scored = t[columns["recency"]].notnull()
    new: dict[str, ir.Value] = {}
    for key, out in zip(METRICS, ("r_score", "f_score", "m_score"), strict=True):
        col = t[columns[key]]
        if key == "recency":
            # scored as -recency (most recent highest); unsigned types cannot be negated
            x = -(col.cast("float64") if col.type().is_unsigned_integer() else col)
        else:
            x = col
        if method == "quantile":
            score = _quantile_score(x, scored, bins)
        elif method == "fixed":
            assert cuts is not None
            score = _threshold_score(x, _fixed_bounds(key, cuts[key], bins), 1)
        else:
            bounds, default = _jenks_bounds(x, scored, t, bins, sample_size=sample_size)
            score = _threshold_score(x, bounds, default)
        new[out] = scored.ifelse(score.cast("int8"), ibis.null("int8"))
    t = t.mutate(**new)
    code = t.r_score.cast("string").concat(t.f_score.cast("string"), t.m_score.cast("string"))
    return t.mutate(rfm_score=code, rfm_group=_group_expr(t, groups))


def _group_expr(t: ir.Table, groups: Sequence[RfmGroup]) -> ir.StringValue:
    branches: list[tuple[ir.BooleanValue, str]] = [(t.r_score.isnull(), PROSPECTS)]
    for g in groups:
        cond = t.r_score.between(*g.r) & t.f_score.between(*g.f)
        if g.m is not None:
            cond = cond & t.m_score.between(*g.m)
        branches.append((cond, g.name))
    return ibis.cases(*branches, else_=ibis.null("string"))


def rfm_segments(
    features: ir.Table,
    *,
    customer_id: str = "customer_id",
    recency: str = "days_since_last_order",
    frequency: str = "number_of_orders",
    monetary: str = "amount_spent",
    method: Method = "quantile",
    bins: int = 5,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    groups: Sequence[RfmGroup] | None = None,
    sample_size: int = 100_000,
) -> ir.Table:
    """Score customers and return one row each with their RFM group.

    The convenience form of :func:`score_rfm` (same options), which also checks that
    ``customer_id`` is unique and keeps only the columns below.

    Returns
    -------
    ir.Table
        ``customer_id``, the recency, frequency and monetary columns, ``r_score``,
        ``f_score``, ``m_score``, ``rfm_score`` and ``rfm_group``.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({
    ...     "customer_id": [1, 2, 3],
    ...     "days_since_last_order": [5, 300, None],
    ...     "number_of_orders": [3, 1, 0],
    ...     "amount_spent": [90.0, 10.0, 0.0],
    ... })
    >>> rfm_segments(t).order_by("customer_id").execute().rfm_group.tolist()
    ['Champions', 'Lost', 'Prospects']
    """
    _check_options(method, bins)
    cuts = _check_thresholds(method, bins, thresholds)
    table_groups = _check_groups(groups, bins)
    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    _check_columns(features, {"customer_id": customer_id, **columns})
    if method == "jenks" and (
        isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1
    ):
        raise UsageError(f"sample_size must be a positive integer, got {sample_size!r}")
    _check_data(features, customer_id=customer_id, **columns)
    out = _score_rfm(
        features,
        columns=columns,
        method=method,
        bins=bins,
        cuts=cuts,
        groups=table_groups,
        sample_size=sample_size,
    )
    keep = dict.fromkeys([customer_id, recency, frequency, monetary, *SCORE_COLUMNS])
    return out.select(*keep)


def rfm_group_counts(
    table: ir.Table, *, groups: Sequence[RfmGroup] | None = None, column: str = "rfm_group"
) -> dict[str, int]:
    """Count customers per RFM group.

    Parameters
    ----------
    table
        A table from :func:`score_rfm` or :func:`rfm_segments`.
    groups
        The group table used for scoring (default :data:`RFM_GROUPS`); its names come
        first, in precedence order and with 0 for empty groups.
    column
        The group column.

    Returns
    -------
    dict of str to int
        Every group of ``groups``, then ``"Prospects"``, then any other name found.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"rfm_group": ["Lost", "Prospects", "Lost"]})
    >>> counts = rfm_group_counts(t)
    >>> counts["Lost"], counts["Prospects"], counts["Champions"]
    (2, 1, 0)
    """
    if column not in table.schema():
        raise SchemaError(
            f"Column {column!r} is missing; score the table with "
            "custseg.segments.score_rfm(...) first."
        )
    rows = table.group_by(g=table[column]).aggregate(n=table.count()).to_pyarrow().to_pylist()
    found = {r["g"]: int(r["n"]) for r in rows}
    names = [g.name for g in (RFM_GROUPS if groups is None else groups)] + [PROSPECTS]
    out = {name: found.pop(name, 0) for name in names}
    out.update(found)
    return out
