"""Tests of the demo store generator :mod:`custseg.synth`.

The stores are small (2,000 customers) so that the whole module runs in seconds.
Dirty rows are counted independently of the generator (with pandas) and must
match the manifest exactly.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.cluster.vq import kmeans2

from custseg.schema import TABLES
from custseg.synth import (
    BAD_DATE_STRINGS,
    DIRTY_RATES,
    PATHS,
    PERSONA_NAMES,
    SCHEMAS,
    SynthManifest,
    generate,
)

N = 2_000
KNOWN_CURRENCIES = {"USD", "EUR", "GBP", "CAD"}
START, END = date(2023, 1, 1), date(2025, 6, 30)
END_TS = pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthManifest]:
    out = tmp_path_factory.mktemp("dirty")
    return out, generate(out, customers=N, seed=7)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthManifest]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, customers=N, seed=7, dirty=False)


@functools.lru_cache(maxsize=64)
def _read(root: Path, table: str) -> pd.DataFrame:
    return pq.read_table(root / PATHS[table]).to_pandas()


def read(root: Path, table: str) -> pd.DataFrame:
    """A table of a store as a DataFrame (read once per store; the caller gets a copy)."""
    return _read(root, table).copy()


def parse_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)


# --------------------------------------------------------------------------- manifest and files


def test_manifest_rows_match_files(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    assert set(m.files) == set(SCHEMAS)
    for table, info in m.files.items():
        assert info["path"] == PATHS[table]
        assert pq.ParquetFile(root / info["path"]).metadata.num_rows == info["rows"], table
    assert m.files["truth_personas"]["rows"] == N
    assert m.files["campaigns"]["rows"] == 1
    assert 300 <= m.files["products"]["rows"] <= 500


def test_manifest_json_roundtrip(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    assert SynthManifest.from_json(m.to_json()) == m
    assert SynthManifest.read(root) == m
    assert m.base_currency == "USD"
    assert m.fx_rates == {"EUR": 1.08, "GBP": 1.27, "CAD": 0.74}
    assert (m.seed, m.customers, m.start, m.end, m.dirty_enabled) == (7, N, START, END, True)
    assert m.dirty_rates == DIRTY_RATES
    assert json.loads((root / "truth" / "campaign.json").read_text()) == m.campaign


def test_columns_are_canonical(store: tuple[Path, SynthManifest]) -> None:
    root, _ = store
    for name, table in TABLES.items():
        expected = [c.name for c in table.columns if not c.system]
        if name == "orders":  # original_currency is written as `currency`, no fx_rate
            expected = [c for c in expected if c not in ("original_currency", "fx_rate")]
        schema = pq.read_schema(root / PATHS[name])
        assert schema.names == expected, name
        assert schema.equals(SCHEMAS[name]), name
    c = pq.read_schema(root / PATHS["customers"])
    assert str(c.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert str(c.field("birth_date").type) == "date32[day]"
    assert str(pq.read_schema(root / PATHS["orders"]).field("ordered_at").type) == "string"


def test_ids_and_formats(store: tuple[Path, SynthManifest]) -> None:
    root, _ = store
    cust = read(root, "customers")
    ids = cust.customer_id.dropna()
    assert ids.str.fullmatch(r"C\d{7}").all()
    assert ids.nunique() == N
    orders = read(root, "orders")
    assert orders.order_id.str.fullmatch(r"O\d{8}").all()
    ok = parse_dates(orders.ordered_at).notna()
    assert orders.ordered_at[ok].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    ev = read(root, "events")
    assert ev.event_id.is_unique
    emails = cust.email.dropna()
    assert emails.str.fullmatch(r"[a-z0-9.\-]+@[a-z0-9.\-]+").all()
    assert emails.is_unique or cust.customer_id.duplicated().any()  # only duplicate rows repeat


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_content(store: tuple[Path, SynthManifest], tmp_path: Path) -> None:
    root, m = store
    m2 = generate(tmp_path, customers=N, seed=7)
    assert m2 == m
    for table in SCHEMAS:
        a = pq.read_table(root / PATHS[table])
        b = pq.read_table(tmp_path / PATHS[table])
        assert a.equals(b), table
        # Even the files are byte-identical.
        assert (root / PATHS[table]).read_bytes() == (tmp_path / PATHS[table]).read_bytes(), table
    for extra in ("manifest.json", "truth/campaign.json"):
        assert (root / extra).read_bytes() == (tmp_path / extra).read_bytes()


def test_other_seed_other_content(store: tuple[Path, SynthManifest], tmp_path: Path) -> None:
    root, m = store
    m2 = generate(tmp_path, customers=N, seed=8)
    assert m2.files["orders"]["rows"] != m.files["orders"]["rows"]
    for table in ("customers", "orders", "order_lines", "events", "truth_personas"):
        a = pq.read_table(root / PATHS[table])
        b = pq.read_table(tmp_path / PATHS[table])
        assert not a.equals(b), table


def test_chunks_and_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["custseg.synth._generate"], "CHUNK_SIZE", 700)
    calls: list[tuple[int, int]] = []
    m = generate(tmp_path, customers=N, seed=3, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(700, N), (1400, N), (2000, N)]
    cust = read(tmp_path, "customers")
    assert cust.customer_id.dropna().nunique() == N
    orders = read(tmp_path, "orders")
    assert orders.order_id.nunique() == m.stats["orders"]
    assert read(tmp_path, "events").event_id.is_unique
    accounts = read(tmp_path, "accounts")
    assert accounts.account_id.is_unique
    assert set(cust.account_id.dropna()) <= set(accounts.account_id)


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path, customers=0)
    with pytest.raises(ValueError, match="shorter"):
        generate(tmp_path, customers=10, start=date(2025, 1, 1), end=date(2025, 6, 30))
    with pytest.raises(ValueError, match="seed"):
        generate(tmp_path, customers=10, seed=-1)


# --------------------------------------------------------------------------- dirty rows


def count_dirty(root: Path) -> dict[str, int]:
    """Count every dirty kind from the files alone."""
    cust = read(root, "customers")
    orders = read(root, "orders")
    lines = read(root, "order_lines")
    known = set(cust.customer_id.dropna())
    distinct = orders.drop_duplicates()
    t = parse_dates(distinct.ordered_at)
    ids = cust.customer_id.dropna()
    stranger = distinct.customer_id.notna() & ~distinct.customer_id.isin(known)
    return {
        "duplicate_orders": len(orders) - orders.order_id.nunique(),
        "bad_dates": int(t.isna().sum()),
        "future_dates": int((t > END_TS).sum()),
        "unknown_currency": int((~distinct.currency.isin(KNOWN_CURRENCIES)).sum()),
        "unknown_customer": int(stranger.sum()),
        "guest_with_email": int((distinct.customer_id.isna() & distinct.email.notna()).sum()),
        "guest_anonymous": int((distinct.customer_id.isna() & distinct.email.isna()).sum()),
        "negative_price": int((lines.unit_price < 0).sum()),
        "missing_customer_id": int(cust.customer_id.isna().sum()),
        "duplicate_customers": len(ids) - ids.nunique(),
    }  # fmt: skip


def test_dirty_counts_match_files(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    counted = count_dirty(root)
    assert counted == m.dirty
    for kind, count in m.dirty.items():
        assert count > 0, kind  # every kind occurs in a 2,000-customer store


def test_dirty_rates_as_documented(store: tuple[Path, SynthManifest]) -> None:
    _, m = store
    orders, lines = m.stats["orders"], m.files["order_lines"]["rows"]
    base = {"negative_price": lines, "missing_customer_id": N, "duplicate_customers": N}
    for kind, rate in DIRTY_RATES.items():
        assert m.dirty[kind] == round(rate * base.get(kind, orders)), kind


def test_rows_reconcile(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    d = m.dirty
    assert m.files["customers"]["rows"] == N + d["missing_customer_id"] + d["duplicate_customers"]
    assert m.files["orders"]["rows"] == m.stats["orders"] + d["duplicate_orders"]
    orders = read(root, "orders")
    # Duplicates are exact copies; every other row is unique.
    assert orders.duplicated(keep=False).sum() == 2 * d["duplicate_orders"]
    # Lines are keyed by (order_id, line_no) and written once, bad-dated orders included.
    lines = read(root, "order_lines")
    assert not lines.duplicated(["order_id", "line_no"]).any()
    assert set(lines.order_id) == set(orders.order_id)
    bad = orders[orders.ordered_at.isin(BAD_DATE_STRINGS)]
    assert len(bad) == d["bad_dates"]
    assert bad.order_id.isin(lines.order_id).all()


def test_dirty_details(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    cust = read(root, "customers")
    orders = read(root, "orders").drop_duplicates()
    # The second copy of a duplicated customer is the newer one.
    dup = cust[cust.customer_id.duplicated(keep=False) & cust.customer_id.notna()]
    for _, g in dup.groupby("customer_id"):
        assert g.updated_at.iloc[1] > g.updated_at.iloc[0]
    # Guests with an e-mail: some are existing customers' addresses, some are not.
    guests = orders[orders.customer_id.isna() & orders.email.notna()]
    matching = int(guests.email.isin(set(cust.email.dropna())).sum())
    assert matching == m.stats["guest_with_email_matching_customer"]
    assert 0 < matching < len(guests)
    unknown = orders[orders.customer_id.notna() & ~orders.customer_id.isin(set(cust.customer_id))]
    assert unknown.customer_id.str.fullmatch(r"C9\d{6}").all()
    assert set(orders.currency) - KNOWN_CURRENCIES <= {"XXX", "ZZZ"}
    future = parse_dates(orders.ordered_at)
    future = future[future > END_TS]
    assert (future > END_TS + pd.Timedelta(days=700)).all()


def test_clean_store_has_no_dirty_rows(clean: tuple[Path, SynthManifest]) -> None:
    root, m = clean
    assert not m.dirty_enabled
    assert set(m.dirty.values()) == {0}
    assert set(count_dirty(root).values()) == {0}
    assert m.files["customers"]["rows"] == N
    assert m.files["orders"]["rows"] == m.stats["orders"]
    orders = read(root, "orders")
    assert orders.customer_id.notna().all()
    assert parse_dates(orders.ordered_at).le(END_TS).all()


def test_clean_data_identical_with_and_without_dirt(
    store: tuple[Path, SynthManifest], clean: tuple[Path, SynthManifest]
) -> None:
    """Dirt is injected with its own random stream: the clean rows do not change."""
    for table in ("events", "attributes", "campaign_outcomes", "truth_personas", "accounts"):
        a = pq.read_table(store[0] / PATHS[table])
        b = pq.read_table(clean[0] / PATHS[table])
        assert a.equals(b), table
    assert store[1].personas == clean[1].personas


# --------------------------------------------------------------------------- orders and lines


def test_order_totals_match_lines(store: tuple[Path, SynthManifest]) -> None:
    root, _ = store
    orders = read(root, "orders").drop_duplicates().set_index("order_id")
    lines = read(root, "order_lines")
    bad = set(lines.order_id[lines.unit_price < 0])
    sale = lines[lines.quantity > 0]
    agg = pd.DataFrame(
        {
            "net": (sale.quantity * sale.unit_price - sale.discount).groupby(sale.order_id).sum(),
            "line_discount": sale.discount.groupby(sale.order_id).sum(),
            "items": sale.quantity.groupby(sale.order_id).sum(),
        }
    )
    o = orders[~orders.index.isin(bad)].join(agg)
    assert len(o) > 10_000
    assert np.allclose(o.subtotal, o.net, atol=0.005)
    assert np.allclose(o.discount, o.line_discount, atol=0.005)
    assert np.allclose(o.total, o.subtotal + o.shipping + o.tax, atol=0.005)
    assert (o["items"] == o.items_count).all()
    for col in ("subtotal", "discount", "shipping", "tax", "total", "refunded"):
        assert np.allclose(o[col], o[col].round(2), atol=1e-9), col
        assert (o[col] >= 0).all(), col
    assert (o.refunded <= o.total + 0.005).all()


def test_statuses_and_returns(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    orders = read(root, "orders").drop_duplicates()
    lines = read(root, "order_lines")
    assert set(orders.status) == {"placed", "cancelled", "returned", "refunded"}
    share = (orders.status == "returned").mean()
    assert 0.06 <= share <= 0.10
    returned = orders[orders.status == "returned"]
    assert (returned.refunded > 0).all()
    assert (orders.refunded[orders.status == "placed"] == 0).all()
    # Each returned order records its return in exactly one way.
    has_ret_qty = set(lines.order_id[lines.returned_qty > 0])
    has_ret_line = set(lines.order_id[lines.quantity < 0])
    assert not has_ret_qty & has_ret_line
    assert set(returned.order_id) == has_ret_qty | has_ret_line
    assert len(has_ret_line) == m.stats["returned_orders_with_return_lines"] > 0
    ret_lines = lines[lines.quantity < 0]
    assert (ret_lines.unit_price > 0).all() and (ret_lines.discount == 0).all()
    assert (lines.returned_qty <= lines.quantity.clip(lower=0)).all()


def test_realism(store: tuple[Path, SynthManifest]) -> None:
    root, _ = store
    cust = read(root, "customers")
    orders = read(root, "orders").drop_duplicates()
    orders = orders[orders.customer_id.notna()]
    t = parse_dates(orders.ordered_at)
    orders, t = orders[t.notna() & (t <= END_TS)], t[t.notna() & (t <= END_TS)]
    assert cust.country.nunique() == 9 and cust.city.nunique() > 40
    assert cust.latitude.dropna().between(-45, 60).all()
    assert 0.1 < cust.birth_date.isna().mean() < 0.4  # demographics mostly present
    assert set(orders.currency) - {"XXX", "ZZZ"} == KNOWN_CURRENCIES
    assert (orders.currency == "USD").mean() > 0.5
    assert set(orders.channel) == {"web", "app", "store", "marketplace", "phone"}
    # Seasonality: November and December are busier than the other months.
    per_month = t.dt.tz_localize(None).dt.to_period("M").value_counts()
    q4 = per_month[[p for p in per_month.index if p.month in (11, 12)]].mean()
    rest = per_month[[p for p in per_month.index if p.month not in (11, 12)]].mean()
    assert q4 > 1.2 * rest
    # Heavy tail: a few customers place many orders, most one or none.
    per_cust = orders.customer_id.value_counts().reindex(cust.customer_id.dropna(), fill_value=0)
    assert per_cust.median() <= 2 and per_cust.quantile(0.99) > 20
    # B2B buyers buy in bulk.
    b2b = set(cust.customer_id[cust.account_id.notna()])
    assert 0.02 < len(b2b) / N < 0.045
    assert orders.items_count[orders.customer_id.isin(b2b)].median() > 20
    assert orders.items_count[~orders.customer_id.isin(b2b)].median() <= 3


def test_events(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    ev = read(root, "events")
    assert 20 <= len(ev) / N <= 40
    assert set(ev.type) == {"session", "page_view", "product_view", "add_to_cart", "checkout",
                            "purchase", "email_open", "email_click", "search"}  # fmt: skip
    assert str(ev.ts.dt.tz) == "UTC"
    assert ev.ts.is_monotonic_increasing
    assert ev.customer_id.isna().any() and ev.anonymous_id.notna().mean() > 0.8
    products = set(read(root, "products").sku)
    assert set(ev.product_id.dropna()) <= products
    assert set(read(root, "order_lines").sku) <= products
    assert m.stats["events"] == len(ev)


def test_attributes(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    at = read(root, "attributes")
    assert set(at.key) == {"interest", "values", "lifestyle", "price_sensitivity"}
    assert set(at.source) == {"survey_2024"}
    assert 0.2 < at.customer_id.nunique() / N < 0.4
    assert set(at.value[at.key == "price_sensitivity"]) == {"low", "medium", "high"}
    assert not at.duplicated(["customer_id", "key", "source"]).any()
    assert m.stats["survey_respondents"] == at.customer_id.nunique()


# --------------------------------------------------------------------------- personas and campaign


def test_every_customer_has_one_persona(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    truth = pq.read_table(root / PATHS["truth_personas"]).to_pandas()
    cust = read(root, "customers")
    assert truth.customer_id.is_unique
    assert set(truth.customer_id) == set(cust.customer_id.dropna())
    assert set(truth.persona) == set(PERSONA_NAMES)
    assert truth.persona.value_counts().to_dict() == m.personas
    assert sum(m.personas.values()) == N
    assert 0.05 < m.personas["champion"] / N < 0.11
    b2b = set(cust.customer_id[cust.account_id.notna()])
    assert b2b == set(truth.customer_id[truth.persona == "b2b_bulk"])


def test_persona_behaviour(clean: tuple[Path, SynthManifest]) -> None:
    root, _ = clean
    truth = pq.read_table(root / PATHS["truth_personas"]).to_pandas().set_index("customer_id")
    orders = read(root, "orders")
    orders["t"] = parse_dates(orders.ordered_at)
    g = orders.groupby("customer_id").t
    days_since = lambda s: (END_TS - s).dt.days  # noqa: E731
    f = pd.DataFrame({"n": g.size(), "last": days_since(g.max()), "first": days_since(g.min())})
    f = f.reindex(truth.index).assign(persona=truth.persona)
    f["n"] = f.n.fillna(0)
    by = f.groupby("persona")
    assert (by.get_group("one_time").n == 1).all()
    assert (by.get_group("one_time").last >= 300).all()
    assert (by.get_group("lapsed_loyal").last >= 270).all()
    assert by.get_group("lapsed_loyal").n.median() >= 8
    assert (by.get_group("new_customer").first <= 62).all()
    assert (by.get_group("champion").last <= 25).all()
    assert by.get_group("champion").n.median() >= 25
    assert (by.get_group("browser").n <= 1).all()
    assert by.get_group("browser").n.mean() < 0.1


def test_timestamps_are_consistent(clean: tuple[Path, SynthManifest]) -> None:
    root, _ = clean
    start = pd.Timestamp(START, tz="UTC")
    cust = read(root, "customers").set_index("customer_id")
    assert (cust.created_at >= start).all() and (cust.updated_at < END_TS).all()
    assert (cust.updated_at >= cust.created_at).all()
    orders = read(root, "orders")
    first = parse_dates(orders.ordered_at).groupby(orders.customer_id).min()
    assert (first >= start).all() and (first < END_TS).all()
    assert (cust.created_at.loc[first.index] <= first).all()  # registered before ordering
    ev = read(root, "events")
    assert ev.ts.between(start, END_TS).all()
    known = ev[ev.customer_id.notna() & ev.type.isin(["session", "email_open"])]
    assert (known.ts.to_numpy() >= cust.created_at.loc[known.customer_id].to_numpy()).all()
    at = read(root, "attributes")
    assert (at.observed_at.to_numpy() >= cust.created_at.loc[at.customer_id].to_numpy()).all()
    products = read(root, "products")
    assert (products.launched_at < start).all()


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    ct = pd.crosstab(a, b).to_numpy().astype(float)
    pairs = lambda x: (x * (x - 1) / 2).sum()  # noqa: E731
    index, rows, cols, total = pairs(ct), pairs(ct.sum(1)), pairs(ct.sum(0)), pairs(ct.sum())
    expected = rows * cols / total
    return float((index - expected) / ((rows + cols) / 2 - expected))


def behavioural_features(root: Path, fx: dict[str, float]) -> pd.DataFrame:
    """Recency, frequency, monetary, AOV, discount share, basket, breadth, returns, sessions."""
    orders = read(root, "orders").drop_duplicates("order_id")
    orders["t"] = parse_dates(orders.ordered_at)
    ok = orders.customer_id.notna() & orders.t.le(END_TS) & orders.currency.isin(fx)
    orders = orders[ok & (orders.status != "cancelled")]
    rate = orders.currency.map(fx)
    orders = orders.assign(
        net=(orders.total - orders.refunded) * rate,
        gross=(orders.subtotal + orders.discount) * rate,
        disc=orders.discount * rate,
        ret=orders.status.eq("returned").astype(float),
    )
    lines = read(root, "order_lines").merge(orders[["order_id", "customer_id"]], on="order_id")
    events = read(root, "events")
    g = orders.groupby("customer_id")
    f = pd.DataFrame(
        {
            "recency": (END_TS - g.t.max()).dt.days,
            "frequency": g.size(),
            "monetary": g.net.sum(),
            "aov": g.gross.sum() / g.size(),
            "discount_share": g.disc.sum() / g.gross.sum(),
            "basket": g.items_count.mean(),
            "breadth": lines.groupby("customer_id").category.nunique(),
            "return_rate": g.ret.mean(),
        }
    )
    sessions = events[events.type.eq("session")].groupby("customer_id").size()
    truth = pq.read_table(root / PATHS["truth_personas"]).to_pandas().set_index("customer_id")
    f = f.reindex(truth.index).assign(sessions=sessions.reindex(truth.index).fillna(0))
    f["recency"] = f.recency.fillna((END - START).days + 1)  # never ordered
    f = f.fillna(0)
    for c in ("frequency", "monetary", "aov", "basket", "sessions"):
        f[c] = np.log1p(f[c])
    return f.assign(persona=truth.persona)


def test_personas_recoverable_by_kmeans(store: tuple[Path, SynthManifest]) -> None:
    """k-means (k-means++, 10 starts, best inertia) on standardized features: ARI >= 0.9."""
    root, m = store
    f = behavioural_features(root, {"USD": 1.0, **m.fx_rates})
    x = f.drop(columns="persona")
    z = ((x - x.mean()) / x.std()).to_numpy()
    best = None
    for seed in range(10):
        centers, labels = kmeans2(z, len(PERSONA_NAMES), minit="++", seed=seed)
        inertia = float(((z - centers[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels)
    assert adjusted_rand_index(f.persona.to_numpy(), best[1]) >= 0.9


def test_campaign(store: tuple[Path, SynthManifest]) -> None:
    root, m = store
    camp = read(root, "campaigns")
    assert camp.campaign_id.tolist() == ["CMP-2025-SPRING"]
    exp = read(root, "campaign_exposures")
    out = read(root, "campaign_outcomes")
    assert exp.customer_id.is_unique and exp.customer_id.tolist() == out.customer_id.tolist()
    control = exp.arm.eq("control")
    assert 0.06 < control.mean() < 0.14
    assert exp.sent_at[control].isna().all() and exp.sent_at[~control].notna().all()
    cust = read(root, "customers").drop_duplicates("customer_id", keep="last")
    assert cust.set_index("customer_id").loc[exp.customer_id].email.notna().all()
    assert (out.revenue[~out.converted] == 0).all() and (out.revenue[out.converted] > 0).all()
    # The truth reconciles with the tables and has a larger lift for lapsed than champions.
    truth = pq.read_table(root / PATHS["truth_personas"]).to_pandas()
    joined = exp.merge(out, on=["campaign_id", "customer_id"]).merge(truth, on="customer_id")
    for persona, t in m.campaign["personas"].items():
        for arm in ("treatment", "control"):
            rows = joined[(joined.persona == persona) & (joined.arm == arm)]
            assert t[arm]["exposed"] == len(rows)
            assert t[arm]["converted"] == int(rows.converted.sum())
    rates = m.campaign["personas"]
    lift = {p: r["treatment_rate"] - r["control_rate"] for p, r in rates.items()}
    assert lift["lapsed_loyal"] > 5 * lift["champion"] > 0
    assert m.campaign["control_share"] == 0.1
