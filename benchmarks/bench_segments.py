"""Segments benchmark: rule previews, evaluation, clustering and the report vs pandas.

On a workspace with ``customer_features`` built (default: a generated store of
``--customers`` customers under ``bench-data/segments-<N>/``, made once with the demo
generator and the pipeline's feature stage), it measures, in one run:

1. **preview latency** of 10 realistic rules (7 on features, 3 with ``MATCHES`` over the
   raw tables), median of 5 calls each after one warm-up, in one process, against the
   same filters in pandas on DataFrames already in memory (the pandas load time is
   reported separately);
2. **evaluation** of every segment (built-in families + rule segments) into
   ``memberships``, as a whole process, against pandas computing the same masks;
3. **clustering**: fit on a 200k sample with k chosen over 2..10 and assignment of every
   customer in the engine, as a whole process, against scikit-learn defaults
   (``KMeans`` for each k on the same sample with silhouette on 10k, then ``predict`` on
   all customers in pandas/numpy);
4. **the report** for the evaluated segments (profiles + HTML), as a whole process,
   against pandas group-by means of every numeric feature per segment.

Targets (issue 4): preview median ≤ 100 ms on features, ≤ 1 s with MATCHES; clustering
≤ 10 s including choosing k. Run ``python benchmarks/bench_segments.py --customers
1000000``; results go to ``docs/benchmarks.md`` (section ``segments``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    code_digest,
    machine_info,
    md_table,
    mib,
    run_python,
    update_markdown_section,
)

DATA = REPO / "bench-data"

FEATURE_RULES = (
    "amount_spent > 500 AND number_of_orders >= 3 AND country IN ('US', 'CA')",
    "last_order_date < -90d AND p_alive BETWEEN 0.2 AND 0.6",
    "rfm_group IN ('Champions', 'Loyal Customers') OR tags CONTAINS 'vip'",
    "clv_tier = 'top' AND churn_risk = 'high'",
    "within_distance(lat = 40.71, lon = -74.01, km = 300) AND main_device = 'mobile'",
    "discount_share > 0.5 AND avg_order_value < 60 AND NOT email_clicks > 3",
    "age_band IN ('25-34', '35-44') AND mobile_session_share >= 0.5 AND spend_365d > 200",
)
MATCH_RULES = (
    "products_purchased MATCHES (category = 'footwear', count >= 2, date >= -12m)",
    "events MATCHES (type = 'product_view', count >= 5, date >= -30d) "
    "AND NOT orders_placed MATCHES (date >= -30d)",
    "orders_placed MATCHES (amount >= 100, count >= 3, date >= -6m) AND clv_tier = 'next'",
)


def build_workspace(customers: int, seed: int = 11) -> Path:
    """A generated store with features built, cached in bench-data/segments-<N>/."""
    root = DATA / f"segments-{customers}"
    ready = root / ".ready"
    if ready.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    code = f"""
import sys
from pathlib import Path
from custseg.demo import write_demo_config
from custseg.features import materialize
from custseg.ingest import ingest_sources
from custseg.synth import generate
from custseg.workspace import open_workspace
root = Path({str(root)!r})
m = generate(root / "data", customers={customers}, seed={seed})
write_demo_config(root, m)
with open_workspace(root) as ws:
    ingest_sources(ws)
    materialize(ws)
"""
    m = run_python(code)
    if not m.ok:
        raise SystemExit(f"building the workspace failed:\n{m.stderr[-3000:]}")
    ready.write_text(json.dumps({"seconds": m.seconds}))
    return root


PREVIEW = r"""
import json, statistics, sys, time
from custseg.workspace import open_workspace
from custseg.segments.registry import rule_context
from custseg.segments.dsl import preview
ws = open_workspace(sys.argv[1]); ws.connect(read_only=True)
ctx = rule_context(ws)
rules = json.loads(sys.argv[2])
out = {}
for rule in rules:
    preview(ctx, rule)
    times = []
    for _ in range(5):
        t = time.perf_counter(); r = preview(ctx, rule); times.append(time.perf_counter() - t)
    out[rule] = {"median": statistics.median(times), "count": r.count}
