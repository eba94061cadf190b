"""`custseg measure` and `custseg holdout`: printed numbers checked against SQL on the workspace.

The commands run in their own process, from an app holding only this command group
(``custseg.cli.measure.register``), as the console script would run them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import cli_env, copy_ws, ok, query

CAMPAIGN = "CMP-2025-SPRING"
_APP = (
    "import typer\n"
    "from custseg.cli import measure\n"
    "app = typer.Typer(pretty_exceptions_enable=False)\n"
    "measure.register(app)\n"
    "app()\n"
)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _APP, *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=180,
    )


@pytest.fixture(scope="module")
def ws(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo store with its segments evaluated."""
    from custseg.segments.registry import evaluate
    from custseg.workspace import open_workspace

    root = copy_ws(demo_store, tmp_path_factory.mktemp("measure_cli") / "demo")
    with open_workspace(root) as w:
        evaluate(w)
    return root


def _arm_counts(db: Path) -> pd.DataFrame:
    rows = query(
        db,
        f"""
        SELECT m.segment, s.title, e.arm, count(*) AS n
        FROM campaign_exposures e
        JOIN memberships m ON m.customer_id = e.customer_id AND m.family = 'rfm'
        JOIN segment_definitions s ON s.name = m.segment
        WHERE e.campaign_id = '{CAMPAIGN}'
        GROUP BY ALL
        """,
    )
    return pd.DataFrame(rows, columns=["segment", "title", "arm", "n"])


def _cells(stdout: str, title: str) -> list[str]:
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 3 and cells[1] == title:
            return cells[1:-1]
    raise AssertionError(f"no row {title!r} in:\n{stdout}")


def test_measure_by_rfm_prints_the_counts(ws: Path) -> None:
    proc = ok(run("measure", CAMPAIGN, "--by", "rfm", "-w", ws, "--n-boot", "200"))
    counts = _arm_counts(ws / "custseg.duckdb")
    assert f"Campaign {CAMPAIGN} by rfm (campaign_outcomes; 95% intervals)" in proc.stdout
    for title, g in counts.groupby("title"):
        n = dict(zip(g.arm, g.n, strict=True))
        cells = _cells(proc.stdout, title)
        assert cells[1:3] == [f"{n.get('treatment', 0):,}", f"{n.get('control', 0):,}"], title
    total = query(
        ws / "custseg.duckdb",
        f"SELECT count(*) FILTER (arm = 'treatment'), count(*) FILTER (arm = 'control') "
        f"FROM campaign_exposures WHERE campaign_id = '{CAMPAIGN}'",
    )[0]
    assert _cells(proc.stdout, "All exposed customers")[1:3] == [f"{total[0]:,}", f"{total[1]:,}"]
    assert "Benjamini-Hochberg" in proc.stdout


def test_measure_json_and_html(ws: Path, tmp_path: Path) -> None:
    html = tmp_path / "campaign.html"
    proc = ok(run("measure", CAMPAIGN, "-w", ws, "--json", "--n-boot", "200", "--html", html))
    out = json.loads(proc.stdout)
    conv = query(
        ws / "custseg.duckdb",
        f"""SELECT e.arm, count(*), count(*) FILTER (o.converted)
            FROM campaign_exposures e LEFT JOIN campaign_outcomes o USING (campaign_id, customer_id)
            WHERE e.campaign_id = '{CAMPAIGN}' GROUP BY 1""",
    )
    by_arm = {arm: (n, c) for arm, n, c in conv}
    o = out["overall"]
    assert (o["n_treatment"], o["conversions_treatment"]) == by_arm["treatment"]
    assert (o["n_control"], o["conversions_control"]) == by_arm["control"]
    nt, xt = by_arm["treatment"]
    nc, xc = by_arm["control"]
    assert o["lift"] == pytest.approx(xt / nt - xc / nc)
    assert out["segments"] == [] and out["by"] is None
    assert out["source"] == "outcomes" and out["confidence"] == 0.95
    text = html.read_text(encoding="utf-8")
    assert f"Campaign {CAMPAIGN}" in text and "Lift in conversion rate by segment" in text


def test_holdout_create_and_list(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "holdout.csv"
    proc = ok(
        run("holdout", "create", "rfm", "--fraction", "0.1", "--seed", "5", "--out", out, "-w", ws)
    )
    assert "Holdout rfm-f0.1-s5" in proc.stdout and str(out) in proc.stdout.replace("\n", "")
    sizes = dict(
        query(
            ws / "custseg.duckdb",
            "SELECT segment, count(*) FROM memberships WHERE family = 'rfm' GROUP BY 1",
        )
    )
    f = pd.read_csv(out, dtype={"customer_id": str})
    assert len(f) == sum(sizes.values())
    held = f[f.arm == "control"].groupby("segment").size()
    for seg, n in sizes.items():
        assert held.get(seg, 0) == math.floor(0.1 * n + 0.5)
        assert _cells(proc.stdout, seg)[1:3] == [f"{n:,}", f"{math.floor(0.1 * n + 0.5):,}"]
    listed = json.loads(ok(run("holdout", "list", "-w", ws, "--json")).stdout)
    assert {h["holdout_id"]: h["control"] for h in listed}["rfm-f0.1-s5"] == int(held.sum())


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("measure", "NOPE"), 2, f"no exposures for campaign 'NOPE'; the campaigns in the workspace are: {CAMPAIGN}"),
        (("measure", CAMPAIGN, "--by", "nope"), 2, "no evaluated segments of family 'nope'"),
        (("measure", CAMPAIGN, "--source", "web"), 2, "--source must be auto, outcomes or orders"),
        (("holdout", "create", "rfm", "--fraction", "0.1"), 2, "Missing option '--seed'"),
        (("holdout", "create", "rfm", "--fraction", "1.5", "--seed", "1"), 2, "--fraction must be strictly between 0 and 1"),
        (("holdout", "create", "nope", "--seed", "1"), 2, "no segment named 'nope'"),
    ],
)  # fmt: skip
def test_bad_input_exits_cleanly(ws: Path, args: tuple[str, ...], code: int, message: str) -> None:
    proc = run(*args, "-w", ws)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert message in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
