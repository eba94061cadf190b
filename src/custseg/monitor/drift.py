"""Drift alerts between two runs: segment sizes, feature distributions, cluster fit.

:func:`drift_alerts` compares run B with run A (default: the last two succeeded runs)
and returns one :class:`Alert` per finding at or above a ``[monitor]`` threshold:

* ``size``: a segment's relative size change ``(n_B - n_A) / n_A``, ``|change| >=
  size_change_warn`` (``warn``) or ``size_change_alert`` (``alert``); segments with fewer
  than ``min_segment_size`` members in both runs are skipped; a segment that appears
  (``n_A = 0``) or disappears (``n_B = 0``) with at least that many members is an
  ``alert``;
* ``psi``: the population stability index (:func:`psi`) of each feature, run B on run
  A's bins, against ``psi_warn`` / ``psi_alert``;
* ``cluster_distance``: the relative growth of the mean assignment distance of the same
  clustering model, against ``distance_growth_warn`` / ``distance_growth_alert``;
* ``cluster_stability``: the model's bootstrap stability below 0.6 (``warn``; the level
  :mod:`custseg.segments.clustering` warns at) or down by 0.1 or more since run A.

The cluster alerts recommend a refit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from custseg.exceptions import UsageError

__all__ = [
    "PSI_EPSILON",
    "SEVERITIES",
    "Alert",
    "default_runs",
    "drift_alerts",
    "feature_psi",
    "psi",
    "resolve_runs",
    "segment_sizes",
    "severity_at_least",
]

log = logging.getLogger(__name__)

#: Proportions below this are raised to it before the logarithm (an empty bin would give
#: an infinite index): one customer in 10,000.
PSI_EPSILON = 1e-4
#: Severities, weakest first.
SEVERITIES: tuple[str, ...] = ("warn", "alert")
#: Below this bootstrap stability (mean pairwise ARI) the clusters are not trusted.
STABILITY_FLOOR = 0.6
#: A stability drop of this much between runs is reported.
STABILITY_DROP = 0.1

REFIT = "refit the clustering with `custseg segments cluster`"

Severity = Literal["warn", "alert"]


@dataclass(frozen=True)
class Alert:
    """One drift finding.

    Attributes
    ----------
    kind : str
        ``size``, ``psi``, ``cluster_distance`` or ``cluster_stability``.
    subject : str
        The segment or feature (``distance`` / ``stability`` for the cluster checks).
    severity : str
        ``warn`` or ``alert``.
    value : float
        The measured change, index or stability.
    threshold : float
        The threshold it reached.
    message : str
        One sentence: what was seen.
    recommendation : str
        What to do.
    run_a, run_b : str
        The runs compared (A is the reference).
    """

    kind: str
    subject: str
    severity: Severity
    value: float
    threshold: float
    message: str
    recommendation: str
    run_a: str
    run_b: str

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict (an infinite value becomes None)."""
        d = asdict(self)
        if not math.isfinite(d["value"]):
            d["value"] = None
        return d


def severity_at_least(severity: str, level: str) -> bool:
    """True when ``severity`` is at or above ``level`` (``never`` is above everything)."""
    if level == "never":
        return False
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)


def psi(
    expected: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
    *,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Population stability index of ``actual`` against ``expected``, on the same bins.

    ``PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)`` where ``e_i`` and ``a_i`` are the bins'
    proportions (the counts divided by their sums). A proportion below ``epsilon`` is
    raised to ``epsilon`` (no renormalisation), so an empty bin adds a large but finite
    term. The index is 0 for identical distributions and symmetric in its arguments.
    Rules of thumb: below 0.1 stable, 0.1 to 0.25 a shift, above 0.25 a large shift.

    Parameters
    ----------
    expected, actual : array-like of shape (n_bins,)
        Counts (or proportions) per bin, same order; non-negative.
    epsilon : float, default PSI_EPSILON
        Floor of the proportions.

    Returns
    -------
    float

    Raises
    ------
    UsageError
        Different lengths, negative counts, or an all-zero side.

    Examples
    --------
    >>> round(psi([25, 25, 50], [30, 30, 40]), 6)
    0.040547
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.ndim != 1:
        raise UsageError(
            f"psi needs two count vectors of the same length, got shapes {e.shape} and {a.shape}."
        )
    if (e < 0).any() or (a < 0).any():
        raise UsageError("psi needs non-negative counts; got a negative one.")
    if e.sum() <= 0 or a.sum() <= 0:
        raise UsageError("psi needs at least one counted row on each side; one side is empty.")
    pe = np.maximum(e / e.sum(), epsilon)
    pa = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


