"""CDNOW: the CLV inputs equal the published summary, through ingest -> features."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

import custseg.features as features
from custseg.ingest import ingest_file
from custseg.workspace import init_workspace, open_workspace

DATA = Path(__file__).parents[1] / "data" / "cdnow"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cdnow")
    rows = [line.split() for line in (DATA / "CDNOW_sample.txt").read_text().splitlines()]
    path = root / "orders.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["order_id", "customer_id", "ordered_at", "total", "status"])
        for i, (_, sample_id, ymd, _cds, spent) in enumerate(rows, start=1):
            day = f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}"
            w.writerow([i, str(int(sample_id)), day, spent, "placed"])
    init_workspace(root / "ws")
    ws = open_workspace(root / "ws")
    ingest_file(ws, path, table="orders")  # unknown customers become stub customers
    yield ws
    ws.close()


def test_clv_inputs_equal_published_summary(cdnow) -> None:
    t = features.build(cdnow, as_of=date(1997, 9, 30))
    got = {
        int(r["customer_id"]): r
        for r in t.select("customer_id", "clv_frequency", "clv_recency", "clv_T", "clv_monetary")
        .to_pyarrow()
        .to_pylist()
    }
    with (DATA / "cdnow_customers_summary.csv").open() as fh:
        summary = list(csv.DictReader(fh))
    with (DATA / "cdnow_customers_summary_with_transactions.csv").open() as fh:
        zbar = {int(r["ID"]): float(r["zbar"]) for r in csv.DictReader(fh)}
    assert len(summary) == len(got) == 2357
    for r in summary:
        g = got[int(r["ID"])]
        assert g["clv_frequency"] == int(r["frequency"]), r
        # published values are rounded to 2 decimals
        assert g["clv_recency"] == pytest.approx(float(r["recency"]), abs=0.005 + 1e-9), r
        assert g["clv_T"] == pytest.approx(float(r["T"]), abs=0.005 + 1e-9), r
        assert g["clv_monetary"] == pytest.approx(zbar[int(r["ID"])], abs=0.005 + 1e-9), r


def test_default_as_of_is_latest_order(cdnow) -> None:
    assert features.default_as_of(cdnow.connect().table("orders")) == date(1998, 6, 30)
