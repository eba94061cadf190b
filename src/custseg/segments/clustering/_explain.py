"""Explaining rules: a shallow tree per cluster, written as segment-language text.

For each cluster, a one-vs-rest ``DecisionTreeClassifier(max_depth=3,
class_weight="balanced")`` is fitted on the *untransformed* features (numerics as they
are, text columns as one-hots of their top values), so thresholds are in the original
units. The paths to the leaves that predict the cluster become an OR of ANDs
(sibling positive leaves merge into their parent). Each threshold is replaced by the
roundest number that splits the fitted rows the same way (any integer for integer
columns; at most two significant digits otherwise, else the threshold rounded to two
significant digits); integer columns use ``>=``/``<=``. Conditions on one field in a path
are merged. Precision and recall are then measured on the whole sample by evaluating the
emitted conditions with SQL null semantics (a comparison with null is false).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from custseg.segments.clustering._transform import as_float, as_objects

__all__ = [
    "ClusterRule",
    "Condition",
    "evaluate_paths",
    "explain_clusters",
    "format_number",
    "nice_threshold",
    "rule_text",
]

MAX_DEPTH = 3
#: A leaf holds at least this share of the fitted rows.
MIN_LEAF_SHARE = 0.01

Path = tuple["Condition", ...]


@dataclass(frozen=True)
class ClusterRule:
    """A segment-language rule approximating a cluster.

    Attributes
    ----------
    rule
        The rule text, e.g. ``(amount_spent > 1300 AND number_of_orders >= 6) OR ...``.
    precision
        Share of the customers the rule selects that are in the cluster (sample).
    recall
        Share of the cluster's customers that the rule selects (sample).
    support
        Number of sampled customers the rule selects.
    """

    rule: str
    precision: float
    recall: float
    support: int


def format_number(value: float | int) -> str:
    """A number as a plain decimal (no exponent), integers without a point.

    Examples
    --------
    >>> format_number(1300.0), format_number(0.000012), format_number(7)
    ('1300', '0.000012', '7')
    """
    if isinstance(value, int | np.integer):
        return str(int(value))
    if float(value).is_integer():
        return str(int(value))
    return np.format_float_positional(float(value), trim="-")


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class Condition:
    """``field op value`` with op one of ``= != > >= < <=``."""

    field: str
    op: str
    value: float | int | str

    def text(self) -> str:
        """The condition in the segment language."""
        v = _quote(self.value) if isinstance(self.value, str) else format_number(self.value)
        return f"{self.field} {self.op} {v}"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows where the condition is true; null (or NaN) never is."""
        if isinstance(self.value, str):
            x = as_objects(frame[self.field])
            known = np.array([v is not None for v in x], dtype=bool)
            eq = x == self.value
            return known & (eq if self.op == "=" else ~eq)
        x = as_float(frame[self.field])
        ok = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            res = {
                "=": x == self.value,
                "!=": x != self.value,
                ">": x > self.value,
                ">=": x >= self.value,
                "<": x < self.value,
                "<=": x <= self.value,
            }[self.op]
        return ok & res


def evaluate_paths(paths: Sequence[Path], frame: pd.DataFrame) -> np.ndarray:
    """Rows matched by the OR of the AND ``paths``."""
    out = np.zeros(len(frame), dtype=bool)
    for path in paths:
        m = np.ones(len(frame), dtype=bool)
        for cond in path:
            m &= cond.mask(frame)
        out |= m
    return out


def rule_text(paths: Sequence[Path]) -> str:
    """The OR of ANDs as text; multi-condition paths are parenthesised when OR-ed."""
    parts = [" AND ".join(c.text() for c in p) for p in paths]
    if len(parts) == 1:
        return parts[0]
    return " OR ".join(f"({t})" if len(p) > 1 else t for t, p in zip(parts, paths, strict=True))


