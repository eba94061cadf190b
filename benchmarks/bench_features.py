"""Features benchmark: custseg's feature build against hand-written DuckDB SQL and pandas.

What it does
------------
1. Generates a demo store with ``custseg.synth.generate(customers=N, seed=SEED)`` (about
   9.7 orders, 22 order lines and 35 web events per customer) and ingests it into a
   workspace (``custseg ingest``). Both are cached in ``bench-data/features-N/`` and
   reused by later runs with the same N.
2. Times, each as a separate process (wall time of the whole process and its peak RSS):

   * **custseg build**: ``custseg.features.materialize(ws, as_of=AS_OF)``, i.e. every
     feature family, the RFM scores and groups and the predictive columns (BG/NBD and
     Gamma-Gamma fitted on the store), written to ``customer_features``;
   * **custseg RFM part**: ``custseg.features.behavior.rfm_summary(orders, as_of=AS_OF)``
     written to a table (the family that computes the RFM/CLV summary);
   * **DuckDB SQL**: a hand-written query computing only the RFM/CLV summary (per
     customer: repeat purchase days, recency, T, mean repeat value, orders, amount spent,
     last order date) into a table;
   * **pandas**: the same summary with ``groupby`` on the orders read through DuckDB,
     written back to DuckDB, as a user would write it;
   * **custseg CLV**: ``custseg.features.predictive.add_predictions`` on the 1M-customer
     summary: BG/NBD + Gamma-Gamma fitted on the distinct rows with their counts as
     weights, then expected orders, P(alive) and CLV joined back to every customer and
     written to a table (fit and prediction phases timed inside the process);
   * **SciPy on the full rows**: the same likelihoods (lifetimes' formulas, with the same
     penalizer) minimised with ``scipy.optimize.minimize`` (L-BFGS-B, finite-difference
     gradients) on one row per customer, the way lifetimes fits; it must reach the same
     parameters.

3. Checks that custseg, the SQL query and pandas computed the same summary (every column
   of every customer), prints a table with the ratios and the targets, and rewrites its
   section of ``docs/benchmarks.md``.

Usage::

    .venv/bin/python benchmarks/bench_features.py                    # 1M customers
    .venv/bin/python benchmarks/bench_features.py --customers 100000 --no-docs
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil
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

SECTION = "bench_features"
DATA_VERSION = 1  # bump when the way the store is generated or ingested changes
SEED = 20240601
AS_OF = date(2025, 6, 30)  # the generator's last day

TARGETS = {
    "build_vs_sql": 2.0,  # full feature build <= 2x the hand-written summary query
    "rfm_vs_sql": 1.5,  # RFM part alone <= 1.5x
    "fit_s": 1.0,  # BG/NBD fit on 1M customers
    "predict_s": 2.0,  # predictions for 1M customers
    "peak_rss_bytes": 4 * 2**30,
}

#: Figures quoted by the features issue: measured on the same kind of machine, as whole
#: processes, on 1M customers (not measured by this script).
QUOTED = [
    ("lifetimes `summary_data_from_transaction_data`", "summary", "13.5"),
    ("lifetimes `BetaGeoFitter.fit`", "BG/NBD fit", "17.6"),
    ("PyMC-Marketing `rfm_summary`", "summary", "17.5"),
    ("PyMC-Marketing `BetaGeoModel.fit(method='map')`", "BG/NBD fit", "13"),
    ("hand-written DuckDB SQL", "summary", "1.7"),
    ("pandas groupby", "summary", "5.4"),
]

# --------------------------------------------------------------------------- child code

#: Child: generate the store (setup, not timed in the results).
GENERATE = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from custseg.demo import write_demo_config
from custseg.synth import generate
root, customers, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
manifest = generate(root / "data", customers=customers, seed=seed)
write_demo_config(root, manifest)
rows = {k: v["rows"] for k, v in manifest.files.items()}
print(json.dumps({"rows": rows, "work_s": time.perf_counter() - t0}))
"""

#: Child: ingest every configured source (setup, not timed in the results).
INGEST = r"""
import json, sys, time
t0 = time.perf_counter()
from custseg.ingest import ingest_sources
from custseg.workspace import open_workspace
with open_workspace(sys.argv[1]) as ws:
    report = ingest_sources(ws)
    con = ws.connect()
    rows = {t: int(con.table(t).count().to_pyarrow().as_py()) for t in con.list_tables()}
print(json.dumps({"rows": rows, "work_s": time.perf_counter() - t0}))
"""

