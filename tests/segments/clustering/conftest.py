"""Fixtures: hand-made well-separated blobs, and the demo store's features."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from custseg.workspace import Workspace, open_workspace

#: Four planted groups: (amount_spent, number_of_orders, days_since_last_order,
#: discount_share, main_device). Far apart after log1p and scaling.
BLOBS = {
    "big_frequent": (5000.0, 40, 10, 0.05, "mobile"),
    "lapsed": (80.0, 2, 600, 0.05, "desktop"),
    "deal_seekers": (400.0, 10, 30, 0.80, "mobile"),
    "new_small": (40.0, 1, 5, 0.0, "tablet"),
}
BLOB_FEATURES = ["amount_spent", "number_of_orders", "days_since_last_order", "discount_share"]


def make_blobs(n_per: int = 40, seed: int = 0) -> pd.DataFrame:
    """``n_per`` customers per blob, with small noise; column ``truth`` is the blob."""
    rng = np.random.default_rng(seed)
    rows = []
    i = 0
    for name, (spend, orders, days, disc, device) in BLOBS.items():
        for _ in range(n_per):
            i += 1
            rows.append(
                {
                    "customer_id": f"C{i:04d}",
                    "is_stub": False,
                    "amount_spent": round(spend * float(rng.uniform(0.85, 1.15)), 2),
                    "number_of_orders": max(1, orders + int(rng.integers(-1, 2)) * (orders > 5)),
                    "days_since_last_order": days + int(rng.integers(0, 4)),
                    "discount_share": min(1.0, max(0.0, disc + float(rng.uniform(-0.04, 0.04)))),
                    "main_device": device,
                    "truth": name,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def blobs() -> pd.DataFrame:
    return make_blobs()


@pytest.fixture
def blobs_table(blobs: pd.DataFrame) -> ir.Table:
    return ibis.memtable(blobs.drop(columns="truth"))


@pytest.fixture(scope="module")
def demo_ws(demo_store: Path) -> Iterator[Workspace]:
    """The demo store, opened (read only by these tests)."""
    w = open_workspace(demo_store)
    yield w
    w.close()


@pytest.fixture(scope="module")
def demo_features(demo_ws: Workspace) -> ir.Table:
    return demo_ws.connect().table("customer_features")


@pytest.fixture(scope="module")
def demo_truth(demo_store: Path) -> pd.Series:
    """Planted persona by customer_id."""
    t = pd.read_parquet(demo_store / "data" / "truth" / "personas.parquet")
    return t.set_index("customer_id").persona
