"""`custseg monitor` and `custseg runs diff` on a hand-made history of two runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import ibis
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from custseg.cli.monitor import ALERT_EXIT_CODE, register, register_diff
from custseg.workspace import Workspace, open_workspace


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    runs_app = typer.Typer()
    register_diff(runs_app)
    app.add_typer(runs_app, name="runs")
    return app


def _history(ws: Workspace, sizes: dict[str, tuple[int, int]]) -> None:
    """Two succeeded runs with the given (run A, run B) segment sizes (family rfm)."""
    rows = []
    for seg, (na, nb) in sizes.items():
        for run, n, d in (("run-1", na, date(2025, 3, 31)), ("run-2", nb, date(2025, 6, 30))):
            rows += [
                {
                    "customer_id": f"{seg}{i}",
                    "segment": seg,
                    "family": "rfm",
                    "run_id": run,
                    "as_of": d,
                }
                for i in range(n)
            ]
    con = ws.connect()
    con.create_table("membership_snapshots", ibis.memtable(pd.DataFrame(rows)))
    runs = [
        {
            "run_id": r,
            "as_of": d,
            "status": "succeeded",
            "started_at": datetime(2025, m, 1, tzinfo=UTC),
            "finished_at": datetime(2025, m, 1, tzinfo=UTC),
            "config_hash": "",
            "data_hash": "",
            "stages": "{}",
            "error": None,
        }
        for r, d, m in (("run-1", date(2025, 3, 31), 4), ("run-2", date(2025, 6, 30), 7))
    ]
    from custseg.pipeline import _SCHEMA

    con.create_table("runs", ibis.memtable(runs, schema=_SCHEMA))


def _set_fail_on(ws: Workspace, level: str) -> None:
    toml = ws.root / "custseg.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[monitor]\nfail_on = "{level}"\n')


def _invoke(ws: Workspace, *args: str) -> object:
    ws.close()
    return CliRunner().invoke(_app(), [*args, "-w", str(ws.root)])


# rfm_champions 100 -> 60 (-40%: alert); rfm_lost 100 -> 115 (+15%: warn).
ALERTING = {"rfm_champions": (100, 60), "rfm_lost": (100, 115)}
WARN_ONLY = {"rfm_champions": (100, 100), "rfm_lost": (100, 115)}


@pytest.mark.parametrize(
    ("sizes", "fail_on", "code"),
    [
        (ALERTING, "alert", ALERT_EXIT_CODE),
        (ALERTING, "never", 0),
        (WARN_ONLY, "alert", 0),
        (WARN_ONLY, "warn", ALERT_EXIT_CODE),
    ],
)
def test_exit_code_follows_fail_on(ws: Workspace, sizes, fail_on: str, code: int) -> None:  # type: ignore[no-untyped-def]
    _history(ws, sizes)
    _set_fail_on(ws, fail_on)
    res = _invoke(ws, "monitor")
    assert res.exit_code == code, res.output
    assert "rfm_lost" in res.output


def test_json_lists_the_alerts(ws: Workspace) -> None:
    _history(ws, ALERTING)
    res = _invoke(ws, "monitor", "--json")
    assert res.exit_code == ALERT_EXIT_CODE
    payload = json.loads(res.output)
    assert (payload["run_a"], payload["run_b"]) == ("run-1", "run-2")  # the last two
    got = {a["subject"]: (a["severity"], round(a["value"], 9)) for a in payload["alerts"]}
    assert got == {"rfm_champions": ("alert", -0.4), "rfm_lost": ("warn", 0.15)}
    assert payload["failing"] == 1


def test_explicit_runs_and_unknown_run(ws: Workspace) -> None:
    _history(ws, ALERTING)
    res = _invoke(ws, "monitor", "--run-a", "run-2", "--run-b", "run-1", "--json")
    got = {a["subject"]: round(a["value"], 9) for a in json.loads(res.output)["alerts"]}
    assert got == {"rfm_champions": round(40 / 60, 9), "rfm_lost": round(-15 / 115, 9)}
    res = _invoke(open_workspace(ws.root), "monitor", "--run-a", "run-1", "--run-b", "nope")
    assert res.exit_code == 2 and "nope" in res.output


def test_one_run_is_a_usage_error(ws: Workspace) -> None:
    ws.connect().create_table(
        "membership_snapshots",
        ibis.memtable([{"customer_id": "c", "segment": "s", "family": "rfm", "run_id": "r"}]),
    )
    res = _invoke(ws, "monitor")
    assert res.exit_code == 2 and "two succeeded runs" in res.output


def test_runs_diff(ws: Workspace) -> None:
    _history(ws, ALERTING)
    res = _invoke(ws, "runs", "diff", "run-1", "run-2", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    # Customer ids are per segment, so: 60 champions stay, 40 leave; lost 100 stay, 15 new.
    assert payload["counts"]["rfm_champions"] == {"rfm_champions": 60, "rfm_lost": 0, "(none)": 40}
    assert payload["counts"]["(none)"]["rfm_lost"] == 15
    assert payload["rates"]["rfm_champions"]["(none)"] == pytest.approx(0.4)
    changes = {c["segment"]: c["change"] for c in payload["size_changes"]}
    assert changes == {"rfm_champions": -40, "rfm_lost": 15}
    text = _invoke(open_workspace(ws.root), "runs", "diff", "run-1", "run-2")
    assert text.exit_code == 0
    assert "Flagged flows" in text.output and "Biggest size changes" in text.output
