"""Ingestion benchmark: custseg vs a hand-written pandas pipeline, Parquet and CSV.

What it does
------------
1. Generates N order lines (``order_lines`` columns, ~10 lines per order, seeded,
   streamed in chunks) to Parquet and CSV, plus the matching ``orders`` file, with
   0.1 % negative unit prices and 0.1 % unparseable quantities (``x3`` in the CSV,
   empty in the Parquet file, whose quantity column is an integer). Files are reused
   when a run with the same row count already made them.
2. For each format, in a separate process per measurement: a fresh workspace that
   already holds the orders, then ``ingest_file(ws, lines, table="order_lines")``
   (what ``custseg ingest lines.X --table order_lines`` runs). Wall time and peak RSS
   of that process are measured, and the load's counts are checked.
3. The pandas baseline, also one process per format: read the lines, coerce types
   with ``pd.to_numeric(errors="coerce")``, check required values, negative prices,
   that the order exists and duplicate (order_id, line_no) keys, split good / bad rows
   and write both into a DuckDB file.
4. Prints the results and the targets, and rewrites its section of ``docs/benchmarks.md``.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py                 # 10M rows
    .venv/bin/python benchmarks/bench_ingest.py --rows 1000000 --skip-pandas
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from _common import (
    REPO,
    Measurement,
    code_digest,
    git_state,
    machine_info,
    md_table,
    mib,
    run_python,
    update_markdown_section,
)

SECTION = "bench_ingest"
FLOOR = "duckdb copy, no checks"
GEN_VERSION = 1
SEED = 20240601
CHUNK_ROWS = 1_000_000
N_PRODUCTS = 20_000
DIRTY_SHARE = 0.001  # each of: negative unit price, unparseable quantity

TARGETS = {
    "parquet_rows_per_s": 3_000_000,
    "csv_rows_per_s": 1_000_000,
    "peak_rss_bytes": 3 * 2**30,
    "speedup_vs_pandas": 5.0,
}

LINES_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("line_no", pa.int64()),
        ("sku", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("brand", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", pa.float64()),
        ("discount", pa.float64()),
        ("returned_qty", pa.int64()),
    ]
)
#: In the CSV the quantity column is text, so it can hold the dirty ``x3`` values.
CSV_SCHEMA = LINES_SCHEMA.set(6, pa.field("quantity", pa.string()))
ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("ordered_at", pa.string()),
        ("currency", pa.string()),
        ("total", pa.float64()),
    ]
)

CATEGORIES = [
    "Apparel",
    "Shoes",
    "Accessories",
    "Beauty",
    "Home",
    "Kitchen",
    "Garden",
    "Toys",
    "Sports",
    "Outdoor",
    "Electronics",
    "Books",
    "Music",
    "Pets",
    "Baby",
    "Grocery",
    "Health",
    "Office",
    "Automotive",
    "Jewelry",
    "Watches",
    "Luggage",
    "Crafts",
    "Tools",
]
ADJECTIVES = [
    "Classic",
    "Premium",
    "Eco",
    "Compact",
    "Deluxe",
    "Everyday",
    "Pro",
    "Mini",
    "Ultra",
    "Vintage",
]
NOUNS = [
    "Tee",
    "Sneaker",
    "Bag",
    "Serum",
    "Lamp",
    "Pan",
    "Hose",
    "Puzzle",
    "Ball",
    "Tent",
    "Headphones",
    "Novel",
    "Vinyl",
    "Leash",
    "Bottle",
    "Coffee",
    "Vitamins",
    "Notebook",
]
COLOURS = ["Black", "White", "Navy", "Red", "Green", "Grey", "Blue", "Beige"]


# --------------------------------------------------------------------------- data


@dataclass
class DataSet:
    """The generated files and what a correct load of them gives."""

    rows: int
    orders: int
    negative_price: int
    bad_quantity: int
    lines_parquet: Path
    lines_csv: Path
    orders_parquet: Path

    @property
    def bad_rows(self) -> int:
        return self.negative_price + self.bad_quantity


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _catalogue(rng: np.random.Generator) -> dict[str, pa.Array | np.ndarray]:
    brands = [f"Brand{i:02d}" for i in range(60)]
    cat = rng.integers(0, len(CATEGORIES), N_PRODUCTS)
    brand = rng.integers(0, len(brands), N_PRODUCTS)
    adj = rng.integers(0, len(ADJECTIVES), N_PRODUCTS)
    noun = rng.integers(0, len(NOUNS), N_PRODUCTS)
    col = rng.integers(0, len(COLOURS), N_PRODUCTS)
    names = [
        f"{brands[b]} {ADJECTIVES[a]} {NOUNS[n]} {COLOURS[c]}"
        for b, a, n, c in zip(brand, adj, noun, col, strict=True)
    ]
    return {
        "sku": _ids("SKU-", np.arange(N_PRODUCTS), 6),
        "product_name": pa.array(names, pa.string()),
        "category": pa.array([CATEGORIES[i] for i in cat], pa.string()),
        "brand": pa.array([brands[i] for i in brand], pa.string()),
        "price": np.round(np.exp(rng.normal(3.2, 0.8, N_PRODUCTS)) + 0.99, 2),
    }


def _chunk(
    rng: np.random.Generator, cat: dict, first_order: int, n: int, n_customers: int
) -> tuple[pa.Table, pa.Table, pa.Table, int, int, int]:
    """(parquet lines, csv lines, orders, orders made, negative prices, bad quantities)."""
    counts = rng.integers(1, 20, n // 10 + 64)  # 1..19 lines per order, mean 10
    while counts.sum() < n:
        counts = np.concatenate([counts, rng.integers(1, 20, 64)])
    cum = np.cumsum(counts)
    m = int(np.searchsorted(cum, n)) + 1
    counts = counts[:m]
    counts[-1] -= int(cum[m - 1] - n)  # the chunk ends at a whole order
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order_idx = np.repeat(np.arange(m), counts)
    line_no = np.arange(n) - np.repeat(starts, counts) + 1

    prod = (N_PRODUCTS * rng.random(n) ** 2).astype(np.int64)  # popular products first
    qty = 1 + rng.poisson(0.6, n)
    qty = np.where(rng.random(n) < 0.01, -qty, qty)  # return lines
    price = cat["price"][prod].copy()
    disc = np.where(
        rng.random(n) < 0.2, np.round(price * np.abs(qty) * rng.uniform(0.05, 0.3, n), 2), 0.0
    )
    returned = np.where((rng.random(n) < 0.03) & (qty > 0), 1, 0)
    dirt = rng.random(n)
    neg = dirt < DIRTY_SHARE
    badq = (dirt >= DIRTY_SHARE) & (dirt < 2 * DIRTY_SHARE)
    price[neg] = -price[neg]

    order_ids = _ids("ORD-", first_order + np.arange(m), 9)
    take = pa.array(prod)
    cols = {
        "order_id": order_ids.take(pa.array(order_idx)),
        "line_no": pa.array(line_no, pa.int64()),
        "sku": cat["sku"].take(take),
        "product_name": cat["product_name"].take(take),
        "category": cat["category"].take(take),
        "brand": cat["brand"].take(take),
        "quantity": pa.array(qty, pa.int64(), mask=badq),  # Parquet: an empty required value
        "unit_price": pa.array(price, pa.float64()),
        "discount": pa.array(disc, pa.float64()),
        "returned_qty": pa.array(returned, pa.int64()),
    }
    lines_pq = pa.table(cols, schema=LINES_SCHEMA)
    qtxt = pc.cast(pa.array(qty, pa.int64()), pa.string())
    bad_txt = pc.binary_join_element_wise("x", pc.cast(pa.array(np.abs(qty)), pa.string()), "")
    cols["quantity"] = pc.if_else(pa.array(badq), bad_txt, qtxt)  # CSV: x3
    lines_csv = pa.table(cols, schema=CSV_SCHEMA)

    start = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
    ts = pa.array(np.sort(rng.integers(start, end, m)), pa.timestamp("s"))
    total = np.bincount(order_idx, weights=qty * price - disc, minlength=m)
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": _ids("CUS-", rng.integers(1, n_customers + 1, m), 8),
            "ordered_at": pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ"),
            "currency": pa.array(["USD"] * m, pa.string()),
            "total": pa.array(np.round(total, 2), pa.float64()),
        },
        schema=ORDERS_SCHEMA,
    )
    return lines_pq, lines_csv, orders, m, int(neg.sum()), int(badq.sum())


def generate(out: Path, rows: int, seed: int = SEED) -> DataSet:
    """Write (or reuse) the data set of ``rows`` order lines under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{rows}"
    paths = {
        "lines_parquet": out / f"order_lines-{stem}.parquet",
        "lines_csv": out / f"order_lines-{stem}.csv",
        "orders_parquet": out / f"orders-{stem}.parquet",
    }
    manifest = out / f"manifest-{stem}.json"
    want = {"version": GEN_VERSION, "seed": seed, "rows": rows}
    if manifest.exists() and all(p.exists() for p in paths.values()):
        meta = json.loads(manifest.read_text())
        if {k: meta.get(k) for k in want} == want:
            print(f"reusing the data set in {out} ({rows:,} lines)")
            return DataSet(
                rows, meta["orders"], meta["negative_price"], meta["bad_quantity"], **paths
            )

    print(f"generating {rows:,} order lines into {out} ...", flush=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    cat = _catalogue(rng)
    n_customers = max(rows // 30, 1)
    tmp = {k: p.with_name(p.name + ".tmp") for k, p in paths.items()}
    pw = pq.ParquetWriter(tmp["lines_parquet"], LINES_SCHEMA, compression="snappy")
    ow = pq.ParquetWriter(tmp["orders_parquet"], ORDERS_SCHEMA, compression="snappy")
    cw = pacsv.CSVWriter(
        tmp["lines_csv"], CSV_SCHEMA, write_options=pacsv.WriteOptions(quoting_style="needed")
    )
    orders = neg = badq = 0
    try:
        done = 0
        while done < rows:
            n = min(CHUNK_ROWS, rows - done)
            lp, lc, od, m, k_neg, k_badq = _chunk(rng, cat, orders + 1, n, n_customers)
            pw.write_table(lp)
            cw.write_table(lc)
            ow.write_table(od)
            orders, neg, badq, done = orders + m, neg + k_neg, badq + k_badq, done + n
    finally:
        pw.close()
        ow.close()
        cw.close()
    for k, p in paths.items():
        tmp[k].replace(p)
    manifest.write_text(
        json.dumps(
            {**want, "orders": orders, "negative_price": neg, "bad_quantity": badq}, indent=2
        )
    )
    sizes = ", ".join(f"{p.name} {mib(p.stat().st_size):,.0f} MiB" for p in paths.values())
    print(f"  done in {time.perf_counter() - t0:.1f}s: {sizes}")
    return DataSet(rows, orders, neg, badq, **paths)


# --------------------------------------------------------------------------- the runs

#: Child process: load one file into an existing workspace; print the counts as JSON.
CUSTSEG_LOAD = r"""
import json, logging, os, sys, time
t0 = time.perf_counter()
logging.basicConfig(level=os.environ.get("CUSTSEG_LOG", "WARNING").upper(),
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from custseg.ingest import ingest_file
from custseg.workspace import init_workspace, open_workspace
t1 = time.perf_counter()
ws_dir, path, table, init = sys.argv[1:5]
if init == "1":
    init_workspace(ws_dir)
ws = open_workspace(ws_dir)
t2 = time.perf_counter()
rep = ingest_file(ws, path, table=table).sources[0]
t3 = time.perf_counter()
ws.close()
t4 = time.perf_counter()
import duckdb
print(json.dumps({"duckdb": duckdb.__version__, "import_s": t1 - t0, "ingest_s": t3 - t2, "close_s": t4 - t3,
                  "rows_in": rep.rows_in, "rows_loaded": rep.rows_loaded,
                  "rows_quarantined": rep.rows_quarantined, "quarantined": rep.quarantined}))
"""

#: Child process: the pandas pipeline a user would write for the same job.
PANDAS_LOAD = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
import numpy as np
import pandas as pd
t1 = time.perf_counter()
lines_path, orders_path, db_path, fmt = sys.argv[1:5]
text = {"order_id": str, "sku": str, "product_name": str, "category": str, "brand": str}
if fmt == "csv":
    df = pd.read_csv(lines_path, dtype=text)
else:
    df = pd.read_parquet(lines_path)
known_orders = pd.read_parquet(orders_path, columns=["order_id"])["order_id"]
n = len(df)

ints, money = ["line_no", "quantity", "returned_qty"], ["unit_price", "discount"]
typed = {c: pd.to_numeric(df[c], errors="coerce") for c in ints + money}
missing = df[["order_id", "line_no", "quantity", "unit_price"]].isna().any(axis=1)
unparseable = np.zeros(n, dtype=bool)
for c, v in typed.items():
    unparseable |= (df[c].notna() & v.isna()).to_numpy()
negative = (typed["unit_price"] < 0).fillna(False).to_numpy()
unknown = ~df["order_id"].isin(known_orders).to_numpy()
rule = np.select(
    [missing.to_numpy(), unparseable, negative, unknown],
    ["missing_value", "unparseable_value", "negative_price", "unknown_order"],
    default="",
)
for c in ints:
    df[c] = typed[c].round().astype("Int64")
for c in money:
    df[c] = typed[c].round(2)
ok = rule == ""
good = df[ok]
dup = good.duplicated(["order_id", "line_no"], keep="last").to_numpy()
bad = pd.concat([
    df[~ok].assign(rule=rule[~ok]),
    good[dup].assign(rule="duplicate_key"),
])
good = good[~dup]

con = duckdb.connect(db_path)
con.execute("CREATE TABLE order_lines AS SELECT * FROM good")
con.execute("CREATE TABLE quarantine AS SELECT * FROM bad")
con.close()
t2 = time.perf_counter()
print(json.dumps({"duckdb": duckdb.__version__, "pandas": pd.__version__,
                  "import_s": t1 - t0, "ingest_s": t2 - t1, "close_s": 0.0, "rows_in": n,
                  "rows_loaded": int(len(good)), "rows_quarantined": int(len(bad)),
                  "quarantined": bad["rule"].value_counts().to_dict()}))
"""

#: Child process: the floor. Plain DuckDB copies the file into a table, no checks at all.
DUCKDB_COPY = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
t1 = time.perf_counter()
path, db_path, fmt = sys.argv[1:4]
con = duckdb.connect(db_path)
src = (f"read_parquet('{path}')" if fmt == "parquet"
       else f"read_csv('{path}', types = {{'quantity': 'VARCHAR'}})")
con.execute(f"CREATE TABLE order_lines AS SELECT * FROM {src}")
n = con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
con.close()
t2 = time.perf_counter()
print(json.dumps({"duckdb": duckdb.__version__, "import_s": t1 - t0, "ingest_s": t2 - t1,
                  "close_s": 0.0, "rows_in": n, "rows_loaded": n, "rows_quarantined": 0}))
"""


@dataclass
class Result:
    fmt: str
    tool: str
    rows: int
    runs: list[Measurement]

    @property
    def best(self) -> Measurement:
        return min(self.runs, key=lambda m: m.seconds)

    @property
    def seconds(self) -> float:
        return self.best.seconds

    @property
    def work_seconds(self) -> float:
        p = self.best.payload
        return p.get("ingest_s", 0.0) + p.get("close_s", 0.0)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def peak_rss(self) -> int:
        return max(m.peak_rss for m in self.runs)


def _fail(what: str, m: Measurement) -> None:
    sys.exit(f"{what} failed (exit {m.returncode}):\n{m.stderr[-4000:]}")


def _check_counts(what: str, m: Measurement, data: DataSet) -> None:
    p = m.payload
    expect = (data.rows, data.rows - data.bad_rows, data.bad_rows)
    got = (p.get("rows_in"), p.get("rows_loaded"), p.get("rows_quarantined"))
    if got != expect:
        sys.exit(f"{what}: expected (in, loaded, quarantined) = {expect}, got {got}: {p}")


def _prepare_template(data: DataSet, out: Path) -> tuple[Path, Measurement]:
    """A workspace holding the orders (copied for every measured run)."""
    tpl = out / f"ws-template-{data.rows}"
    shutil.rmtree(tpl, ignore_errors=True)
    m = run_python(CUSTSEG_LOAD, str(tpl), str(data.orders_parquet), "orders", "1")
    if not m.ok:
        _fail("custseg init + ingest orders", m)
    if m.payload.get("rows_loaded") != data.orders:
        sys.exit(f"orders: expected {data.orders} loaded, got {m.payload}")
    return tpl, m


def run_custseg(data: DataSet, fmt: str, tpl: Path, out: Path, repeat: int) -> Result:
    path = data.lines_parquet if fmt == "parquet" else data.lines_csv
    runs = []
    for i in range(repeat):
        ws = out / f"ws-run-{fmt}"
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(tpl, ws)
        print(f"  custseg {fmt} run {i + 1}/{repeat} ...", flush=True)
        m = run_python(CUSTSEG_LOAD, str(ws), str(path), "order_lines", "0")
        if not m.ok:
            _fail(f"custseg ingest {path.name}", m)
        _check_counts(f"custseg {fmt}", m, data)
        shutil.rmtree(ws, ignore_errors=True)
        runs.append(m)
    return Result(fmt, "custseg", data.rows, runs)


def run_other(data: DataSet, fmt: str, out: Path, repeat: int, tool: str) -> Result:
    """The pandas baseline (``tool="pandas"``) or the plain DuckDB copy (``FLOOR``)."""
    path = data.lines_parquet if fmt == "parquet" else data.lines_csv
    runs = []
    for i in range(repeat):
        db = out / f"{'pandas' if tool == 'pandas' else 'copy'}-run-{fmt}.duckdb"
        db.unlink(missing_ok=True)
        print(f"  {tool} {fmt} run {i + 1}/{repeat} ...", flush=True)
        if tool == "pandas":
            m = run_python(PANDAS_LOAD, str(path), str(data.orders_parquet), str(db), fmt)
        else:
            m = run_python(DUCKDB_COPY, str(path), str(db), fmt)
        if not m.ok:
            _fail(f"{tool} on {path.name}", m)
        if tool == "pandas":
            _check_counts(f"pandas {fmt}", m, data)
        elif m.payload.get("rows_in") != data.rows:
            sys.exit(f"{tool} {fmt}: expected {data.rows} rows, got {m.payload}")
        db.unlink(missing_ok=True)
        runs.append(m)
    return Result(fmt, tool, data.rows, runs)


# --------------------------------------------------------------------------- report


def _targets(results: list[Result]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) rows; met is None when not measured."""
    by = {(r.fmt, r.tool): r for r in results}
    out: list[tuple[str, str, bool | None]] = []
    for fmt, key, label in (
        ("parquet", "parquet_rows_per_s", "Parquet ≥ 3M rows/s"),
        ("csv", "csv_rows_per_s", "CSV ≥ 1M rows/s"),
    ):
        r = by.get((fmt, "custseg"))
        if r:
            out.append((label, f"{r.rows_per_s / 1e6:.2f}M rows/s", r.rows_per_s >= TARGETS[key]))
    peaks = [r for r in results if r.tool == "custseg"]
    if peaks:
        worst = max(peaks, key=lambda r: r.peak_rss)
        out.append(
            (
                "peak memory ≤ 3 GiB",
                f"{mib(worst.peak_rss) / 1024:.2f} GiB ({worst.fmt})",
                worst.peak_rss <= TARGETS["peak_rss_bytes"],
            )
        )
    for fmt in ("parquet", "csv"):
        c, p = by.get((fmt, "custseg")), by.get((fmt, "pandas"))
        label = f"≥ 5× faster than pandas ({fmt})"
        if c and p:
            s = p.seconds / c.seconds
            out.append((label, f"{s:.1f}×", s >= TARGETS["speedup_vs_pandas"]))
        elif c:
            out.append((label, "not measured (--skip-pandas)", None))
    return out


def _rows(results: list[Result]) -> list[list[str]]:
    by = {(r.fmt, r.tool): r for r in results}
    rows = []
    for r in results:
        other = by.get((r.fmt, "pandas"))
        speed = f"{other.seconds / r.seconds:.1f}×" if other else "–"
        rows.append(
            [
                r.fmt,
                r.tool,
                f"{r.rows:,}",
                f"{r.seconds:.1f}",
                f"{r.work_seconds:.1f}",
                f"{r.best.cpu_seconds:.1f}",
                f"{r.rows_per_s:,.0f}",
                f"{mib(r.peak_rss):,.0f}",
                speed,
            ]
        )
    return rows


HEADERS = [
    "format",
    "tool",
    "rows",
    "seconds",
    "in-process s",
    "CPU s",
    "rows/s",
    "peak RSS MiB",
    "speed-up vs pandas",
]


def print_report(results: list[Result], setup: Measurement) -> None:
    widths = [max(len(h), *(len(row[i]) for row in _rows(results))) for i, h in enumerate(HEADERS)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)))
    for row in _rows(results):
        print(
            "  ".join(
                c.rjust(w) if i >= 2 else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    versions = _versions(results, setup)
    if " / " in versions:
        print(f"WARNING: the library versions changed during the run: {versions}")
    print(
        f"\n(setup, not timed above: init + ingest orders took {setup.seconds:.1f}s, "
        f"peak RSS {mib(setup.peak_rss):,.0f} MiB)"
    )
    print("\nTargets (custseg):")
    for label, measured, met in _targets(results):
        mark = "n/a " if met is None else ("PASS" if met else "FAIL")
        print(f"  [{mark}] {label}: {measured}")


def _raw(results: list[Result], setup: Measurement, code: str) -> dict:
    """Every measurement (without the child's output), for later comparison."""

    def m(x: Measurement) -> dict:
        return {k: v for k, v in vars(x).items() if k not in ("stdout", "stderr")}

    return {
        "when": datetime.now(UTC).isoformat(),
        "code": code,
        "machine": machine_info(),
        "setup": m(setup),
        "results": [
            {"format": r.fmt, "tool": r.tool, "rows": r.rows, "runs": [m(x) for x in r.runs]}
            for r in results
        ],
    }


def _versions(results: list[Result], setup: Measurement) -> str:
    """Library versions the child processes reported (several if the venv changed mid-run)."""
    found: dict[str, set[str]] = {}
    for m in [setup, *(m for r in results for m in r.runs)]:
        for lib in ("duckdb", "pandas"):
            if lib in m.payload:
                found.setdefault(lib, set()).add(m.payload[lib])
    return ", ".join(f"{lib} {' / '.join(sorted(v))}" for lib, v in found.items())


def markdown(
    results: list[Result], data: DataSet, setup: Measurement, command: str, repeat: int, code: str
) -> str:
    info = machine_info()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = {p.suffix: mib(p.stat().st_size) for p in (data.lines_parquet, data.lines_csv)}
    targets = "\n".join(
        f"| {label} | {measured} | {'n/a' if met is None else ('✅ met' if met else '❌ missed')} |"
        for label, measured, met in _targets(results)
    )
    counts = "; ".join(
        f"{r.fmt}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(r.best.payload.get("quarantined", {}).items()))
        for r in results
        if r.tool == "custseg"
    )
    versions = _versions(results, setup)
    loads = [m.load_before for r in results for m in r.runs]
    load = f"The 1-minute load average when the measured processes started was {min(loads):.1f}–{max(loads):.1f}"
    cores = psutil.cpu_count() or 1
    load += (
        f" (above the {cores} cores: other work shared the CPUs, so wall times are pessimistic)."
        if max(loads) > cores * 0.75
        else "."
    )
    return f"""\
## Ingestion: `benchmarks/bench_ingest.py`

Loading order lines into a workspace that already holds their orders: custseg
(`ingest_file(ws, lines, table="order_lines")`, i.e. `custseg ingest lines.X --table
order_lines`) against the pandas script a user would write for the same job (read,
`pd.to_numeric(errors="coerce")`, required values, negative prices, unknown orders,
duplicate `(order_id, line_no)` keys, split good / bad rows, write both to DuckDB).
The *{FLOOR}* rows are the floor on this machine: plain DuckDB copying the
file into a table of a new database file, with no check at all.

* **Run:** {when}, `{command}`{f" (best of {repeat})" if repeat > 1 else ""}, code {code}
* **Machine:** {info["cores"]} cores ({info["cpu"]}), {info["memory"]} RAM, {info["os"]}, Python {info["python"]}, {versions}
* **Data:** {data.rows:,} order lines in {data.orders:,} orders (~10 lines each; seed {SEED});
  Parquet {size[".parquet"]:,.0f} MiB (snappy), CSV {size[".csv"]:,.0f} MiB; dirty rows:
  {data.negative_price:,} negative unit prices and {data.bad_quantity:,} unparseable quantities
  (`x3` in the CSV, empty in the Parquet file). custseg and pandas both quarantine
  exactly those {data.bad_rows:,} rows (custseg rules, {counts}); the script checks the counts.
* **Setup (not timed):** a fresh workspace with the orders loaded
  ({setup.seconds:.1f}s, {mib(setup.peak_rss):,.0f} MiB peak), copied before every custseg run.

*seconds* is the wall time of the whole process (interpreter start and imports
included, as a user runs it); *in-process s* is the load itself (custseg: the
`ingest_file` call plus closing the database, which checkpoints it); *CPU s* is
the process's user + system CPU time (less sensitive than wall time to other work
on the machine). rows/s = rows / seconds. Files were in the page cache for all
tools. {load}

{md_table(HEADERS, _rows(results), "llrrrrrrr")}

| target (custseg) | measured | |
| --- | --- | --- |
{targets}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rows", type=int, default=10_000_000, help="order lines to generate (default 10,000,000)"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench-data",
        help="folder for data and workspaces (default bench-data/)",
    )
    ap.add_argument("--skip-pandas", action="store_true", help="do not run the pandas baseline")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement; the fastest is reported"
    )
    ap.add_argument(
        "--skip-floor", action="store_true", help="do not run the plain DuckDB copy (the floor)"
    )
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        ap.error("--rows and --repeat must be at least 1")
    out = args.out.resolve()

    data = generate(out, args.rows)
    code_before, digest_before = git_state(), code_digest()
    print("setting up a workspace with the orders ...", flush=True)
    tpl, setup = _prepare_template(data, out)
    results = []
    for fmt in ("parquet", "csv"):
        results.append(run_custseg(data, fmt, tpl, out, args.repeat))
        if not args.skip_pandas:
            results.append(run_other(data, fmt, out, args.repeat, "pandas"))
        if not args.skip_floor:
            results.append(run_other(data, fmt, out, args.repeat, FLOOR))
    shutil.rmtree(tpl, ignore_errors=True)

    code = git_state()
    if code_digest() != digest_before:
        code = f"{code_before} at the start, {code} at the end: src/ changed during the run"
        print(f"WARNING: {code}")
    print_report(results, setup)
    raw = out / f"bench_ingest-{data.rows}.json"
    raw.write_text(json.dumps(_raw(results, setup, code), indent=1, default=str))
    print(f"\nraw measurements: {raw}")
    if not args.no_docs:
        try:
            shown = Path(sys.argv[0]).resolve().relative_to(REPO)
        except ValueError:
            shown = Path(sys.argv[0])
        command = " ".join(
            [
                ".venv/bin/python",
                str(shown),
                *map(shlex.quote, sys.argv[1:] if argv is None else argv),
            ]
        )
        path = update_markdown_section(
            SECTION, markdown(results, data, setup, command, args.repeat, code)
        )
        print(f"\nwrote the results to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