#: Child: the whole custseg feature build (every family, RFM scores, predictions).
CUSTSEG_BUILD = r"""
import json, sys, time
from datetime import date
t0 = time.perf_counter()
import duckdb, pandas
from custseg.features import materialize
from custseg.workspace import open_workspace
t1 = time.perf_counter()
ws = open_workspace(sys.argv[1])
n = materialize(ws, as_of=date.fromisoformat(sys.argv[2]))
cols = len(ws.connect().table("customer_features").columns)
ws.close()
t2 = time.perf_counter()
print(json.dumps({"duckdb": duckdb.__version__, "pandas": pandas.__version__,
                  "import_s": t1 - t0, "work_s": t2 - t1, "rows": n, "columns": cols}))
"""

#: Child: custseg's RFM/CLV summary family alone, written to a table.
CUSTSEG_RFM = r"""
import json, sys, time
from datetime import date
t0 = time.perf_counter()
from custseg.features.behavior import rfm_summary
from custseg.workspace import open_workspace
t1 = time.perf_counter()
ws = open_workspace(sys.argv[1])
con = ws.connect()
expr = rfm_summary(con.table("orders"), as_of=date.fromisoformat(sys.argv[2]))
con.create_table("bench_rfm_custseg", expr, overwrite=True)
n = con.table("bench_rfm_custseg").count().to_pyarrow().as_py()
ws.close()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "work_s": t2 - t1, "rows": n}))
"""

#: Child: the hand-written DuckDB query for the RFM/CLV summary.
SQL_SUMMARY = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
t1 = time.perf_counter()
db, as_of = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
con.execute(f'''
CREATE OR REPLACE TABLE bench_rfm_sql AS
WITH o AS (
    SELECT customer_id,
           CAST(ordered_at AS DATE) AS d,
           CAST(total AS DOUBLE) - COALESCE(CAST(refunded AS DOUBLE), 0) AS net
    FROM orders
    WHERE customer_id IS NOT NULL
      AND ordered_at < CAST(DATE '{as_of}' + INTERVAL 1 DAY AS TIMESTAMPTZ)
      AND (status IS NULL OR lower(trim(status)) <> 'cancelled')
), days AS (
    SELECT customer_id, d, sum(net) AS day_net, count(*) AS n
    FROM o GROUP BY customer_id, d
)
SELECT customer_id,
       sum(n) AS number_of_orders,
       sum(day_net) AS amount_spent,
       max(d) AS last_order_date,
       count(*) - 1 AS frequency,
       date_diff('day', min(d), max(d)) / 7.0 AS recency,
       date_diff('day', min(d), DATE '{as_of}') / 7.0 AS T,
       -- mean net of the purchase days after the first (0 without a repeat day)
       coalesce((sum(day_net) - arg_min(day_net, d)) / nullif(count(*) - 1, 0), 0) AS monetary
FROM days GROUP BY customer_id
''')
n = con.execute("SELECT count(*) FROM bench_rfm_sql").fetchone()[0]
con.close()
t2 = time.perf_counter()
print(json.dumps({"duckdb": duckdb.__version__, "import_s": t1 - t0, "work_s": t2 - t1,
                  "rows": n}))
"""

#: Child: the same summary in pandas (orders read through DuckDB, result written back).
PANDAS_SUMMARY = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
import pandas as pd
t1 = time.perf_counter()
db, as_of = sys.argv[1], pd.Timestamp(sys.argv[2])
con = duckdb.connect(db)
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
o = con.execute("SELECT customer_id, ordered_at, status, total, refunded FROM orders").df()
status = o["status"].str.strip().str.lower()
end = (as_of + pd.Timedelta(days=1)).tz_localize("UTC")
o = o[o["customer_id"].notna() & (o["ordered_at"] < end)
      & (status.isna() | (status != "cancelled"))]
o = o.assign(net=o["total"].fillna(0.0) - o["refunded"].fillna(0.0),
             day=o["ordered_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D"))
days = o.groupby(["customer_id", "day"], as_index=False).agg(
    day_net=("net", "sum"), n=("net", "size"))
g = days.groupby("customer_id")
out = g.agg(number_of_orders=("n", "sum"), amount_spent=("day_net", "sum"),
            first=("day", "min"), last_order_date=("day", "max"), n_days=("day", "size"))
repeat = days[days["day"] != g["day"].transform("min")]
out["monetary"] = repeat.groupby("customer_id")["day_net"].mean()
out["monetary"] = out["monetary"].fillna(0.0)
out["frequency"] = out["n_days"] - 1
out["recency"] = (out["last_order_date"] - out["first"]).dt.days / 7.0
out["T"] = (as_of - out["first"]).dt.days / 7.0
out = out.drop(columns=["first", "n_days"]).reset_index()
out["last_order_date"] = out["last_order_date"].dt.date
con.register("summary_df", out)
con.execute("CREATE OR REPLACE TABLE bench_rfm_pandas AS SELECT * FROM summary_df")
n = con.execute("SELECT count(*) FROM bench_rfm_pandas").fetchone()[0]
con.close()
t2 = time.perf_counter()
print(json.dumps({"pandas": pd.__version__, "import_s": t1 - t0, "work_s": t2 - t1, "rows": n}))
"""