print(json.dumps(out))
"""

PANDAS_PREVIEW = r"""
import json, statistics, sys, time
import duckdb, numpy as np, pandas as pd
con = duckdb.connect(sys.argv[1] + "/custseg.duckdb", read_only=True)
t = time.perf_counter()
f = con.execute("SELECT * FROM customer_features").df()
o = con.execute("SELECT order_id, customer_id, ordered_at, status, total, refunded FROM orders").df()
l = con.execute("SELECT order_id, category, quantity FROM order_lines").df()
e = con.execute("SELECT customer_id, ts, type FROM events WHERE customer_id IS NOT NULL").df()
load = time.perf_counter() - t
as_of = pd.Timestamp(f.as_of.max())
end = as_of + pd.Timedelta(days=1)
clv = f.clv_365d
buy = f[(f.number_of_orders > 0) & clv.notna()].clv_365d
top, nxt = buy.quantile(0.9), buy.quantile(0.7)
tier = np.where((f.number_of_orders > 0) & (clv >= top), "top", np.where((f.number_of_orders > 0) & (clv >= nxt), "next", "rest"))
risk = np.where(f.p_alive < 0.3, "high", np.where(f.p_alive < 0.6, "medium", "low"))
def hav(lat, lon, la2, lo2):
    r = np.radians; dlat = r(la2 - lat); dlon = r(lo2 - lon)
    a = np.sin(dlat/2)**2 + np.cos(r(lat))*np.cos(r(la2))*np.sin(dlon/2)**2
    return 2*6371.0088*np.arcsin(np.sqrt(a))
oc = o[(o.status != "cancelled") & (o.ordered_at < end.tz_localize("UTC"))]
def r0(): return (f.amount_spent > 500) & (f.number_of_orders >= 3) & f.country.isin(["US", "CA"])
def r1(): return (pd.to_datetime(f.last_order_date) < as_of - pd.Timedelta(days=90)) & f.p_alive.between(0.2, 0.6)
def r2(): return f.rfm_group.isin(["Champions", "Loyal Customers"]) | f.tags.fillna("").str.lower().str.split(",").apply(lambda xs: "vip" in [x.strip() for x in xs])
def r3(): return (tier == "top") & (risk == "high")
def r4(): return (hav(f.latitude, f.longitude, 40.71, -74.01) <= 300) & (f.main_device == "mobile")
def r5(): return (f.discount_share > 0.5) & (f.avg_order_value < 60) & ~(f.email_clicks > 3)
def r6(): return f.age_band.isin(["25-34", "35-44"]) & (f.mobile_session_share >= 0.5) & (f.spend_365d > 200)
def m0():
    ol = l[(l.category == "footwear") & (l.quantity > 0)].merge(oc, on="order_id")
    ol = ol[ol.ordered_at >= (as_of - pd.DateOffset(months=12)).tz_localize("UTC")]
    n = ol.groupby("customer_id").order_id.nunique()
    return f.customer_id.isin(n[n >= 2].index)
def m1():
    ev = e[(e.type == "product_view") & (e.ts >= (as_of - pd.Timedelta(days=30)).tz_localize("UTC")) & (e.ts < end.tz_localize("UTC"))]
    n = ev.groupby("customer_id").size()
    recent = oc[oc.ordered_at >= (as_of - pd.Timedelta(days=30)).tz_localize("UTC")].customer_id.unique()
    return f.customer_id.isin(n[n >= 5].index) & ~f.customer_id.isin(recent)
def m2():
    x = oc[(oc.total.astype(float) - oc.refunded.astype(float).fillna(0) >= 100) & (oc.ordered_at >= (as_of - pd.DateOffset(months=6)).tz_localize("UTC"))]
    n = x.groupby("customer_id").size()
    return f.customer_id.isin(n[n >= 3].index) & (tier == "next")
out = {"_load": load}
for name, fn in [("r0", r0), ("r1", r1), ("r2", r2), ("r3", r3), ("r4", r4), ("r5", r5), ("r6", r6), ("m0", m0), ("m1", m1), ("m2", m2)]:
    fn(); times = []
    for _ in range(5):
        t = time.perf_counter(); c = int(fn().sum()); times.append(time.perf_counter() - t)
    out[name] = {"median": statistics.median(times), "count": c}