# --------------------------------------------------------------------------- runs


def default_runs(ws: Any) -> tuple[str, str]:
    """The last two succeeded runs ``(older, newer)``.

    Raises
    ------
    UsageError
        Fewer than two succeeded runs are recorded.
    """
    from custseg.pipeline import list_runs

    done = [r.run_id for r in list_runs(ws) if r.status == "succeeded"]
    if len(done) < 2:
        raise UsageError(
            f"drift needs two succeeded runs to compare, found {len(done)}; run "
            "`custseg run` again later, or name the runs with --run-a and --run-b."
        )
    return done[1], done[0]


def resolve_runs(ws: Any, run_a: str | None, run_b: str | None) -> tuple[str, str]:
    if run_a is None or run_b is None:
        a, b = default_runs(ws)
        return run_a or a, run_b or b
    return run_a, run_b


def segment_sizes(ws: Any, run_id: str) -> dict[str, tuple[str, int]]:
    """Each segment's family and size in run ``run_id``, from ``membership_snapshots``."""
    from custseg.segments.registry import SNAPSHOTS_TABLE

    con = ws.connect()
    if SNAPSHOTS_TABLE not in con.list_tables():
        raise UsageError("no membership_snapshots yet; run `custseg run` first.")
    s = con.table(SNAPSHOTS_TABLE)
    s = s.filter(s.run_id == run_id)
    rows = s.group_by(["family", "segment"]).aggregate(n=s.count()).to_pyarrow().to_pylist()
    return {r["segment"]: (r["family"], int(r["n"])) for r in rows}


def _check_run(ws: Any, run_id: str, sizes: Mapping[str, Any]) -> None:
    if not sizes:
        raise UsageError(
            f"run {run_id!r} has no segment memberships in membership_snapshots; "
            "`custseg runs list` shows the runs."
        )


def _grade(value: float, warn: float, alert: float) -> tuple[Severity, float] | None:
    v = abs(value)
    if v >= alert:
        return "alert", alert
    if v >= warn:
        return "warn", warn
    return None


# --------------------------------------------------------------------------- checks


def _size_alerts(ws: Any, a: str, b: str) -> list[Alert]:
    cfg = ws.config.monitor
    sa, sb = segment_sizes(ws, a), segment_sizes(ws, b)
    _check_run(ws, a, sa)
    _check_run(ws, b, sb)
    out = []
    for seg in sorted(set(sa) | set(sb)):
        na = sa.get(seg, ("", 0))[1]
        nb = sb.get(seg, ("", 0))[1]
        if max(na, nb) < cfg.min_segment_size or na == nb:
            continue
        change = (nb - na) / na if na else math.inf
        graded = _grade(change, cfg.size_change_warn, cfg.size_change_alert)
        if graded is None:
            continue
        sev, thr = graded
        if na == 0:
            msg = f"segment {seg} appeared with {nb:,} members (none in {a})."
        elif nb == 0:
            msg = f"segment {seg} is empty now; it had {na:,} members in {a}."
        else:
            msg = f"segment {seg} changed by {change:+.1%}: {na:,} → {nb:,} members."
        out.append(
            Alert(
                kind="size",
                subject=seg,
                severity=sev,
                value=change,
                threshold=thr,
                message=msg,
                recommendation=(
                    f"check what moved with `custseg runs diff {a} {b}`; review campaigns "
                    "targeting this segment."
                ),
                run_a=a,
                run_b=b,
            )
        )
    return out