#: Child (not timed): do the three summaries agree? One row of mismatch counts per column.
CHECK = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
close = "abs({a} - {b}) <= 1e-9 * greatest(1.0, abs({b}))"
cols = {
    "number_of_orders": ("number_of_orders", "number_of_orders", "{a} = {b}"),
    "amount_spent": ("amount_spent", "amount_spent", close),
    "last_order_date": ("last_order_date", "last_order_date", "{a} = {b}"),
    "frequency": ("frequency", "clv_frequency", "{a} = {b}"),
    "recency": ("recency", "clv_recency", close),
    "T": ("T", "clv_T", close),
    "monetary": ("monetary", "clv_monetary", close),
}
out = {}
for other in ("bench_rfm_sql", "bench_rfm_pandas"):
    conds = ", ".join(
        f"count(*) FILTER (WHERE NOT coalesce(" + rule.format(a=f"x.{a}", b=f"c.{b}") + ", false))"
        f" AS {name}" for name, (a, b, rule) in cols.items())
    row = con.execute(f'''
        SELECT count(*) FILTER (WHERE x.customer_id IS NULL OR c.customer_id IS NULL) AS missing,
               {conds}
        FROM {other} x FULL JOIN bench_rfm_custseg c USING (customer_id)''').fetchone()
    out[other] = dict(zip(["missing", *cols], row))
out["customers"] = con.execute("SELECT count(*) FROM bench_rfm_custseg").fetchone()[0]
print(json.dumps(out))
"""

#: Child: custseg's predictive path on the summary (each fit attempt timed by wrapping ``fit``).
CUSTSEG_CLV = r"""
import json, sys, time
from datetime import date
t0 = time.perf_counter()
import numpy as np
from custseg.clv import BetaGeoModel, GammaGammaModel
from custseg.config import ClvConfig
from custseg.features import predictive
from custseg.workspace import open_workspace
t1 = time.perf_counter()
fits = {"BetaGeoModel": [], "GammaGammaModel": []}
def timed(cls):
    fit = cls.fit
    def wrapper(self, data):
        s, ok = time.perf_counter(), False
        try:
            out = fit(self, data)
            ok = True
            return out
        finally:
            top = float(np.max(data["monetary_value"])) if "monetary_value" in data else None
            fits[cls.__name__].append({"start": s, "end": time.perf_counter(), "ok": ok,
                                       "penalizer": self.penalizer, "max_value": top})
    cls.fit = wrapper