print(json.dumps(out))
"""

EVALUATE = r"""
import json, sys, time
from custseg.workspace import open_workspace
from custseg.segments.registry import evaluate
ws = open_workspace(sys.argv[1])
t = time.perf_counter(); ev = evaluate(ws); s = time.perf_counter() - t
print(json.dumps({"segments": len(ev.sizes), "work": s}))
"""

CLUSTER = r"""
import json, sys, time
from custseg.workspace import open_workspace
from custseg.segments.registry import fit_workspace_clustering
ws = open_workspace(sys.argv[1])
t = time.perf_counter()
seg = fit_workspace_clustering(ws)
fit = time.perf_counter() - t
t = time.perf_counter()
n = seg.assign(ws.connect().table("customer_features")).count().to_pyarrow().as_py()
assign = time.perf_counter() - t
print(json.dumps({"k": seg.k_, "stability": seg.stability_, "fit": fit, "assign": assign, "assigned": n}))
"""

SKLEARN_CLUSTER = r"""
import json, sys, time
import duckdb, numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
cols = ["number_of_orders", "amount_spent", "days_since_last_order", "tenure_days", "orders_365d",
        "spend_365d", "discount_share", "full_price_share", "avg_basket_units", "basket_diversity",
        "brand_loyalty"]
con = duckdb.connect(sys.argv[1] + "/custseg.duckdb", read_only=True)
t = time.perf_counter()
df = con.execute("SELECT " + ", ".join(cols) + " FROM customer_features WHERE number_of_orders > 0").df()
X = StandardScaler().fit_transform(np.log1p(df.fillna(df.median()).clip(lower=0)))
rng = np.random.default_rng(0)
sample = X[rng.choice(len(X), min(200_000, len(X)), replace=False)]
sub = sample[rng.choice(len(sample), min(10_000, len(sample)), replace=False)]
best = None
for k in range(2, 11):
    km = KMeans(n_clusters=k, random_state=0).fit(sample)
    s = silhouette_score(sub, km.predict(sub))
    if best is None or s > best[0]:
        best = (s, k, km)
