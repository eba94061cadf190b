"""The custseg commands end to end: init, status, ingest, validate, quarantine.

Most tests drive ``custseg.cli.app`` in-process with Typer's CliRunner (fast); a few run
the installed ``custseg`` script in a subprocess, as users do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from custseg.cli import app
from tests.cli.conftest import cli_env, run_cli, snapshot

TABLES = [
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

#: 3 rows: C1 and C2 load; row 3 has no id (missing_value).
CUSTOMERS = """\
customer_id,email,first_name
C1,ann@example.com,Ann
C2,bob@example.com,Bob
,nobody@example.com,Nobody
"""
#: 4 rows: O1 and O4 load; O2 (data row 2) has month 13; O3 (file line 4) has 5 fields.
ORDERS = """\
order_id,customer_id,ordered_at,total
O1,C1,2024-01-01T00:00:00Z,10.00
O2,C1,2024-13-01T00:00:00Z,5.00
O3,C2,2024-01-03T00:00:00Z,7.00,extra
O4,C2,2024-01-04T00:00:00Z,8.50
"""


@pytest.fixture(autouse=True)
def _no_custseg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CUSTSEG_WORKSPACE", "CUSTSEG_BACKEND", "CUSTSEG_BASE_CURRENCY", "CUSTSEG_DEBUG"):
        monkeypatch.delenv(var, raising=False)


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run the app in-process with a wide console (Rich reads COLUMNS)."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200", **(env or {})})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result


def fails(result: Result, code: int) -> str:
    """Assert a one-paragraph error with exit ``code``; return the message."""
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    msg = result.stderr.strip()
    assert msg.startswith("error: "), msg
    assert "\n\n" not in msg
    assert "Traceback" not in msg
    return msg


def as_json(result: Result) -> object:
    return json.loads(ok(result).stdout)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ok(cli("init", tmp_path / "ws"))
    return tmp_path / "ws"


def add_sources(ws: Path, toml: str) -> None:
    cfg = ws / "custseg.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + toml, encoding="utf-8")


# --------------------------------------------------------------------------- init and status


def test_init_creates_the_workspace(tmp_path: Path) -> None:
    r = ok(cli("init", tmp_path / "shop"))
    assert "Created workspace" in r.stdout
    assert (tmp_path / "shop" / "custseg.toml").is_file()
    assert (tmp_path / "shop" / "custseg.duckdb").is_file()


def test_init_next_step_names_the_sources_section(tmp_path: Path) -> None:
    """The hint reads 'add [sources.NAME] to custseg.toml' (brackets must not be eaten)."""
    r = ok(cli("init", tmp_path / "shop"))
    assert "[sources.NAME]" in r.stdout, r.stdout


def test_init_refuses_an_existing_workspace_then_force(ws: Path) -> None:
    write(ws / "custseg.toml", '[workspace]\nname = "mine"\n')
    msg = fails(cli("init", ws), 2)
    assert "already exists" in msg and "--force" in msg
    assert (ws / "custseg.toml").read_text(encoding="utf-8") == '[workspace]\nname = "mine"\n'
    ok(cli("init", ws, "--force"))
    assert "[workspace]" in (ws / "custseg.toml").read_text(encoding="utf-8")
    assert 'name = "mine"' not in (ws / "custseg.toml").read_text(encoding="utf-8")


def test_status_of_a_new_workspace(ws: Path) -> None:
    st = as_json(cli("status", "-w", ws, "--json"))
    assert st["root"] == str(ws.resolve())
    assert st["backend"] == f"duckdb://{ws.resolve() / 'custseg.duckdb'}"
    assert st["tables"] == {t: {"rows": 0, "quarantined": 0} for t in TABLES}
    assert st["loads"] == []
    assert st["quarantine_rules"] == {}


def test_status_table_of_a_new_workspace(ws: Path) -> None:
    out = ok(cli("status", "-w", ws)).stdout
    for t in TABLES:
        assert t in out
    assert "Quarantine: empty." in out


def test_status_with_a_broken_config_is_exit_2(ws: Path) -> None:
    write(
        ws / "custseg.toml",
        '[workspace]\nname = "x"\n\n[sources.a]\npath = "a.csv"\ntabel = "orders"\n',
    )
    msg = fails(cli("status", "-w", ws), 2)
    assert "sources.a.tabel" in msg
    assert "line 6" in msg
    assert "Did you mean 'table'?" in msg


# --------------------------------------------------------------------------- ingest FILE


def test_ingest_file_then_status_counts(ws: Path, tmp_path: Path) -> None:
    cust = write(tmp_path / "customers.csv", CUSTOMERS)
    orders = write(tmp_path / "orders.csv", ORDERS)

    rep = as_json(cli("ingest", cust, "--table", "customers", "-w", ws, "--json"))
    assert (rep["rows_in"], rep["rows_loaded"], rep["rows_quarantined"]) == (3, 2, 1)
    assert rep["sources"][0]["quarantined"] == {"missing_value": 1}

    rep = as_json(cli("ingest", orders, "--table", "orders", "-w", ws, "--json"))
    assert (rep["rows_in"], rep["rows_loaded"], rep["rows_quarantined"]) == (4, 2, 2)
    assert rep["sources"][0]["quarantined"] == {"unparseable_value": 1, "malformed_row": 1}
    assert rep["sources"][0]["repaired"] == {}  # C1 and C2 are known: no stub customers

    st = as_json(cli("status", "-w", ws, "--json"))
    expected = {t: {"rows": 0, "quarantined": 0} for t in TABLES}
    expected["customers"] = {"rows": 2, "quarantined": 1}
    expected["orders"] = {"rows": 2, "quarantined": 2}
    assert st["tables"] == expected
    assert st["quarantine_rules"] == {
        "malformed_row": 1,
        "missing_value": 1,
        "unparseable_value": 1,
    }
    loads = {ld["table"]: ld for ld in st["loads"]}
    assert set(loads) == {"customers", "orders"}
    assert (loads["orders"]["rows_in"], loads["orders"]["rows_loaded"]) == (4, 2)
    assert loads["orders"]["rows_quarantined"] == 2
    assert loads["customers"]["source"] == f"file:{cust.resolve()}:customers"


def test_ingest_file_prints_a_report(ws: Path, tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    out = ok(cli("ingest", orders, "--table", "orders", "-w", ws)).stdout
    assert "orders.csv" in out
    assert "unparseable_value" in out and "malformed_row" in out
    assert "rows in 4 = loaded 2 + quarantined 2" in out


def test_ingest_same_file_twice_is_skipped(ws: Path, tmp_path: Path) -> None:
    cust = write(tmp_path / "customers.csv", CUSTOMERS)
    ok(cli("ingest", cust, "--table", "customers", "-w", ws))
    before = snapshot(ws / "custseg.duckdb")
    rep = as_json(cli("ingest", cust, "--table", "customers", "-w", ws, "--json"))
    assert rep["sources"][0]["skipped"] is True
    assert snapshot(ws / "custseg.duckdb") == before
    rep = as_json(cli("ingest", cust, "--table", "customers", "-w", ws, "--json", "--force"))
    assert rep["sources"][0]["skipped"] is False
    assert (rep["rows_loaded"], rep["rows_quarantined"]) == (2, 1)
    st = as_json(cli("status", "-w", ws, "--json"))
    assert st["tables"]["customers"] == {"rows": 2, "quarantined": 1}


def test_ingest_file_without_table_or_mapping_is_a_usage_error(ws: Path, tmp_path: Path) -> None:
    cust = write(tmp_path / "customers.csv", CUSTOMERS)
    msg = fails(cli("ingest", cust, "-w", ws), 2)
    assert "--table" in msg


# --------------------------------------------------------------------------- validate


def test_validate_json_on_a_configured_source_writes_nothing(ws: Path, tmp_path: Path) -> None:
    ok(
        cli(
            "ingest", write(tmp_path / "customers.csv", CUSTOMERS), "--table", "customers", "-w", ws
        )
    )
    write(ws / "exports" / "orders.csv", ORDERS)
    add_sources(ws, '[sources.shop]\npath = "exports/orders.csv"\ntable = "orders"\n')
    before = snapshot(ws / "custseg.duckdb")

    rep = as_json(cli("validate", "-w", ws, "--json"))

    assert (rep["rows_in"], rep["rows_loaded"], rep["rows_quarantined"]) == (4, 2, 2)
    [src] = rep["sources"]
    assert src["source"] == "shop"
    assert src["dry_run"] is True
    assert src["file"] == str(ws.resolve() / "exports" / "orders.csv")
    assert src["quarantined"] == {"unparseable_value": 1, "malformed_row": 1}
    assert snapshot(ws / "custseg.duckdb") == before

    out = ok(cli("validate", "-w", ws)).stdout
    assert "nothing written" in out
    assert snapshot(ws / "custseg.duckdb") == before


def test_validate_unknown_source_lists_the_configured_ones(ws: Path) -> None:
    add_sources(ws, '[sources.shop]\npath = "orders.csv"\ntable = "orders"\n')
    msg = fails(cli("validate", "nosuch", "-w", ws), 2)
    assert "nosuch" in msg and "shop" in msg


# --------------------------------------------------------------------------- quarantine


def test_quarantine_json_shows_the_original_rows(ws: Path, tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    ok(cli("ingest", orders, "--table", "orders", "-w", ws))

    rows = as_json(cli("quarantine", "-w", ws, "--json"))

    assert isinstance(rows, list) and len(rows) == 2
    by_pos = {(r["position_kind"], r["position"]): r for r in rows}
    assert set(by_pos) == {("row", 2), ("line", 4)}
    bad_date, bad_line = by_pos[("row", 2)], by_pos[("line", 4)]
    for r in rows:
        assert r["source"] == f"file:{orders.resolve()}:orders"
        assert r["source_file"] == str(orders.resolve())
        assert r["table"] == "orders"
    assert bad_date["rule"] == "unparseable_value"
    assert "2024-13-01T00:00:00Z" in bad_date["reason"]
    assert json.loads(bad_date["raw"]) == {
        "order_id": "O2",
        "customer_id": "C1",
        "ordered_at": "2024-13-01T00:00:00Z",
        "total": "5.00",
    }
    assert bad_line["rule"] == "malformed_row"
    assert bad_line["raw"] == "O3,C2,2024-01-03T00:00:00Z,7.00,extra"


def test_quarantine_source_filter_and_limit(ws: Path, tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    cust = write(tmp_path / "customers.csv", CUSTOMERS)
    ok(cli("ingest", orders, "--table", "orders", "-w", ws))
    ok(cli("ingest", cust, "--table", "customers", "-w", ws))
    assert len(as_json(cli("quarantine", "-w", ws, "--json"))) == 3
    assert len(as_json(cli("quarantine", "-w", ws, "--json", "--limit", "1"))) == 1
    only = as_json(
        cli("quarantine", "-w", ws, "--json", "--source", f"file:{cust.resolve()}:customers")
    )
    assert [r["rule"] for r in only] == ["missing_value"]
    assert as_json(cli("quarantine", "-w", ws, "--json", "--source", "nosuch")) == []


def test_quarantine_table(ws: Path, tmp_path: Path) -> None:
    ok(cli("ingest", write(tmp_path / "orders.csv", ORDERS), "--table", "orders", "-w", ws))
    out = ok(cli("quarantine", "-w", ws)).stdout
    assert "row 2" in out and "line 4" in out
    assert "unparseable_value" in out and "malformed_row" in out


# --------------------------------------------------------------------------- configured sources


def test_ingest_configured_sources_parents_first(ws: Path) -> None:
    write(ws / "data" / "orders.csv", ORDERS)
    write(ws / "data" / "customers.csv", CUSTOMERS)
    # orders come first in the file; customers must still load first
    add_sources(
        ws,
        '[sources.shop_orders]\npath = "data/orders.csv"\ntable = "orders"\n\n'
        '[sources.crm]\npath = "data/customers.csv"\ntable = "customers"\n',
    )
    rep = as_json(cli("ingest", "-w", ws, "--json"))
    assert [s["source"] for s in rep["sources"]] == ["crm", "shop_orders"]
    assert (rep["rows_in"], rep["rows_loaded"], rep["rows_quarantined"]) == (7, 4, 3)
    assert rep["sources"][1]["repaired"] == {}  # C1, C2 were loaded before the orders
    st = as_json(cli("status", "-w", ws, "--json"))
    assert st["tables"]["customers"]["rows"] == 2
    assert st["tables"]["orders"]["rows"] == 2
    assert {ld["source"] for ld in st["loads"]} == {"crm", "shop_orders"}


def test_ingest_one_named_source(ws: Path) -> None:
    write(ws / "data" / "customers.csv", CUSTOMERS)
    add_sources(
        ws,
        '[sources.crm]\npath = "data/customers.csv"\ntable = "customers"\n\n'
        '[sources.shop_orders]\npath = "data/missing.csv"\ntable = "orders"\n',
    )
    rep = as_json(cli("ingest", "crm", "-w", ws, "--json"))
    assert [s["source"] for s in rep["sources"]] == ["crm"]


def test_unknown_source_name_lists_the_configured_sources(ws: Path) -> None:
    add_sources(
        ws,
        '[sources.shop_orders]\npath = "orders.csv"\ntable = "orders"\n\n'
        '[sources.crm]\npath = "customers.csv"\ntable = "customers"\n',
    )
    before = snapshot(ws / "custseg.duckdb")
    msg = fails(cli("ingest", "shop_ordrs", "-w", ws), 2)
    assert "shop_ordrs" in msg
    assert "Configured sources: shop_orders, crm" in msg
    assert snapshot(ws / "custseg.duckdb") == before


def test_ingest_without_sources_is_a_helpful_usage_error(ws: Path) -> None:
    msg = fails(cli("ingest", "-w", ws), 2)
    assert "no sources are configured" in msg
    assert "custseg ingest FILE --table TABLE" in msg


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("no_sources", "[sources.NAME]"),
        ("no_header", "[sources.NAME.columns]"),
        ("bad_backend", "[workspace].backend"),
    ],
)
def test_error_messages_keep_their_bracketed_text(
    ws: Path, tmp_path: Path, setup: str, needle: str
) -> None:
    """Messages name config sections like [sources.NAME]; the console must print them as is."""
    if setup == "no_sources":
        result = cli("ingest", "-w", ws)
    elif setup == "no_header":
        f = write(tmp_path / "x.csv", "O1,C1,2024-01-01T00:00:00Z,1.00\n")
        result = cli("ingest", f, "--table", "orders", "-w", ws)
    else:
        write(ws / "custseg.toml", '[workspace]\nbackend = "duckdb://no/such/dir/x.duckdb"\n')
        result = cli("status", "-w", ws)
    assert result.exit_code in (1, 2)
    assert needle in result.stderr, result.stderr


# --------------------------------------------------------------------------- which workspace


@pytest.fixture
def three(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("flag", "env", "cwd"):
        ok(cli("init", tmp_path / name))
        out[name] = (tmp_path / name).resolve()
    return out


def _root(result: Result) -> str:
    return as_json(result)["root"]


def test_workspace_flag_beats_env_and_cwd(
    three: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(three["cwd"])
    env = {"CUSTSEG_WORKSPACE": str(three["env"])}
    assert _root(cli("status", "--json", "--workspace", three["flag"], env=env)) == str(
        three["flag"]
    )
    assert _root(cli("status", "--json", "-w", three["flag"], env=env)) == str(three["flag"])


def test_env_beats_cwd(three: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(three["cwd"])
    env = {"CUSTSEG_WORKSPACE": str(three["env"])}
    assert _root(cli("status", "--json", env=env)) == str(three["env"])


def test_cwd_is_the_default(three: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(three["cwd"])
    assert _root(cli("status", "--json")) == str(three["cwd"])


def test_ingest_goes_to_the_chosen_workspace(
    three: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cust = write(tmp_path / "customers.csv", CUSTOMERS)
    monkeypatch.chdir(three["cwd"])
    ok(cli("ingest", cust, "--table", "customers", env={"CUSTSEG_WORKSPACE": str(three["env"])}))
    counts = {
        name: as_json(cli("status", "--json", "-w", p))["tables"]["customers"]["rows"]
        for name, p in three.items()
    }
    assert counts == {"flag": 0, "env": 2, "cwd": 0}


def test_no_workspace_anywhere_suggests_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    msg = fails(cli("status"), 2)
    assert "custseg init" in msg
    assert "the current folder" in msg
    msg = fails(cli("status", "-w", tmp_path / "nowhere"), 2)
    assert "custseg init" in msg and "--workspace" in msg


# --------------------------------------------------------------------------- the real script


def test_script_help_lists_the_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("init", "status", "ingest", "validate", "quarantine", "synth", "demo"):
        assert command in proc.stdout


def test_script_honours_custseg_workspace(tmp_path: Path) -> None:
    ok(cli("init", tmp_path / "ws"))
    (tmp_path / "elsewhere").mkdir()
    proc = run_cli(
        "status",
        "--json",
        cwd=tmp_path / "elsewhere",
        env=cli_env(CUSTSEG_WORKSPACE=str(tmp_path / "ws")),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["root"] == str((tmp_path / "ws").resolve())


def test_script_missing_workspace_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    proc = run_cli("status", cwd=tmp_path)
    assert proc.returncode == 2
    msg = proc.stderr.strip()
    assert msg.startswith("error: ") and "\n" not in msg
    assert "custseg init" in msg
    assert proc.stdout == ""