timed(BetaGeoModel)
timed(GammaGammaModel)
ws = open_workspace(sys.argv[1])
con = ws.connect()
cfg = ClvConfig()
t2 = time.perf_counter()
table = con.table("bench_rfm_custseg")
out, models = predictive.add_predictions(table, config=cfg, as_of=date.fromisoformat(sys.argv[2]))
t3 = time.perf_counter()
keep = ["customer_id", *predictive.prediction_columns(cfg)]
con.create_table("bench_predictions", out.select(*keep), overwrite=True)
n = con.table("bench_predictions").count().to_pyarrow().as_py()
t4 = time.perf_counter()
ws.close()
bg, gg = fits["BetaGeoModel"], fits["GammaGammaModel"]
ok_bg = [f for f in bg if f["ok"]][-1]
ok_gg = [f for f in gg if f["ok"]]
last_fit = max(f["end"] for f in bg + gg)
spend = models.spend
print(json.dumps({
    "import_s": t1 - t0, "work_s": t4 - t2, "rows": n,
    "collapse_s": bg[0]["start"] - t2,
    "bgnbd_fit_s": sum(f["end"] - f["start"] for f in bg),
    "bgnbd_final_fit_s": ok_bg["end"] - ok_bg["start"],
    "gg_fit_s": sum(f["end"] - f["start"] for f in gg),
    "gg_final_fit_s": (ok_gg[-1]["end"] - ok_gg[-1]["start"]) if ok_gg else None,
    "bgnbd_attempts": [[f["penalizer"], round(f["end"] - f["start"], 3), f["ok"]] for f in bg],
    "gg_attempts": [[f["penalizer"], round(f["end"] - f["start"], 3), f["ok"]] for f in gg],
    "predict_s": (t3 - last_fit) + (t4 - t3),
    "distinct_rows": models.distinct_rows, "customers": models.customers,
    "bgnbd_unique_rows": models.transactions.n_unique_rows_,
    "bgnbd_params": models.transactions.params_, "bgnbd_penalizer": models.transactions.penalizer,
    "gg_params": spend.params_ if spend else None,
    "gg_penalizer": spend.penalizer if spend else None,
    "gg_cap": ok_gg[-1]["max_value"] if ok_gg else None,
    "gg_unique_rows": spend.n_unique_rows_ if spend else None,
}))
"""

#: Child: the lifetimes-style baseline, SciPy on one row per customer.
SCIPY_FIT = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
import numpy as np
from scipy import optimize
from scipy.special import gammaln
t1 = time.perf_counter()
db = sys.argv[1]
bg_pen, gg_pen, gg_cap = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
theirs = json.loads(sys.argv[5])  # custseg's parameters, to compare the objectives
con = duckdb.connect(db, read_only=True)
t2 = time.perf_counter()
x, tx, T, m = (np.asarray(c, dtype=float) for c in con.execute(
    "SELECT clv_frequency, clv_recency, clv_T, clv_monetary FROM bench_rfm_custseg"
).fetchnumpy().values())
con.close()
t3 = time.perf_counter()

def bgnbd_nll(log_params):  # lifetimes BetaGeoFitter._negative_log_likelihood
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(tx + alpha)
    mx = np.maximum(a3, a4)
    ll = a1 + a2 + np.log(np.exp(a3 - mx) + np.exp(a4 - mx) * (x > 0)) + mx
    return -ll.mean() + bg_pen * np.sum(np.exp(log_params) ** 2)

res = optimize.minimize(bgnbd_nll, np.zeros(4), method="L-BFGS-B",
                        options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
t4 = time.perf_counter()

ok = (x > 0) & (m > 0)
gx, gm = x[ok], np.minimum(m[ok], gg_cap)

def gg_nll(log_params):  # lifetimes GammaGammaFitter._negative_log_likelihood
    p, q, v = np.exp(log_params)
    ll = (gammaln(p * gx + q) - gammaln(p * gx) - gammaln(q) + q * np.log(v)
          + (p * gx - 1) * np.log(gm) + (p * gx) * np.log(gx) - (p * gx + q) * np.log(gx * gm + v))
    return -ll.mean() + gg_pen * np.sum(np.exp(log_params) ** 2)

gres = optimize.minimize(gg_nll, np.zeros(3), method="L-BFGS-B",
                         options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
t5 = time.perf_counter()
def at(params, names):
    return np.log([params[k] for k in names])
objectives = {
    "bgnbd_objective": float(res.fun),
    "bgnbd_objective_at_custseg": float(bgnbd_nll(at(theirs["bgnbd"], ["r", "alpha", "a", "b"]))),
}
if theirs.get("gg"):
    objectives["gg_objective"] = float(gres.fun)
    objectives["gg_objective_at_custseg"] = float(gg_nll(at(theirs["gg"], ["p", "q", "v"])))
print(json.dumps({**objectives,
    "import_s": t1 - t0, "read_s": t3 - t2, "work_s": t5 - t2,
    "bgnbd_fit_s": t4 - t3, "gg_fit_s": t5 - t4, "rows": int(x.size), "gg_rows": int(ok.sum()),
    "bgnbd_params": dict(zip(["r", "alpha", "a", "b"], np.exp(res.x).tolist())),
    "gg_params": dict(zip(["p", "q", "v"], np.exp(gres.x).tolist())),
    "bgnbd_nfev": int(res.nfev), "gg_nfev": int(gres.nfev),
    "bgnbd_success": bool(res.success), "gg_success": bool(gres.success),
}))
"""

# --------------------------------------------------------------------------- data


@dataclass
class Store:
    """The cached, ingested workspace of one size."""

    customers: int
    root: Path  #: the cached workspace (never written by the measured steps)
    info: dict[str, Any]  #: generation and ingest rows and times

    @property
    def orders(self) -> int:
        return int(self.info["ingested"]["orders"])


def _fail(what: str, m: Measurement) -> None:
    sys.exit(f"{what} failed (exit {m.returncode}):\n{m.stderr[-4000:]}")


