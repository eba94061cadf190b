"""Assignment in the engine: the models' scores as Ibis expressions, then the best cluster.

Four projections, each over the previous one: (1) the transformed inputs ``_z<j>``
(and the raw categories ``_c<j>`` for k-prototypes); (2) for mixtures, the whitened
coordinates ``_y<c>_<j>``; (3) each cluster's squared distance ``_d<c>`` and score
``_s<c>``; (4) the best score with ``least``/``greatest`` and the first cluster that
reaches it (``ibis.cases``), its name and ``sqrt`` of its squared distance. Only portable
operations are used (arithmetic, ``ln``, ``sqrt``, ``least``, ``greatest``, ``cases``).
Indicators are cast booleans: DuckDB types ``CASE ... THEN 1.0 ELSE 0.0`` as DECIMAL, and
a product of two such decimals overflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import add

import ibis
import ibis.expr.types as ir

from custseg.segments.clustering._models import (
    ClusterModel,
    GaussianModel,
    PrototypeModel,
)
from custseg.segments.clustering._transform import FittedTransform

__all__ = ["assign_expr"]


def _sum(terms: list[ir.FloatingValue]) -> ir.FloatingValue:
    return reduce(add, terms) if terms else ibis.literal(0.0)


def _squared_distance(z: list[ir.FloatingValue], center: list[float]) -> ir.FloatingValue:
    terms = []
    for col, c in zip(z, center, strict=True):
        diff = col - float(c)
        terms.append(diff * diff)
    return _sum(terms)


def assign_expr(
    table: ir.Table,
    *,
    model: ClusterModel,
    transform: FittedTransform,
    names: Mapping[int, str],
    id_column: str = "customer_id",
) -> ir.Table:
    """Every row of ``table`` with its cluster.

    Parameters
    ----------
    table
        The rows to assign (already filtered to the population).
    model, transform
        The fitted model and transform.
    names
        Cluster number to name.
    id_column
        The id column kept.

    Returns
    -------
    ir.Table
        ``customer_id``, ``cluster`` (int64), ``cluster_name`` (string), ``distance``
        (float64).
    """
    k = model.k
    is_proto = isinstance(model, PrototypeModel)
    z_exprs = transform.ibis_numeric(table)
    if not is_proto:
        z_exprs += transform.ibis_one_hot(table)
    cols: dict[str, ir.Value] = {f"_z{j}": e for j, e in enumerate(z_exprs)}
    if is_proto:
        cols |= {f"_c{j}": table[s.column] for j, s in enumerate(transform.categorical)}
    t = table.select(**{id_column: table[id_column]}, **cols)
    z = [t[f"_z{j}"] for j in range(len(z_exprs))]

    if isinstance(model, GaussianModel):
        t = _whiten(t, z, model, id_column)
        d = {
            c: _sum([t[f"_y{c}_{j}"] * t[f"_y{c}_{j}"] for j in range(model.means.shape[1])])
            for c in range(k)
        }
        norm = model.log_norm()
        scored = {f"_d{c}": d[c] for c in range(k)}
        t = t.select(id_column, **scored)
        t = t.mutate(**{f"_s{c}": float(norm[c]) - 0.5 * t[f"_d{c}"] for c in range(k)})
        best = ibis.greatest(*[t[f"_s{c}"] for c in range(k)]) if k > 1 else t["_s0"]
    else:
        centers = model.centers if hasattr(model, "centers") else None
        d = {c: _squared_distance(z, list(centers[c])) for c in range(k)}
        if is_proto:
            for c in range(k):
                mism = []
                for j, mode in enumerate(model.modes[c]):
                    col = t[f"_c{j}"]
                    same = col.isnull() if mode is None else (col == str(mode)).fill_null(False)
                    mism.append((~same).cast("float64"))
                if mism:
                    d[c] = d[c] + float(model.gamma) * _sum(mism)
        t = t.select(id_column, **{f"_d{c}": d[c] for c in range(k)})
        t = t.mutate(**{f"_s{c}": t[f"_d{c}"] for c in range(k)})
        best = ibis.least(*[t[f"_s{c}"] for c in range(k)]) if k > 1 else t["_s0"]

    cluster = ibis.cases(
        *[(t[f"_s{c}"] == best, c) for c in range(k)], else_=ibis.null("int64")
    ).cast("int64")
    t = t.mutate(cluster=cluster)
    dist2 = ibis.cases(*[(t.cluster == c, t[f"_d{c}"]) for c in range(k)], else_=ibis.null())
    name = ibis.cases(*[(t.cluster == c, names[c]) for c in range(k)], else_=ibis.null("string"))
    return t.select(
        id_column,
        cluster=t.cluster,
        cluster_name=name.cast("string"),
        distance=ibis.greatest(dist2.cast("float64"), 0.0).sqrt(),
    )


def _whiten(
    t: ir.Table, z: list[ir.FloatingValue], model: GaussianModel, id_column: str
) -> ir.Table:
    """``_y<c>_<j> = sum_i (z_i - mu_ci) P_c[i, j]``, skipping zero entries of ``P_c``."""
    ys: dict[str, ir.FloatingValue] = {}
    d = model.means.shape[1]
    for c in range(model.k):
        p = model.precisions_cholesky[c]
        centered = [z[i] - float(model.means[c, i]) for i in range(d)]
        for j in range(d):
            terms = [centered[i] * float(p[i, j]) for i in range(d) if p[i, j] != 0.0]
            ys[f"_y{c}_{j}"] = _sum(terms)
    return t.select(id_column, **ys)
