"""The bad-input corpus (tests/data/bad/cases.toml) through the real ``custseg`` command.

Each case runs in its own copy of a workspace that already holds good data (the
``baseline_ws`` fixture). A refused input (exit 1 or 2) must leave every table exactly as
it was; an accepted one (exit 0) must load and quarantine the exact row counts of the
case, keep every baseline row, and put each quarantined row in ``_quarantine`` with a
rule and a reason.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from custseg.ingest.report import RULES
from tests.cli.conftest import BAD, copy_ws, ok, query, run_cli, snapshot

CASES: list[dict] = tomllib.loads((BAD / "cases.toml").read_text(encoding="utf-8"))["case"]
EXIT = {"config": 2, "usage": 2, "data": 1, "quarantine": 0}
CANONICAL = [
    "customers",
    "accounts",
    "orders",
    "order_lines",
    "events",
    "attributes",
    "campaigns",
    "campaign_exposures",
    "campaign_outcomes",
]

#: What some accepted cases must have loaded, worked out by hand from the case files.
#: (query on the workspace after the load, expected rows)
LOADED: dict[str, list[tuple[str, list[tuple]]]] = {
    "control_orders": [
        (
            "SELECT order_id, customer_id, total FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [
                ("A1001", "C001", Decimal("25.00")),
                ("A1002", "C002", Decimal("40.50")),
                ("A1003", "C001", Decimal("12.00")),
            ],
        )
    ],
    "mapping_ok": [
        (
            "SELECT order_id, customer_id, total, currency FROM orders "
            "WHERE order_id LIKE 'L-%' ORDER BY 1",
            [
                ("L-1", "c1", Decimal("25.00"), "USD"),
                ("L-2", "c2", Decimal("40.50"), "USD"),
                ("L-3", "c1", Decimal("12.00"), "USD"),
            ],
        )
    ],
    "truncated_quoted_last_row": [
        (
            "SELECT order_id, shipping_method FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [
                ("A1001", "standard"),
                ("A1002", "express, signature required"),
                ("A1003", "standard"),
            ],
        )
    ],
    "extra_fields_rows": [
        (
            "SELECT order_id FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [("A1001",), ("A1003",), ("A1005",)],
        )
    ],
    "missing_fields_rows": [
        (
            "SELECT order_id FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [("A1001",), ("A1002",), ("A1004",), ("A1006",)],
        )
    ],
    "bom_customers": [
        (
            "SELECT customer_id, first_name, last_name, city FROM customers "
            "WHERE customer_id LIKE 'C%' ORDER BY 1",
            [
                ("C001", "José", "Müller", "München"),
                ("C002", "Zoë", "Ångström", "Göteborg"),
                ("C003", "Ada", "Lovelace", "London"),
            ],
        )
    ],
    "mixed_types_numeric": [
        (
            "SELECT order_id, total FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [
                ("A1001", Decimal("25.00")),
                ("A1003", Decimal("13.00")),
                ("A1005", Decimal("40.50")),
            ],
        )
    ],
    "bad_dates": [
        (
            "SELECT order_id, CAST(ordered_at AS VARCHAR) FROM orders "
            "WHERE order_id LIKE 'A%' ORDER BY 1",
            [
                ("A1001", "2024-03-05 10:00:00+00"),
                ("A1006", "2024-03-06 07:00:00+00"),
                ("A1008", "2024-03-07 09:30:00+00"),
            ],
        )
    ],
    "null_like_ids": [
        (
            "SELECT customer_id, first_name FROM customers "
            "WHERE customer_id NOT LIKE 'B%' ORDER BY 1",
            [("0", "Zero"), ("C001", "Ada"), ("C002", "Grace")],
        )
    ],
    "huge_numbers": [
        (
            "SELECT order_id, total FROM orders WHERE order_id LIKE 'A%' ORDER BY 1",
            [("A1001", Decimal("25.00")), ("A1004", Decimal("9999999999999999.99"))],
        )
    ],
    "huge_quantity": [
        (
            "SELECT order_id, line_no, quantity, unit_price FROM order_lines ORDER BY 1",
            [("L1", 1, 1, Decimal("10.00")), ("L3", 1, 3, Decimal("2.50"))],
        )
    ],
    "negative_prices": [
        (
            "SELECT order_id, quantity, unit_price FROM order_lines ORDER BY 1",
            [
                ("L1", 1, Decimal("10.00")),
                ("L3", -1, Decimal("10.00")),
                ("L5", 1, Decimal("0.00")),
            ],
        )
    ],
    "shopify_customers_sci_ids": [
        (
            # the one intact id loads (its leading apostrophe stripped); the two lost ids
            # are not replaced by anything, e-mail included
            "SELECT customer_id, email FROM customers WHERE customer_id NOT LIKE 'B%' ORDER BY 1",
            [("7985351729001", "ada.lovelace@example.com")],
        )
    ],
}


def _case_id(case: dict) -> str:
    return case["name"]


def _physical_lines(qrows: list[tuple]) -> list[int]:
    """The file line where each quarantined record starts.

    A "line" position is that line. A "row" position is the data row of a CSV with a header:
    in the case files no record before a quarantined one spans two lines, so row N is line N + 1.
    """
    out = []
    for kind, pos, *_ in qrows:
        assert kind in ("line", "row"), f"cannot place a {kind} position on a line"
        out.append(pos if kind == "line" else pos + 1)
    return sorted(out)


def test_corpus_is_well_formed() -> None:
    """cases.toml itself: enough cases, unique names, files present, fields consistent."""
    assert len(CASES) >= 30
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert set(LOADED) <= set(names), "LOADED names a case that does not exist"
    for c in CASES:
        assert c["kind"] in EXIT, c["name"]
        assert (BAD / c["file"]).exists() == c.get("exists", True), c["name"]
        if "config" in c:
            assert (BAD / c["config"]).is_file(), c["name"]
        for step in c.get("setup", []):
            assert (BAD / step["file"]).is_file(), c["name"]
        if "source" in c:
            assert "config" in c, f"{c['name']}: a source case needs its config"
        if c["kind"] == "quarantine":
            assert isinstance(c["loaded"], int) and isinstance(c["quarantined"], int), c["name"]
            if "lines" in c:
                assert len(c["lines"]) == c["quarantined"], c["name"]
                assert c["lines"] == sorted(c["lines"]), c["name"]
                assert all(n >= 1 for n in c["lines"]), c["name"]
        else:
            assert not {"loaded", "quarantined", "lines"} & set(c), c["name"]
        assert c["mentions"] == [m.lower() for m in c["mentions"]], c["name"]


def _prepare(case: dict, baseline: Path, tmp_path: Path) -> Path:
    """The case's workspace: the baseline, its config, its data file and setup loads."""
    ws = copy_ws(baseline, tmp_path / "ws")
    if "config" in case:
        shutil.copyfile(BAD / case["config"], ws / "custseg.toml")
    if case.get("exists", True):
        shutil.copyfile(BAD / case["file"], ws / Path(case["file"]).name)
    for step in case.get("setup", []):
        ok(run_cli("ingest", BAD / step["file"], "--table", step["table"], "-w", ws))
    return ws