def prepare_store(out: Path, customers: int) -> Store:
    """Generate and ingest the store once; later runs reuse ``out/features-N``."""
    root = out / f"features-{customers}"
    ready = root / "ready.json"
    if ready.exists():
        info = json.loads(ready.read_text())
        if info.get("version") == DATA_VERSION and info.get("seed") == SEED:
            print(f"reusing the store in {root}", flush=True)
            return Store(customers, root, info)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"generating {customers:,} customers into {root} ...", flush=True)
    gen = run_python(GENERATE, str(root), str(customers), str(SEED))
    if not gen.ok:
        _fail("generate", gen)
    print(f"  {gen.seconds:.0f}s, peak {mib(gen.peak_rss):,.0f} MiB; ingesting ...", flush=True)
    ing = run_python(INGEST, str(root))
    if not ing.ok:
        _fail("ingest", ing)
    print(f"  {ing.seconds:.0f}s, peak {mib(ing.peak_rss):,.0f} MiB", flush=True)
    shutil.rmtree(root / ".custseg-tmp", ignore_errors=True)
    info = {
        "version": DATA_VERSION,
        "seed": SEED,
        "customers": customers,
        "generated": gen.payload["rows"],
        "ingested": ing.payload["rows"],
        "generate_s": gen.seconds,
        "generate_peak": gen.peak_rss,
        "ingest_s": ing.seconds,
        "ingest_peak": ing.peak_rss,
        "db_bytes": (root / "custseg.duckdb").stat().st_size,
    }
    ready.write_text(json.dumps(info, indent=1))
    return Store(customers, root, info)


def working_copy(store: Store, out: Path) -> Path:
    """A private copy of the workspace for the measured steps (they write tables)."""
    dest = out / f"features-run-{store.customers}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        store.root, dest, ignore=shutil.ignore_patterns("data", ".custseg-tmp", "ready.json")
    )
    return dest


# --------------------------------------------------------------------------- steps


@dataclass
class Step:
    key: str
    label: str
    m: Measurement

    @property
    def p(self) -> dict[str, Any]:
        return self.m.payload


def run_steps(ws: Path, skip_pandas: bool, skip_scipy: bool) -> dict[str, Step]:
    db = str(ws / "custseg.duckdb")
    as_of = AS_OF.isoformat()
    plan: list[tuple[str, str, str, list[str]]] = [
        ("sql", "DuckDB SQL, summary only", SQL_SUMMARY, [db, as_of]),
        ("rfm", "custseg RFM part (`rfm_summary`)", CUSTSEG_RFM, [str(ws), as_of]),
        ("build", "custseg feature build (all families)", CUSTSEG_BUILD, [str(ws), as_of]),
    ]
    if not skip_pandas:
        plan.append(("pandas", "pandas groupby, summary only", PANDAS_SUMMARY, [db, as_of]))
    steps: dict[str, Step] = {}
    for key, label, code, argv in plan:
        print(f"  {label} ...", flush=True)
        m = run_python(code, *argv)
        if not m.ok:
            _fail(label, m)
        steps[key] = Step(key, label, m)
        print(f"    {m.seconds:.1f}s, peak {mib(m.peak_rss):,.0f} MiB", flush=True)
    print("  custseg CLV (fit + predictions) ...", flush=True)
    m = run_python(CUSTSEG_CLV, str(ws), as_of)
    if not m.ok:
        _fail("custseg CLV", m)
    steps["clv"] = Step("clv", "custseg BG/NBD + Gamma-Gamma, fit and predict", m)
    if not skip_scipy:
        print("  SciPy fit on the full rows ...", flush=True)
        p = m.payload
        m = run_python(
            SCIPY_FIT,
            db,
            str(p["bgnbd_penalizer"]),
            str(p["gg_penalizer"] or 0.0),
            str(p["gg_cap"] if p["gg_cap"] is not None else float("inf")),
            json.dumps({"bgnbd": p["bgnbd_params"], "gg": p["gg_params"]}),
        )
        if not m.ok:
            _fail("SciPy fit", m)
        steps["scipy"] = Step("scipy", "SciPy on the full rows (lifetimes-style)", m)
    return steps


def check_summaries(ws: Path) -> dict[str, Any]:
    m = run_python(CHECK, str(ws / "custseg.duckdb"))
    if not m.ok:
        _fail("checking the summaries", m)
    return m.payload


def _rel_diff(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in b)


# --------------------------------------------------------------------------- report


def _ratio(a: Step | None, b: Step | None) -> str:
    return f"{a.m.seconds / b.m.seconds:.2f}×" if a and b else "–"