def nice_threshold(t: float, below: float, above: float, *, integer: bool) -> float | int:
    """The roundest ``r`` with ``below <= r < above`` (so ``x <= r`` splits like ``x <= t``).

    Among the multiples of the largest power of ten that fits in the gap, the one closest
    to ``t`` is taken. Integer columns get an integer; other columns at most two
    significant digits, else ``t`` rounded to two significant digits (which may move a few
    rows across).

    Examples
    --------
    >>> nice_threshold(1253.5, 1180.0, 1310.0, integer=False)
    1300.0
    >>> nice_threshold(131.5, 123, 140, integer=True)
    130
    >>> nice_threshold(0.43725, 0.4372, 0.4373, integer=False)
    0.44
    """
    if integer:
        lo, hi = math.ceil(below), math.ceil(above) - 1  # integers lo <= r <= hi
        if lo > hi:
            return int(math.floor(t))
        p = len(str(max(abs(lo), abs(hi))))
        while p >= 0:
            step = 10**p
            m_lo, m_hi = -((-lo) // step), hi // step
            if m_lo <= m_hi:
                m = min(max(round(t / step), m_lo), m_hi)
                return int(m * step)
            p -= 1
        return int(lo)  # pragma: no cover - step 1 always fits
    mag = max(abs(below), abs(above))
    if mag == 0:
        return 0.0
    e = math.floor(math.log10(mag))
    for p in range(e + 1, e - 2, -1):
        step = 10.0**p
        nd = max(0, -p)
        m_lo = math.ceil(below / step - 1e-9)
        m_hi = math.ceil(above / step - 1e-9) - 1
        for m in sorted(range(m_lo, m_hi + 1), key=lambda m: (abs(m * step - t), m))[:3]:
            r = round(m * step, nd)
            if below <= r < above:
                return float(r)
    if t == 0:
        return 0.0
    digits = 1 - math.floor(math.log10(abs(t)))
    return float(round(t, digits))


def _simplify(path: list[Condition]) -> Path | None:
    """Merge conditions on one field; ``None`` when the path cannot match."""
    order: list[str] = []
    by_field: dict[str, list[Condition]] = {}
    for c in path:
        if c.field not in by_field:
            order.append(c.field)
        by_field.setdefault(c.field, []).append(c)
    out: list[Condition] = []
    for f in order:
        conds = by_field[f]
        if isinstance(conds[0].value, str):
            eq = {c.value for c in conds if c.op == "="}
            if len(eq) > 1:
                return None
            if eq:
                (v,) = eq
                if any(c.op == "!=" and c.value == v for c in conds):
                    return None
                out.append(Condition(f, "=", v))
            else:
                seen = dict.fromkeys(c.value for c in conds)
                out.extend(Condition(f, "!=", v) for v in seen)
            continue
        lower = [c for c in conds if c.op in (">", ">=")]
        upper = [c for c in conds if c.op in ("<", "<=")]
        lo = max(lower, key=lambda c: (c.value, c.op == ">")) if lower else None
        hi = min(upper, key=lambda c: (c.value, c.op == "<")) if upper else None
        if lo is not None and hi is not None and lo.value >= hi.value:
            point = lo.value == hi.value and lo.op == ">=" and hi.op == "<="
            if not point:
                return None
        out.extend(c for c in (lo, hi) if c is not None)
    return tuple(out)


def _tree_paths(clf: DecisionTreeClassifier) -> list[list[tuple[int, bool, float]]]:
    """Paths ``[(feature, is_left, threshold), ...]`` to maximal all-positive subtrees."""
    tree = clf.tree_
    pos_index = list(clf.classes_).index(True) if True in clf.classes_ else None
    left, right = tree.children_left, tree.children_right

    def leaf_positive(node: int) -> bool:
        v = tree.value[node][0]
        return pos_index is not None and int(np.argmax(v)) == pos_index

    memo: dict[int, bool] = {}

    def all_positive(node: int) -> bool:
        if node not in memo:
            if left[node] == -1:
                memo[node] = leaf_positive(node)
            else:
                memo[node] = all_positive(left[node]) and all_positive(right[node])
        return memo[node]

    paths: list[list[tuple[int, bool, float]]] = []

    def walk(node: int, path: list[tuple[int, bool, float]]) -> None:
        if all_positive(node):
            paths.append(path)
            return
        if left[node] == -1:
            return
        f, t = int(tree.feature[node]), float(tree.threshold[node])
        walk(left[node], [*path, (f, True, t)])
        walk(right[node], [*path, (f, False, t)])

    walk(0, [])
    if not paths and pos_index is not None:
        # no leaf predicts the cluster: take the leaf where it is most represented
        best, best_share, stack = None, -1.0, [(0, [])]
        while stack:
            node, path = stack.pop()
            if left[node] == -1:
                v = tree.value[node][0]
                share = float(v[pos_index] / v.sum()) if v.sum() > 0 else 0.0
                if share > best_share:
                    best, best_share = path, share
                continue
            f, t = int(tree.feature[node]), float(tree.threshold[node])
            stack.append((left[node], [*path, (f, True, t)]))
            stack.append((right[node], [*path, (f, False, t)]))
        if best is not None:
            paths.append(best)
    return paths


def explain_clusters(
    frame: pd.DataFrame,
    *,
    numeric: Sequence[str],
    integer: frozenset[str],
    one_hot: Sequence[tuple[str, str]],
    labels: np.ndarray,
    k: int,
    fit_rows: np.ndarray,
    random_state: int = 0,
) -> dict[int, ClusterRule]:
    """One :class:`ClusterRule` per cluster.

    Parameters
    ----------
    frame
        The sample, raw feature values.
    numeric
        Numeric (not boolean) columns the trees may split on.
    integer
        The integer columns among them (thresholds ``>= n`` / ``<= n``).
    one_hot
        ``(column, level)`` pairs of text columns the trees may split on.
    labels : ndarray of shape (n_samples,)
        The cluster of each row of ``frame``.
    k
        The number of clusters.
    fit_rows : ndarray of int
        The rows the trees are fitted on (precision and recall use every row).
    random_state
        Seed of the trees.
    """
    num = list(numeric)
    cols = [as_float(frame[c]) for c in num]
    for c, lv in one_hot:
        cols.append((as_objects(frame[c]) == lv).astype(float))
    x_all = np.column_stack(cols) if cols else np.zeros((len(frame), 0))
    x_fit = x_all[fit_rows]
    sorted_vals = [np.unique(x_fit[:, j][~np.isnan(x_fit[:, j])]) for j in range(len(num))]
    min_leaf = max(1, math.ceil(MIN_LEAF_SHARE * len(fit_rows)))

    def condition(f: int, is_left: bool, t: float) -> Condition:
        if f >= len(num):
            col, lv = one_hot[f - len(num)]
            return Condition(col, "!=" if is_left else "=", lv)
        col, vals = num[f], sorted_vals[f]
        i = int(np.searchsorted(vals, t, side="right"))
        below = float(vals[i - 1]) if i > 0 else t
        above = float(vals[i]) if i < vals.size else t + 1.0
        r = nice_threshold(t, below, above, integer=col in integer)
        if is_left:
            return Condition(col, "<=", r)
        return Condition(col, ">=", int(r) + 1) if col in integer else Condition(col, ">", r)

    rules: dict[int, ClusterRule] = {}
    for c in range(k):
        target = labels == c
        size = int(target.sum())
        if size == 0 or x_all.shape[1] == 0:
            rules[c] = ClusterRule("", 0.0, 0.0, 0)
            continue
        clf = DecisionTreeClassifier(
            max_depth=MAX_DEPTH,
            class_weight="balanced",
            min_samples_leaf=min_leaf,
            random_state=random_state,
        ).fit(x_fit, target[fit_rows])
        paths: list[Path] = []
        for raw in _tree_paths(clf):
            p = _simplify([condition(*step) for step in raw])
            if p is not None and p not in paths:
                paths.append(p)
        if not paths or any(len(p) == 0 for p in paths):
            rules[c] = ClusterRule("", 0.0, 0.0, 0)
            continue
        hit = evaluate_paths(paths, frame)
        support = int(hit.sum())
        tp = int((hit & target).sum())
        rules[c] = ClusterRule(
            rule=rule_text(paths),
            precision=tp / support if support else 0.0,
            recall=tp / size,
            support=support,
        )
    return rules
