"""The hot path: ``GET /customers/{id}`` from a cache of one JSON row per customer.

Why a cache, and why SQL here. DuckDB stores tables by column: fetching one customer's
row of ``customer_features`` reads a block of each of its ~100 columns and costs about
5 ms of CPU on 1M customers even with an ART index, and the four other lookups
(memberships, action, shipping, recommendations) add about 1 ms each. That cannot serve
500 requests/s. So after every pipeline run (and at start-up when the tables changed)
:meth:`CustomerLookup.refresh` writes, in one SQL statement, a table of
``(customer_id, card)`` rows, where ``card`` is a compact JSON array holding that
customer's feature values, segments, top recommendations, action and shipping tier, and
puts an ART index on ``customer_id``. A request is then one indexed point query on a
single column through a per-thread cursor, plus a little Python to put the keys back.

This module is the one exception to "all table work is Ibis": the build needs DuckDB's
``json_array`` and index DDL, and the per-request query must not pay Ibis's compile
cost. It only serves DuckDB workspaces.

The cache lives in its own DuckDB file, ``.custseg-cache/customer_lookup.duckdb`` in the
workspace (attached as ``custseg_lookup``), so it never bloats the workspace database
and can be deleted at any time. It holds a snapshot: while a run rewrites the source
tables, requests keep reading the previous snapshot, and the new one replaces it in one
step once it is complete. A fingerprint of the source tables (row count and the XOR of
row hashes) tells at start-up whether the stored snapshot is still current.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custseg.features.catalog import FAMILIES, IDENTITY_COLUMNS, feature_family

__all__ = ["CACHE_FILE", "CustomerLookup", "Layout"]

log = logging.getLogger(__name__)

#: The cache file, relative to the workspace folder.
CACHE_FILE = ".custseg-cache/customer_lookup.duckdb"
_DB = "custseg_lookup"
#: Bump when the card layout changes, so stored snapshots are rebuilt.
_LAYOUT_VERSION = 1
_SOURCES = (
    "customer_features",
    "memberships",
    "segment_definitions",
    "recommendations",
    "customer_actions",
    "shipping_tiers",
)
#: Columns of ``shipping_tiers`` reported as such; the others are packaging flags.
_SHIPPING_FIELDS = (
    "tier",
    "method",
    "reason",
    "nearest_warehouse",
    "distance_km",
    "beyond_promise",
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_value(alias: str, column: str, sql_type: str) -> str:
    """A column as a JSON-safe value: timestamps as ISO 8601, NaN and infinities as null."""
    ref = f"{alias}.{_q(column)}"
    if sql_type.startswith("TIMESTAMP"):
        return f"strftime({ref}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if sql_type in ("DOUBLE", "FLOAT", "REAL"):
        return f"CASE WHEN isfinite({ref}) THEN {ref} END"
    return ref


@dataclass(frozen=True)
class Layout:
    """Where each value sits in a card, and the facts shared by every customer."""

    families: tuple[tuple[str, tuple[str, ...]], ...]
    recommendation: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    shipping: tuple[str, ...] = ()
    packaging: tuple[str, ...] = ()
    titles: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None

    def to_json(self) -> str:
        """The layout as stored next to the cards."""
        return json.dumps(
            {
                "families": self.families,
                "recommendation": self.recommendation,
                "action": self.action,
                "shipping": self.shipping,
                "packaging": self.packaging,
                "titles": self.titles,
                "run_id": self.run_id,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Layout:
        d = json.loads(text)
        return cls(
            families=tuple((f, tuple(cols)) for f, cols in d["families"]),
            recommendation=tuple(d["recommendation"]),
            action=tuple(d["action"]),
            shipping=tuple(d["shipping"]),
            packaging=tuple(d["packaging"]),
            titles=dict(d["titles"]),
            run_id=d["run_id"],
        )

    def response(self, customer_id: str, card: list[Any]) -> dict[str, Any]:
        """The ``GET /customers/{id}`` body from a stored card."""
        values, is_stub, as_of, segments, recs, action, shipping = card
        features: dict[str, dict[str, Any]] = {}
        i = 0
        for family, cols in self.families:
            features[family] = dict(zip(cols, values[i : i + len(cols)], strict=True))
            i += len(cols)
        ship = None
        if shipping is not None:
            n = len(self.shipping)
            ship = dict(zip(self.shipping, shipping[:n], strict=True))
            ship["packaging"] = dict(zip(self.packaging, shipping[n:], strict=True))
        return {
            "customer_id": customer_id,
            "as_of": as_of,
            "run_id": self.run_id,
            "is_stub": is_stub,
            "features": features,
            "segments": [
                {"key": key, "title": self.titles.get(key, key), "family": family}
                for key, family in segments
            ],
            "recommendations": [dict(zip(self.recommendation, r, strict=True)) for r in recs],
            "action": None if action is None else dict(zip(self.action, action, strict=True)),
            "shipping": ship,
        }


class CustomerLookup:
    """Per-customer cards for ``GET /customers/{id}``: built by :meth:`refresh`, read by :meth:`get`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The process's DuckDB connection to the workspace database.
    path : Path
        The cache file (:data:`CACHE_FILE` inside the workspace).
    recommendations : int
        How many recommendations a card keeps (the best ranks).
    """

    def __init__(self, con: Any, path: Path, *, recommendations: int = 5) -> None:
        self._con = con
        self._path = Path(path)
        self._n_recs = recommendations
        self._local = threading.local()
        #: (table, layout) of the snapshot being served, or None before the first build.
        self._current: tuple[str, Layout] | None = None

    @property
    def ready(self) -> bool:
        """Whether a snapshot is being served."""
        return self._current is not None

    # ------------------------------------------------------------------ read (hot path)

    def _cursor(self) -> Any:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute("SET enable_progress_bar = false")
            self._local.cursor = cur
        return cur

    def get(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's card as the response body, or None for an unknown customer.

        Call :attr:`ready` first: before the first :meth:`refresh` there is nothing to read.
        """
        current = self._current
        if current is None:
            return None
        table, layout = current
        row = (
            self._cursor()
            .execute(f"SELECT card FROM {table} WHERE customer_id = ?", [customer_id])
            .fetchone()
        )
        return None if row is None else layout.response(customer_id, json.loads(row[0]))

    # ------------------------------------------------------------------ build

    def _attach(self, cur: Any) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        cur.execute(f"ATTACH IF NOT EXISTS {_lit(str(self._path))} AS {_DB}")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {_DB}.snapshots "
            "(generation INTEGER, fingerprint VARCHAR, layout VARCHAR, built_at TIMESTAMPTZ)"
        )

    @staticmethod
    def _present(cur: Any) -> dict[str, list[tuple[str, str]]]:
        """The source tables that exist, with their (column, type) lists."""
        names = {
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() "
                "WHERE database_name = current_database() AND schema_name = 'main'"
            ).fetchall()
        }
        return {
            t: [(r[0], r[1]) for r in cur.execute(f"DESCRIBE {_q(t)}").fetchall()]
            for t in _SOURCES
            if t in names
        }

    def _fingerprint(self, cur: Any, present: dict[str, list[tuple[str, str]]]) -> str:
        parts: dict[str, Any] = {"layout": _LAYOUT_VERSION, "recommendations": self._n_recs}
        for t in present:
            n, h = cur.execute(f"SELECT count(*), bit_xor(hash(x)) FROM {_q(t)} x").fetchone()
            parts[t] = [n, str(h), present[t]]
        return json.dumps(parts, sort_keys=True)

    def refresh(self, *, force: bool = False) -> bool:
        """Rebuild the cards when the source tables changed (or always, with ``force``).

        Call it with writes excluded (the app holds its write lock). Requests keep being
        served from the previous snapshot until the new one is complete.

        Returns
        -------
        bool
            Whether a new snapshot was built.
        """
        cur = self._con.cursor()
        try:
            cur.execute("SET enable_progress_bar = false")
            self._attach(cur)
            present = self._present(cur)
            if "customer_features" not in present:
                log.warning("customer_features is missing: GET /customers/{id} answers 409")
                self._current = None
                return False
            fingerprint = self._fingerprint(cur, present)
            last = cur.execute(
                f"SELECT generation, fingerprint, layout FROM {_DB}.snapshots "
                "ORDER BY generation DESC LIMIT 1"
            ).fetchone()
            if last is not None and last[1] == fingerprint and not force:
                self._current = (f"{_DB}.cards_{last[0]}", Layout.from_json(last[2]))
                log.info("customer lookup: snapshot %d is current", last[0])
                return False
            generation = 1 if last is None else last[0] + 1
            table = f"{_DB}.cards_{generation}"
            t0 = time.perf_counter()
            layout, sql = _build_sql(cur, present, table, n_recs=self._n_recs)
            cur.execute(sql)
            cur.execute(f"CREATE INDEX cards_{generation}_id ON {table} (customer_id)")
            cur.execute(
                f"INSERT INTO {_DB}.snapshots VALUES (?, ?, ?, now())",
                [generation, fingerprint, layout.to_json()],
            )
            self._current = (table, layout)
            for (old,) in cur.execute(
                f"SELECT generation FROM {_DB}.snapshots WHERE generation < ?", [generation]
            ).fetchall():
                cur.execute(f"DROP TABLE IF EXISTS {_DB}.cards_{old}")
            cur.execute(f"DELETE FROM {_DB}.snapshots WHERE generation < ?", [generation])
            log.info(
                "customer lookup: built snapshot %d in %.1f s", generation, time.perf_counter() - t0
            )
            return True
        finally:
            cur.close()