TIME_HEADERS = [
    "step",
    "seconds",
    "in-process s",
    "CPU s",
    "peak RSS MiB",
    "vs DuckDB SQL",
    "vs pandas",
]


def time_rows(steps: dict[str, Step]) -> list[list[str]]:
    rows = []
    for key in ("build", "rfm", "sql", "pandas"):
        s = steps.get(key)
        if s is None:
            continue
        rows.append(
            [
                s.label,
                f"{s.m.seconds:.1f}",
                f"{s.p.get('work_s', 0.0):.1f}",
                f"{s.m.cpu_seconds:.1f}",
                f"{mib(s.m.peak_rss):,.0f}",
                _ratio(s, steps.get("sql")),
                _ratio(s, steps.get("pandas")),
            ]
        )
    return rows


FIT_HEADERS = ["phase", "custseg s", "SciPy full rows s", "speed-up"]


def _attempts(a: list) -> str:
    return ", ".join(f"{pen:g}: {sec:.2f} s{'' if ok else ' (failed)'}" for pen, sec, ok in a)


def fit_rows(steps: dict[str, Step]) -> list[list[str]]:
    c = steps["clv"].p
    s = steps["scipy"].p if "scipy" in steps else {}

    def speed(a: float, b: float | None) -> str:
        return f"{b / a:.1f}×" if b else "–"

    bg_final = c["collapse_s"] + c["bgnbd_final_fit_s"]
    bg_all = c["collapse_s"] + c["bgnbd_fit_s"]
    sb, sg = s.get("bgnbd_fit_s"), s.get("gg_fit_s")
    rows = [
        [
            f"BG/NBD, the converged fit (penalizer {c['bgnbd_penalizer']:g}) on "
            f"{c['customers']:,} customers: custseg collapses them to "
            f"{c['bgnbd_unique_rows']:,} distinct rows (time included)",
            f"{bg_final:.2f}",
            f"{sb:.2f}" if sb else "–",
            speed(bg_final, sb),
        ],
        [
            f"BG/NBD, every attempt of the predictive step (penalizer: {_attempts(c['bgnbd_attempts'])})",
            f"{bg_all:.2f}",
            "–",
            "–",
        ],
    ]
    if c["gg_final_fit_s"] is not None:
        rows.append(
            [
                f"Gamma-Gamma, the converged fit (penalizer {c['gg_penalizer']:g}, "
                f"{c['gg_unique_rows']:,} distinct repeat rows)",
                f"{c['gg_final_fit_s']:.2f}",
                f"{sg:.2f}" if sg else "–",
                speed(c["gg_final_fit_s"], sg),
            ]
        )
    rows += [
        [
            f"Gamma-Gamma, every attempt ({len(c['gg_attempts'])}, penalizers and winsorizing "
            "levels in turn)",
            f"{c['gg_fit_s']:.2f}",
            "–",
            "–",
        ],
        [
            f"predictions for {c['rows']:,} customers (expected orders, P(alive), CLV, "
            "next order date), joined back and written to a table",
            f"{c['predict_s']:.2f}",
            "–",
            "–",
        ],
    ]
    return rows


def targets(steps: dict[str, Step]) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    sql = steps["sql"].m.seconds
    r = steps["build"].m.seconds / sql
    out.append(
        ("full feature build ≤ 2× the SQL summary", f"{r:.2f}×", r <= TARGETS["build_vs_sql"])
    )
    r = steps["rfm"].m.seconds / sql
    out.append(("RFM part ≤ 1.5× the SQL summary", f"{r:.2f}×", r <= TARGETS["rfm_vs_sql"]))
    c = steps["clv"].p
    fit = c["collapse_s"] + c["bgnbd_fit_s"]
    n = f"{c['customers'] / 1e6:.2g}M" if c["customers"] >= 100_000 else f"{c['customers']:,}"
    out.append(
        (
            f"BG/NBD fit on 1M customers ≤ 1 s (here {n}; every attempt)",
            f"{fit:.2f} s",
            fit <= TARGETS["fit_s"],
        )
    )
    out.append(
        (
            "predictions for 1M customers ≤ 2 s",
            f"{c['predict_s']:.2f} s",
            c["predict_s"] <= TARGETS["predict_s"],
        )
    )
    custseg = [s for k, s in steps.items() if k in ("build", "rfm", "clv")]
    worst = max(custseg, key=lambda s: s.m.peak_rss)
    out.append(
        (
            "peak memory ≤ 4 GiB",
            f"{mib(worst.m.peak_rss) / 1024:.2f} GiB ({worst.key})",
            worst.m.peak_rss <= TARGETS["peak_rss_bytes"],
        )
    )
    return out


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def params_line(
    name: str,
    a: dict[str, float] | None,
    b: dict[str, float] | None,
    objectives: tuple[float, float] | None = None,
) -> str:
    if not a:
        return f"{name}: not fitted"
    fmt = ", ".join(f"{k}={v:.6g}" for k, v in a.items())
    if not b:
        return f"{name}: custseg {fmt}"
    other = ", ".join(f"{k}={v:.6g}" for k, v in b.items())
    line = (
        f"{name}: custseg {fmt}; SciPy {other}; largest relative difference {_rel_diff(a, b):.1e}"
    )
    if objectives:
        own, theirs = objectives
        line += (
            f"; the baseline's objective (mean negative log-likelihood + penalty) is "
            f"{own:.10g} at its optimum and {theirs:.10g} at custseg's"
        )
    return line


