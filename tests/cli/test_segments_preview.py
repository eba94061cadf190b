"""`custseg segments preview`: count, share and sample as printed, checked with pandas;
bad rules give a clean message and exit 2, and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.cli.conftest import copy_ws, ok, query, run_cli


@pytest.fixture(scope="module")
def demo_ws(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo store (the CLI runs in its own process)."""
    return copy_ws(demo_store, tmp_path_factory.mktemp("segments_cli") / "demo")


@pytest.fixture(scope="module")
def features(demo_ws: Path) -> pd.DataFrame:
    con = duckdb.connect(str(demo_ws / "custseg.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM customer_features").df()
    finally:
        con.close()


def _counts(db: Path) -> dict[str, int]:
    """Rows of every table, in one read-only connection."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_preview_prints_count_share_and_sample(demo_ws: Path, features: pd.DataFrame) -> None:
    rule = "amount_spent > 500 AND number_of_orders >= 3"
    proc = ok(run_cli("segments", "preview", rule, "-w", demo_ws, "--sample", "5"))
    f = features
    members = f[(f.amount_spent > 500) & (f.number_of_orders >= 3)].sort_values("customer_id")
    n, total = len(members), len(f)
    as_of = pd.Timestamp(f.as_of.iloc[0]).date().isoformat()
    assert f"{n:,} of {total:,} customers match ({n / total:.1%}), as of {as_of}" in proc.stdout
    ids = members.customer_id.head(5).tolist()
    positions = [proc.stdout.index(i) for i in ids]
    assert positions == sorted(positions)  # shown in customer_id order
    assert members.customer_id.iloc[5] not in proc.stdout  # only 5 shown
    assert "amount_spent" in proc.stdout and "number_of_orders" in proc.stdout


def test_preview_json(demo_ws: Path, features: pd.DataFrame) -> None:
    rule = "tags CONTAINS 'vip' OR rfm_group IN ('Champions', 'Loyal Customers')"
    proc = ok(run_cli("segments", "preview", rule, "-w", demo_ws, "--json", "-n", "3"))
    out = json.loads(proc.stdout)
    f = features
    is_vip = f.tags.fillna("").map(lambda s: "vip" in [t.strip().lower() for t in s.split(",")])
    mask = is_vip | f.rfm_group.isin(["Champions", "Loyal Customers"])
    members = sorted(f[mask].customer_id)
    assert out["count"] == len(members) and out["total"] == len(f)
    assert out["share"] == pytest.approx(len(members) / len(f))
    assert [r["customer_id"] for r in out["sample"]] == members[:3]
    assert set(out["sample"][0]) == {"customer_id", "tags", "rfm_group"}


def test_preview_with_a_function(demo_ws: Path) -> None:
    rule = "products_purchased MATCHES (category = 'footwear', count >= 2)"
    out = json.loads(ok(run_cli("segments", "preview", rule, "-w", demo_ws, "--json")).stdout)
    # second method: plain SQL over the same tables, with the documented semantics
    db = demo_ws / "custseg.duckdb"
    as_of = query(db, "SELECT max(as_of) FROM customer_features")[0][0]
    expected = query(
        db,
        """
        SELECT count(*) FROM (
          SELECT o.customer_id
          FROM order_lines l JOIN orders o USING (order_id)
          WHERE l.quantity > 0 AND l.category = 'footwear' AND o.customer_id IS NOT NULL
            AND CAST(o.ordered_at AS DATE) <= ?
            AND (o.status IS NULL OR lower(trim(o.status)) <> 'cancelled')
          GROUP BY 1 HAVING count(DISTINCT o.order_id) >= 2)
        """,
        [as_of],
    )[0][0]
    assert out["count"] == expected


#: A few of the corpus of tests/segments/dsl/test_bad_rules.py, through the real command.
BAD = [
    (
        "amount_spnt > 500",
        ["unknown field 'amount_spnt' at column 1", "did you mean 'amount_spent'?"],
    ),
    ("amount_spent > 'abc'", ["'>' needs a number or date, got 'abc' at column 16"]),
    ("country = 'US'; DROP TABLE customers; --", ["unexpected character ';' at column 15"]),
    ("(" * 1000 + "amount_spent > 1" + ")" * 1000, ["nested more than 100 levels"]),
    ("amount_spent > 1 OR " * 5_500 + "amount_spent > 1", ["limit is 100,000"]),
    ("", ["the rule is empty"]),
]


@pytest.mark.parametrize(("rule", "words"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_rules_exit_2_with_the_message(demo_ws: Path, rule: str, words: list[str]) -> None:
    db = demo_ws / "custseg.duckdb"
    before = _counts(db)
    proc = run_cli("segments", "preview", rule, "-w", demo_ws)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith("error: ")
    for w in words:
        assert w in proc.stderr
    assert "^" in proc.stderr  # the caret under the position
    assert _counts(db) == before


def test_workspace_without_features(baseline_ws: Path, tmp_path: Path) -> None:
    ws = copy_ws(baseline_ws, tmp_path / "ws")
    proc = run_cli("segments", "preview", "amount_spent > 1", "-w", ws)
    assert proc.returncode == 2
    assert "no customer_features table" in proc.stderr and "custseg features" in proc.stderr


def test_help_lists_the_sub_app() -> None:
    assert "segments" in ok(run_cli("--help")).stdout
    out = ok(run_cli("segments", "preview", "--help")).stdout
    assert "--sample" in out and "--workspace" in out and "as of" in out