def _build_sql(
    cur: Any, present: dict[str, list[tuple[str, str]]], table: str, *, n_recs: int
) -> tuple[Layout, str]:
    """The layout and the ``CREATE TABLE ... AS`` statement of one snapshot."""
    feats = [(c, t) for c, t in present["customer_features"] if c not in IDENTITY_COLUMNS]
    order = ("customer", *FAMILIES)
    by_family: dict[str, list[tuple[str, str]]] = {}
    for c, t in feats:
        by_family.setdefault(feature_family(c), []).append((c, t))
    families = sorted(by_family, key=lambda f: (order.index(f) if f in order else len(order), f))
    values = [_json_value("f", c, t) for fam in families for c, t in by_family[fam]]
    layout_families = tuple((fam, tuple(c for c, _ in by_family[fam])) for fam in families)

    ctes, joins = [], []
    segments = "[]::JSON[]"
    titles: dict[str, str] = {}
    run_id = None
    if "memberships" in present:
        ctes.append(
            "seg AS (SELECT customer_id, list(json_array(segment, family) ORDER BY segment) AS s "
            "FROM memberships GROUP BY customer_id)"
        )
        joins.append("LEFT JOIN seg ON seg.customer_id = f.customer_id")
        segments = "coalesce(seg.s, []::JSON[])"
        run_id = cur.execute("SELECT max(run_id) FROM memberships").fetchone()[0]
    if "segment_definitions" in present:
        titles = dict(cur.execute("SELECT name, title FROM segment_definitions").fetchall())

    recs, rec_cols = "[]::JSON[]", ()
    if "recommendations" in present and n_recs > 0:
        cols = [(c, t) for c, t in present["recommendations"] if c not in ("customer_id", "as_of")]
        rec_cols = tuple(c for c, _ in cols)
        items = ", ".join(_json_value("r", c, t) for c, t in cols)
        ctes.append(
            f"rec AS (SELECT r.customer_id, list(json_array({items}) ORDER BY r.rank) AS r "
            f"FROM recommendations r WHERE r.rank <= {int(n_recs)} GROUP BY r.customer_id)"
        )
        joins.append("LEFT JOIN rec ON rec.customer_id = f.customer_id")
        recs = "coalesce(rec.r, []::JSON[])"

    action, action_cols = "NULL", ()
    if "customer_actions" in present:
        cols = [(c, t) for c, t in present["customer_actions"] if c != "customer_id"]
        action_cols = tuple(c for c, _ in cols)
        ctes.append(
            "act AS (SELECT * FROM customer_actions "
            "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY rank) = 1)"
        )
        joins.append("LEFT JOIN act a ON a.customer_id = f.customer_id")
        items = ", ".join(_json_value("a", c, t) for c, t in cols)
        action = f"CASE WHEN a.customer_id IS NULL THEN NULL ELSE json_array({items}) END"

    shipping, ship_cols, pack_cols = "NULL", (), ()
    if "shipping_tiers" in present:
        cols = [(c, t) for c, t in present["shipping_tiers"] if c != "customer_id"]
        ship_cols = tuple(c for c, _ in cols if c in _SHIPPING_FIELDS)
        pack_cols = tuple(c for c, _ in cols if c not in _SHIPPING_FIELDS)
        ordered = [x for x in cols if x[0] in ship_cols] + [x for x in cols if x[0] in pack_cols]
        ctes.append(
            "ship AS (SELECT * FROM shipping_tiers "
            "QUALIFY row_number() OVER (PARTITION BY customer_id) = 1)"
        )
        joins.append("LEFT JOIN ship s ON s.customer_id = f.customer_id")
        items = ", ".join(_json_value("s", c, t) for c, t in ordered)
        shipping = f"CASE WHEN s.customer_id IS NULL THEN NULL ELSE json_array({items}) END"

    card = (
        f"json_array(json_array({', '.join(values)}), f.is_stub, f.as_of, "
        f"{segments}, {recs}, {action}, {shipping})::VARCHAR"
    )
    sql = (
        f"CREATE TABLE {table} AS "
        + (f"WITH {', '.join(ctes)} " if ctes else "")
        + f"SELECT f.customer_id, {card} AS card FROM customer_features f {' '.join(joins)}"
    )
    layout = Layout(
        families=layout_families,
        recommendation=rec_cols,
        action=action_cols,
        shipping=ship_cols,
        packaging=pack_cols,
        titles=titles,
        run_id=run_id,
    )
    return layout, sql