def _objectives(s: dict[str, Any], key: str) -> tuple[float, float] | None:
    if f"{key}_objective" in s:
        return s[f"{key}_objective"], s[f"{key}_objective_at_custseg"]
    return None


def print_report(steps: dict[str, Step], check: dict[str, Any]) -> None:
    print()
    print_table(TIME_HEADERS, time_rows(steps))
    print()
    print_table(FIT_HEADERS, fit_rows(steps))
    c = steps["clv"].p
    s = steps["scipy"].p if "scipy" in steps else {}
    print()
    print(params_line("BG/NBD", c["bgnbd_params"], s.get("bgnbd_params"), _objectives(s, "bgnbd")))
    print(params_line("Gamma-Gamma", c["gg_params"], s.get("gg_params"), _objectives(s, "gg")))
    print(f"\nsummaries compared with custseg's: {json.dumps(check)}")
    print("\nTargets (custseg):")
    for label, measured, met in targets(steps):
        print(f"  [{'PASS' if met else 'FAIL'}] {label}: {measured}")


def _versions(steps: dict[str, Step]) -> str:
    found: dict[str, set[str]] = {}
    for s in steps.values():
        for lib in ("duckdb", "pandas"):
            if lib in s.p:
                found.setdefault(lib, set()).add(s.p[lib])
    return ", ".join(f"{lib} {' / '.join(sorted(v))}" for lib, v in found.items())


def _check_text(check: dict[str, Any]) -> str:
    bad = {
        other: {k: v for k, v in counts.items() if v}
        for other, counts in check.items()
        if isinstance(counts, dict)
    }
    if not any(bad.values()):
        return (
            f"the SQL and pandas summaries equal custseg's for all {check['customers']:,} "
            "customers (counts and dates exactly, money and weeks to 1e-9 relative); "
            "the script checks it"
        )
    return f"**the summaries differ**: {json.dumps(bad)}"


