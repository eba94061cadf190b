"""Helpers for the CLI tests: run the real ``custseg`` command, snapshot a workspace database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

DATA = Path(__file__).parent.parent / "data"
BAD = DATA / "bad"

#: The installed console script (the venv's bin folder holds it next to python).
CUSTSEG = Path(sys.executable).with_name("custseg")

#: A baseline the bad-input cases run on top of: two customers and two orders whose ids
#: collide with no case file, so every later change to these rows is a bug.
BASE_CUSTOMERS = """\
customer_id,email,first_name,last_name,country
B001,b001@example.com,Bea,Baker,US
B002,b002@example.com,Ben,Carter,DE
"""
BASE_ORDERS = """\
order_id,customer_id,ordered_at,currency,total
B-100,B001,2024-01-10T10:00:00Z,USD,10.00
B-101,B002,2024-01-11T12:30:00Z,USD,7.50
"""


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a ``custseg`` subprocess: no CUSTSEG_* leaking in, a wide console."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTSEG_")}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``custseg ARGS`` as a user would, and return the finished process."""
    if not CUSTSEG.exists():  # pragma: no cover - a broken venv
        pytest.fail(f"the custseg console script is not installed at {CUSTSEG}")
    return subprocess.run(
        [str(CUSTSEG), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env() if env is None else env,
        timeout=120,
    )


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table of a DuckDB file with its full, sorted content (read-only)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run one read-only query on a DuckDB file (timestamps in UTC)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert a command succeeded, showing its output when it did not."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def baseline_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the baseline customers and orders, made once through the CLI.

    Tests copy it (:func:`copy_ws`) and never change it.
    """
    root = tmp_path_factory.mktemp("baseline")
    (root / "base_customers.csv").write_text(BASE_CUSTOMERS, encoding="utf-8")
    (root / "base_orders.csv").write_text(BASE_ORDERS, encoding="utf-8")
    ws = root / "ws"
    ok(run_cli("init", ws))
    ok(run_cli("ingest", root / "base_customers.csv", "--table", "customers", "-w", ws))
    ok(run_cli("ingest", root / "base_orders.csv", "--table", "orders", "-w", ws))
    return ws


def copy_ws(src: Path, dest: Path) -> Path:
    """A private copy of a workspace folder (config and database)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
    return dest
