"""End to end: a generated store loads with every injected dirty row accounted for."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from custseg.demo import DIRTY_TO_RULE, reconcile, write_demo_config
from custseg.ingest import ingest_sources
from custseg.synth import generate
from custseg.workspace import open_workspace


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo")
    manifest = generate(root / "data", customers=1500, seed=7)
    write_demo_config(root, manifest)
    ws = open_workspace(root)
    report = ingest_sources(ws)
    yield root, manifest, ws, report
    ws.close()


def test_every_injected_kind_is_found_exactly(loaded) -> None:
    _, manifest, _, report = loaded
    assert set(manifest.dirty) == set(DIRTY_TO_RULE)
    for kind, injected, found, _ in reconcile(manifest, report):
        assert injected > 0, kind
        assert found == injected, kind


def test_rows_in_are_the_generated_rows_and_reconcile(loaded) -> None:
    root, manifest, _, report = loaded
    by_table = {s.table: s for s in report.sources}
    for table, info in manifest.files.items():
        if table not in by_table:
            continue
        n = pq.ParquetFile(root / "data" / info["path"]).metadata.num_rows
        assert by_table[table].rows_in == n == info["rows"], table
        assert by_table[table].balanced, table


def test_lines_of_quarantined_orders_are_quarantined_as_unknown_order(loaded) -> None:
    root, manifest, ws, report = loaded
    con = ws.connect().con
    loaded_orders = {r[0] for r in con.execute("SELECT order_id FROM orders").fetchall()}
    lines = pq.read_table(
        root / "data" / manifest.files["order_lines"]["path"], columns=["order_id", "unit_price"]
    )
    orphan = pc.invert(pc.is_in(lines["order_id"], value_set=pa.array(sorted(loaded_orders))))
    # a line is orphaned when its order did not load; negative prices are caught first
    negative = pc.less(lines["unit_price"], 0)
    expected = pc.sum(pc.and_(orphan, pc.invert(negative))).as_py() or 0
    src = next(s for s in report.sources if s.table == "order_lines")
    assert src.quarantined.get("unknown_order", 0) == expected
    n = con.execute(
        "SELECT count(*) FROM _quarantine WHERE table_name = 'order_lines' AND rule = 'unknown_order'"
    ).fetchone()[0]
    assert n == expected


def test_demo_config_is_reloadable_and_idempotent(loaded) -> None:
    root, _, ws, _ = loaded
    con = ws.connect().con
    before = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("customers", "orders", "order_lines")
    }
    again = ingest_sources(ws)
    assert all(s.skipped for s in again.sources)
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
    assert after == before
    assert Path(root / "custseg.toml").read_text().count("[sources.") == len(again.sources)