def markdown(
    store: Store, steps: dict[str, Step], check: dict[str, Any], command: str, code: str
) -> str:
    info = machine_info()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    ing = store.info["ingested"]
    loads = [s.m.load_before for s in steps.values()]
    cores = psutil.cpu_count() or 1
    load = (
        f"The 1-minute load average when the measured processes started was "
        f"{min(loads):.1f}–{max(loads):.1f}"
    )
    load += (
        f" (above the {cores} cores: other work shared the CPUs, so wall times are pessimistic)."
        if max(loads) > cores * 0.75
        else "."
    )
    c = steps["clv"].p
    s = steps["scipy"].p if "scipy" in steps else {}
    tgt = "\n".join(
        f"| {label} | {measured} | {'✅ met' if met else '❌ missed'} |"
        for label, measured, met in targets(steps)
    )
    quoted = "\n".join(f"| {who} | {what} | {sec} |" for who, what, sec in QUOTED)
    cols = steps["build"].p.get("columns")
    return f"""\
## Features: `benchmarks/bench_features.py`

The custseg feature build (every family, RFM scores and groups, CLV predictions:
`custseg.features.materialize`, i.e. `custseg features`) and its RFM part alone
(`behavior.rfm_summary` written to a table), against a hand-written DuckDB SQL query and
pandas `groupby` code that compute **only** the RFM/CLV summary (per customer: orders,
amount spent, last order date, repeat purchase days, recency, T and mean repeat value, in
weeks, as lifetimes' `summary_data_from_transaction_data(freq="D", freq_multiplier=7)`).
Then the BG/NBD + Gamma-Gamma fit on that summary: custseg fits the distinct rows with
their counts as weights; the baseline minimises the same likelihoods (lifetimes' formulas,
same penalizer) with `scipy.optimize.minimize` (L-BFGS-B, finite-difference gradients)
on one row per customer, as lifetimes does.

* **Run:** {when}, `{command}`, code {code}
* **Machine:** {info["cores"]} cores ({info["cpu"]}), {info["memory"]} RAM, {info["os"]}, Python {
        info["python"]
    }, {_versions(steps)}
* **Data:** `custseg.synth.generate(customers={store.customers:,}, seed={SEED})`, ingested:
  {ing["customers"]:,} customers, {ing["orders"]:,} orders, {ing["order_lines"]:,} order lines,
  {ing["events"]:,} events, {ing["attributes"]:,} attributes (DuckDB file
  {store.info["db_bytes"] / 2**30:.1f} GiB); as of {AS_OF}. Setup, not timed: generation
  {store.info["generate_s"]:.0f} s, ingest {store.info["ingest_s"]:.0f} s.
* **Same results:** {_check_text(check)}. `customer_features`: {steps["build"].p["rows"]:,} rows × {
        cols
    } columns.

*seconds* is the wall time of the whole process (interpreter start and imports included,
as a user runs it); *in-process s* leaves out the imports; *CPU s* is user + system CPU
time. The database file was in the page cache for every tool. {load}

{md_table(TIME_HEADERS, time_rows(steps), "lrrrrrr")}

CLV models, timed inside one process (`add_predictions` on the {c["customers"]:,}-customer
summary; the BG/NBD time includes collapsing the rows to distinct ones in DuckDB, and the
prediction time includes joining the predictions back to every customer and writing the
table). Peak RSS of that process: {mib(steps["clv"].m.peak_rss):,.0f} MiB{
        f"; of the SciPy process: {mib(steps['scipy'].m.peak_rss):,.0f} MiB" if s else ""
    }.

{md_table(FIT_HEADERS, fit_rows(steps), "lrrr")}

The parameters found (same data, same penalizer{
        f", repeat values capped at {c['gg_cap']:,.2f} as custseg did" if c["gg_cap"] else ""
    }):

* {params_line("BG/NBD", c["bgnbd_params"], s.get("bgnbd_params"), _objectives(s, "bgnbd"))}.
* {params_line("Gamma-Gamma", c["gg_params"], s.get("gg_params"), _objectives(s, "gg"))}.

| target (custseg) | measured | |
| --- | --- | --- |
{tgt}

For reference, the figures quoted in the features issue for other tools on 1M customers
(same kind of machine, whole processes; not measured by this script):

| tool | job | seconds |
| --- | --- | ---: |
{quoted}
"""


def raw(store: Store, steps: dict[str, Step], check: dict[str, Any], code: str) -> dict:
    def m(x: Measurement) -> dict:
        return {k: v for k, v in vars(x).items() if k not in ("stdout", "stderr")}

    return {
        "when": datetime.now(UTC).isoformat(),
        "code": code,
        "machine": machine_info(),
        "store": store.info,
        "check": check,
        "steps": {k: {"label": s.label, **m(s.m)} for k, s in steps.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--customers",
        type=int,
        default=1_000_000,
        help="customers to generate (default 1,000,000: about 9.7M orders)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench-data",
        help="folder for data and workspaces (default bench-data/)",
    )
    ap.add_argument("--skip-pandas", action="store_true", help="do not run the pandas baseline")
    ap.add_argument("--skip-scipy", action="store_true", help="do not run the SciPy fit baseline")
    ap.add_argument("--keep", action="store_true", help="keep the working copy of the workspace")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)
    if args.customers < 1000:
        ap.error("--customers must be at least 1000")
    out = args.out.resolve()

    store = prepare_store(out, args.customers)
    code_before, digest_before = git_state(), code_digest()
    ws = working_copy(store, out)
    print(f"measuring on a copy of the workspace in {ws} ...", flush=True)
    steps = run_steps(ws, args.skip_pandas, args.skip_scipy)
    check = check_summaries(ws) if "pandas" in steps else {}
    if not args.keep:
        shutil.rmtree(ws, ignore_errors=True)

    code = git_state()
    if code_digest() != digest_before:
        code = f"{code_before} at the start, {code} at the end: src/ changed during the run"
        print(f"WARNING: {code}")
    print_report(steps, check)
    path = out / f"bench_features-{args.customers}.json"
    path.write_text(json.dumps(raw(store, steps, check, code), indent=1, default=str))
    print(f"\nraw measurements: {path}")
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
        doc = update_markdown_section(SECTION, markdown(store, steps, check, command, code))
        print(f"\nwrote the results to {doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