def feature_psi(ws: Any, run_a: str, run_b: str) -> dict[str, float]:
    """The PSI of every feature of run B against run A, on run A's bins.

    Uses run B's counts on run A's bins stored by
    :func:`~custseg.monitor.snapshots.snapshot_features`; when run B was not snapshotted
    against run A and ``customer_features`` still holds run B (same as-of date), they
    are counted now. Features without either are skipped (logged).

    Returns
    -------
    dict of str to float
        Feature → index, sorted by decreasing index.
    """
    from custseg.monitor.snapshots import FEATURE_SNAPSHOTS_TABLE

    con = ws.connect()
    if FEATURE_SNAPSHOTS_TABLE not in con.list_tables():
        log.warning("no feature_snapshots table: PSI skipped")
        return {}
    snap = con.table(FEATURE_SNAPSHOTS_TABLE)
    kinds = snap.kind.isin(["numeric", "categorical"])
    ref = snap.filter(kinds & (snap.run_id == run_a) & snap.ref_run_id.isnull())
    cur = snap.filter(kinds & (snap.run_id == run_b) & (snap.ref_run_id == run_a))
    expected: dict[str, dict[str, int]] = {}
    for r in ref.select("feature", "bin", "count").to_pyarrow().to_pylist():
        expected.setdefault(r["feature"], {})[r["bin"]] = int(r["count"])
    actual: dict[str, dict[str, int]] = {}
    for r in cur.select("feature", "bin", "count").to_pyarrow().to_pylist():
        actual.setdefault(r["feature"], {})[r["bin"]] = int(r["count"])
    missing = [f for f in expected if f not in actual]
    if missing:
        actual.update(_count_now(ws, snap, run_a, run_b, missing))
    out = {}
    for f, e in expected.items():
        if f not in actual:
            continue
        bins = sorted(set(e) | set(actual[f]))
        ev = [e.get(x, 0) for x in bins]
        av = [actual[f].get(x, 0) for x in bins]
        if sum(ev) == 0 or sum(av) == 0:
            continue
        out[f] = psi(ev, av)
    skipped = [f for f in expected if f not in out]
    if skipped:
        log.warning(
            "PSI skipped for %d features of run %s (no counts on %s's bins): %s",
            len(skipped),
            run_b,
            run_a,
            ", ".join(skipped[:10]),
        )
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _count_now(
    ws: Any, snap: Any, run_a: str, run_b: str, features: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Run B's counts on run A's bins, from ``customer_features`` if it still holds run B."""
    from custseg.monitor.snapshots import categorical_counts, numeric_counts, reference_bins
    from custseg.pipeline import get_run

    con = ws.connect()
    run = get_run(ws, run_b)
    if run is None or run.as_of is None or "customer_features" not in con.list_tables():
        return {}
    t = con.table("customer_features")
    if t.as_of.max().to_pyarrow().as_py() != run.as_of:
        return {}
    edges, levels = reference_bins(snap, run_a)
    edges = {k: v for k, v in edges.items() if k in features and k in t.columns}
    levels = {k: v for k, v in levels.items() if k in features and k in t.columns}
    got = numeric_counts(t, edges)
    got.update(categorical_counts(t, levels))
    return got


def _psi_alerts(ws: Any, a: str, b: str) -> list[Alert]:
    cfg = ws.config.monitor
    out = []
    for feature, value in feature_psi(ws, a, b).items():
        graded = _grade(value, cfg.psi_warn, cfg.psi_alert)
        if graded is None:
            continue
        sev, thr = graded
        out.append(
            Alert(
                kind="psi",
                subject=feature,
                severity=sev,
                value=value,
                threshold=thr,
                message=f"feature {feature} shifted: PSI {value:.3f} (threshold {thr:g}).",
                recommendation=(
                    "check the data feeding this feature; segments and models using it may "
                    "need review"
                ),
                run_a=a,
                run_b=b,
            )
        )
    return out


def _cluster_stats(ws: Any, run_id: str) -> dict[str, Any]:
    from custseg.monitor.snapshots import FEATURE_SNAPSHOTS_TABLE

    con = ws.connect()
    if FEATURE_SNAPSHOTS_TABLE not in con.list_tables():
        return {}
    s = con.table(FEATURE_SNAPSHOTS_TABLE)
    rows = s.filter((s.run_id == run_id) & (s.kind == "cluster_distance")).to_pyarrow().to_pylist()
    out: dict[str, Any] = {}
    for r in rows:
        out[r["bin"]] = r["feature"] if r["bin"] == "model" else r["value"]
    return out


def _cluster_alerts(ws: Any, a: str, b: str) -> list[Alert]:
    cfg = ws.config.monitor
    ca, cb = _cluster_stats(ws, a), _cluster_stats(ws, b)
    out: list[Alert] = []
    if not cb:
        return out
    same_model = ca.get("model") is not None and ca.get("model") == cb.get("model")
    ma, mb = ca.get("mean"), cb.get("mean")
    if same_model and ma and mb is not None:
        growth = (mb - ma) / ma
        graded = _grade(max(growth, 0.0), cfg.distance_growth_warn, cfg.distance_growth_alert)
        if graded is not None:
            sev, thr = graded
            out.append(
                Alert(
                    kind="cluster_distance",
                    subject="distance",
                    severity=sev,
                    value=growth,
                    threshold=thr,
                    message=(
                        f"the mean cluster assignment distance grew by {growth:+.1%} "
                        f"({ma:.3f} → {mb:.3f}): the clustering fits the new data worse."
                    ),
                    recommendation=REFIT,
                    run_a=a,
                    run_b=b,
                )
            )
    elif ca and cb and not same_model:
        log.info("runs %s and %s use different clustering models: distance not compared", a, b)
    sb, sa = cb.get("stability"), ca.get("stability")
    if sb is not None:
        dropped = sa is not None and sa - sb >= STABILITY_DROP
        if sb < STABILITY_FLOOR or dropped:
            thr = STABILITY_FLOOR if sb < STABILITY_FLOOR else STABILITY_DROP
            was = f" (was {sa:.2f})" if sa is not None else ""
            out.append(
                Alert(
                    kind="cluster_stability",
                    subject="stability",
                    severity="warn",
                    value=float(sb),
                    threshold=thr,
                    message=f"the clustering's bootstrap stability is {sb:.2f}{was}.",
                    recommendation=REFIT + " (try another k or feature set)",
                    run_a=a,
                    run_b=b,
                )
            )
    return out


def drift_alerts(ws: Any, run_a: str | None = None, run_b: str | None = None) -> list[Alert]:
    """Every drift alert of run B against run A, most severe first.

    Parameters
    ----------
    ws : Workspace
        With at least two runs in ``membership_snapshots`` (and ``feature_snapshots`` for
        the PSI and cluster checks).
    run_a, run_b : str, optional
        The reference and the new run; default: the last two succeeded runs.

    Returns
    -------
    list of Alert
        Alerts first, then warnings; within a severity, in the order size, psi, cluster.

    Raises
    ------
    UsageError
        Fewer than two runs, or a run without memberships.
    """
    a, b = resolve_runs(ws, run_a, run_b)
    alerts = _size_alerts(ws, a, b) + _psi_alerts(ws, a, b) + _cluster_alerts(ws, a, b)
    order = {"size": 0, "psi": 1, "cluster_distance": 2, "cluster_stability": 3}
    alerts.sort(key=lambda x: (-SEVERITIES.index(x.severity), order[x.kind]))
    log.info("drift %s → %s: %d alerts", a, b, len(alerts))
    return alerts