labels = best[2].predict(X)
print(json.dumps({"k": best[1], "seconds": time.perf_counter() - t, "assigned": int(len(labels))}))
"""

REPORT = r"""
import json, sys, time
from custseg.workspace import open_workspace
from custseg.report import build_report
ws = open_workspace(sys.argv[1])
t = time.perf_counter(); p = build_report(ws, sys.argv[2]); s = time.perf_counter() - t
print(json.dumps({"work": s, "bytes": p.stat().st_size}))
"""

PANDAS_REPORT = r"""
import json, sys, time
import duckdb
con = duckdb.connect(sys.argv[1] + "/custseg.duckdb", read_only=True)
t = time.perf_counter()
f = con.execute("SELECT * FROM customer_features").df()
m = con.execute("SELECT customer_id, segment FROM memberships").df()
j = m.merge(f, on="customer_id")
num = j.select_dtypes("number").columns
means = j.groupby("segment")[list(num)].mean()
medians = j.groupby("segment")[list(num)].median()
pop = f[list(num)].mean()
lift = means / pop
print(json.dumps({"seconds": time.perf_counter() - t, "segments": int(len(means))}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workspace", type=Path, help="use this workspace (features built)")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)

    src = args.workspace or build_workspace(args.customers)
    ws = DATA / f"segments-run-{args.customers}"
    if ws.exists():
        shutil.rmtree(ws)
    shutil.copytree(src, ws, ignore=shutil.ignore_patterns("data", ".custseg-tmp"))
    (ws / "data").symlink_to((src / "data").resolve())
    n = args.customers

    rules = list(FEATURE_RULES) + list(MATCH_RULES)
    pv = run_python(PREVIEW, str(ws), json.dumps(rules))
    pp = run_python(PANDAS_PREVIEW, str(ws))
    for what, m in (("preview", pv), ("pandas preview", pp)):
        if not m.ok:
            raise SystemExit(f"{what} failed:\n{m.stderr[-3000:]}")
    ours = [pv.payload[r]["median"] for r in rules]
    theirs = [pp.payload[k]["median"] for k in [f"r{i}" for i in range(7)] + ["m0", "m1", "m2"]]
    counts_ok = [
        pv.payload[r]["count"] == pp.payload[k]["count"]
        for r, k in zip(rules, [f"r{i}" for i in range(7)] + ["m0", "m1", "m2"], strict=True)
    ]

    ev = run_python(EVALUATE, str(ws))
    cl = run_python(CLUSTER, str(ws))
    sk = run_python(SKLEARN_CLUSTER, str(ws))
    rp = run_python(REPORT, str(ws), str(ws / "report.html"))
    pr = run_python(PANDAS_REPORT, str(ws))
    for what, m in (
        ("evaluate", ev),
        ("cluster", cl),
        ("sklearn", sk),
        ("report", rp),
        ("pandas report", pr),
    ):
        if not m.ok:
            raise SystemExit(f"{what} failed:\n{m.stderr[-3000:]}")

    feat_med = statistics.median(ours[:7])
    match_med = statistics.median(ours[7:])
    rows = []
    for i, r in enumerate(rules):
        rows.append(
            [
                f"`{r}`",
                f"{pv.payload[r]['count']:,}",
                f"{ours[i] * 1000:.0f} ms",
                f"{theirs[i] * 1000:.0f} ms",
                f"{theirs[i] / ours[i]:.1f}×" if ours[i] else "",
                "yes" if counts_ok[i] else "**no**",
            ]
        )
    cluster_s = cl.payload["fit"] + cl.payload["assign"]
    summary = [
        [
            "preview, median of the 7 rules on features",
            f"{feat_med * 1000:.0f} ms",
            "≤ 100 ms",
            "met" if feat_med <= 0.1 else "**missed**",
        ],
        [
            "preview, median of the 3 rules with MATCHES",
            f"{match_med * 1000:.0f} ms",
            "≤ 1 s",
            "met" if match_med <= 1.0 else "**missed**",
        ],
        [
            f"evaluate {ev.payload['segments']} segments (process / work)",
            f"{ev.seconds:.1f} s / {ev.payload['work']:.1f} s",
            "",
            "",
        ],
        [
            f"clustering: fit (k={cl.payload['k']}, stability {cl.payload['stability']:.2f}) + assign "
            f"{cl.payload['assigned']:,}",
            f"{cl.payload['fit']:.1f} s + {cl.payload['assign']:.1f} s",
            "≤ 10 s",
            "met" if cluster_s <= 10 else "**missed**",
        ],
        [
            f"scikit-learn defaults: KMeans k=2..10 on the sample + predict all (k={sk.payload['k']})",
            f"{sk.payload['seconds']:.1f} s",
            "",
            f"{sk.payload['seconds'] / cluster_s:.1f}× custseg",
        ],
        [
            f"report ({rp.payload['bytes'] / 1e6:.1f} MB HTML; process / work)",
            f"{rp.seconds:.1f} s / {rp.payload['work']:.1f} s",
            "",
            "",
        ],
        [
            "pandas: load features + memberships, group-by means/medians (no charts)",
            f"{pr.payload['seconds']:.1f} s",
            "",
            "",
        ],
        [
            "pandas: load the 4 tables for the previews (once)",
            f"{pp.payload['_load']:.1f} s",
            "",
            "",
        ],
        [
            "peak memory: evaluate / clustering / report",
            f"{mib(ev.peak_rss):,.0f} / {mib(cl.peak_rss):,.0f} / {mib(rp.peak_rss):,.0f} MiB",
            "",
            "",
        ],
    ]
    print(json.dumps({"summary": summary, "rules": rows}, indent=1))
    if not args.no_docs:
        mi = machine_info()
        body = (
            f"## Segments ({n:,} customers)\n\n"
            f"Command: `.venv/bin/python benchmarks/bench_segments.py --customers {n}` "
            f"(code {code_digest()}; {mi['cpu']}, {mi['cores']} cores).\n\n"
            + md_table(["step", "custseg", "target", "result / ratio"], summary, "lrrl")
            + "\n\nRule previews (in-process, median of 5 after a warm-up; pandas on DataFrames "
            "already in memory; counts compared):\n\n"
            + md_table(
                ["rule", "members", "custseg", "pandas", "pandas / custseg", "same count"],
                rows,
                "lrrrrl",
            )
        )
        update_markdown_section("segments", body)
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    print(f"done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    raise SystemExit(rc)