def _command(case: dict, ws: Path) -> list[str | Path]:
    if "source" in case:
        return ["ingest", case["source"], "-w", ws, "--json"]
    cmd: list[str | Path] = ["ingest", BAD / case["file"], "--table", case["table"], "-w", ws]
    if "mapping" in case:
        cmd += ["--mapping", case["mapping"]]
    return [*cmd, "--json"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_input(case: dict, baseline_ws: Path, tmp_path: Path) -> None:
    ws = _prepare(case, baseline_ws, tmp_path)
    db = ws / "custseg.duckdb"
    before = snapshot(db)
    assert before["customers"] and before["orders"], "the baseline holds data"

    proc = run_cli(*_command(case, ws))
    out = proc.stdout + proc.stderr
    shown = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"

    assert "Traceback" not in out, shown
    assert "internal error" not in out.lower(), shown
    assert len(out) < 10_000, "the output must stay short (no echo of the input)"
    assert proc.returncode == EXIT[case["kind"]], f"{case['why']}\n{shown}"

    after = snapshot(db)
    if case["kind"] != "quarantine":
        msg = proc.stderr.strip()
        assert msg.startswith("error: "), shown
        assert "\n\n" not in msg, "the error must be one paragraph"
        assert proc.stdout.strip() == "", "a refused input prints no report"
        for m in case["mentions"]:
            assert m in out.lower(), f"{m!r} not in the message\n{shown}"
        assert after == before, "a refused input must leave the workspace untouched"
        return

    report = json.loads(proc.stdout)
    assert (report["rows_loaded"], report["rows_quarantined"]) == (
        case["loaded"],
        case["quarantined"],
    ), f"{case['why']}\n{shown}"
    assert report["rows_in"] == case["loaded"] + case["quarantined"]
    table = case["table"]
    assert len(after[table]) == len(before[table]) + case["loaded"], (
        f"{case['loaded']} new rows expected in {table}"
    )
    for t in [*CANONICAL, "_loads"]:
        lost = Counter(before.get(t, [])) - Counter(after.get(t, []))
        assert not lost, f"baseline rows of {t} changed or vanished: {list(lost)[:3]}"

    [src] = report["sources"]
    qrows = query(
        db,
        "SELECT position_kind, position, rule, reason, raw FROM _quarantine "
        "WHERE source = ? ORDER BY position",
        [src["source"]],
    )
    assert len(qrows) == case["quarantined"]
    for kind, pos, rule, reason, raw in qrows:
        assert RULES[rule][0] == "quarantine", rule
        assert reason and raw is not None and pos is not None
        assert kind in ("row", "line", "record"), kind
    reasons = [reason.lower() for _, _, _, reason, _ in qrows]
    for m in case["mentions"]:
        assert m in out.lower() or any(m in r for r in reasons), (
            f"{m!r} in neither the report nor a quarantine reason: {reasons}\n{shown}"
        )
    if "lines" in case:
        assert _physical_lines(qrows) == case["lines"], qrows
    for sql, expected in LOADED.get(case["name"], []):
        assert query(db, sql) == expected, sql


# --------------------------------------------------------------------------- beyond the corpus


def test_malformed_row_reason_gives_the_real_field_count(baseline_ws: Path, tmp_path: Path) -> None:
    """extra_fields_rows.csv: line 3 has 6 fields, line 5 has 7 (the header has 5)."""
    ws = copy_ws(baseline_ws, tmp_path / "ws")
    ok(run_cli("ingest", BAD / "extra_fields_rows.csv", "--table", "orders", "-w", ws))
    reasons = dict(
        query(
            ws / "custseg.duckdb",
            "SELECT position, reason FROM _quarantine WHERE rule = 'malformed_row'",
        )
    )
    assert set(reasons) == {3, 5}
    assert re.search(r"\b6\b", reasons[3]), reasons[3]
    assert re.search(r"\b7\b", reasons[5]) and not re.search(r"\b6\b", reasons[5]), reasons[5]


def test_nul_byte_after_the_first_64_kib_is_refused_too(baseline_ws: Path, tmp_path: Path) -> None:
    """A NUL byte refuses the file wherever it is (as nul_bytes.csv, NULs near the start)."""
    ws = copy_ws(baseline_ws, tmp_path / "ws")
    lines = ["customer_id,email,first_name"]
    lines += [f"N{i:05d},n{i}@example.com,Name{i}" for i in range(3000)]
    lines[2501] = "N99999,bad\x00@example.com,Nu\x00ll"  # line 2502, ~80 KiB into the file
    path = tmp_path / "late_nul.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.read_bytes().index(b"\x00") > 65536
    before = snapshot(ws / "custseg.duckdb")

    proc = run_cli("ingest", path, "--table", "customers", "-w", ws)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nul" in proc.stderr.lower()
    assert snapshot(ws / "custseg.duckdb") == before
