"""Recommendation benchmark: custseg vs popularity on a time split, plus timings.

What it does
------------
1. Uses a copy of a demo workspace: by default the 21k-customer demo of ``make demo``
   (``demo/``, copied to ``bench-data/recommend-demo``); with ``--customers N`` a store of
   N customers generated with ``custseg.synth.generate(seed=--seed)`` and ingested into
   ``bench-data/recommend-N`` (reused by later runs).
2. ``--tune``: the grid search the defaults come from, on the *validation* split
   (``--validation``, default 2025-01-01, test window ending on the test split date):
   co-occurrence scope x minimum support x neighbours, then the blend weights, then the
   browsing window x cookie stitching, then the lift prior; each stage keeps the best of
   the previous ones (hit rate, then recall). Nothing here looks at data after the test
   split.
3. The evaluation: ``evaluate_time_split`` at ``--split`` (default 2025-04-01, 90-day
   test window) with the default ``RecommenderConfig``: hit rate and recall at 10 of
   custseg and of the popularity baseline, computed in the same run.
4. Timings on the full store as of the last day: ``fit``, ``materialize`` (every
   customer), ``recommend_one`` (p50 / p99 over 300 customers) and the key lookup in the
   materialized table (p50 / p99), plus the machine's load average (the machine is shared).
5. Prints Markdown tables for ``docs/recommendations.md`` and writes the raw figures to
   ``bench-data/bench_recommend-<name>.json``; ``--docs`` also rewrites the
   ``bench_recommend`` section of ``docs/benchmarks.md``.

Usage::

    .venv/bin/python benchmarks/bench_recommend.py                    # the 21k demo
    .venv/bin/python benchmarks/bench_recommend.py --tune             # + the validation grid
    .venv/bin/python benchmarks/bench_recommend.py --customers 100000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, git_state, machine_info, md_table, update_markdown_section

from custseg.actions._recommend_config import check_config
from custseg.actions.recommend import (
    Recommender,
    RecommenderConfig,
    _evaluate_fitted,
    evaluate_time_split,
)
from custseg.workspace import open_workspace

SECTION = "bench_recommend"
TABLES = ("orders", "order_lines", "events", "customers")


def prepare(out: Path, customers: int | None, seed: int) -> Path:
    """The workspace to measure (a private copy, so the source stays unlocked)."""
    if customers is None:
        dest = out / "recommend-demo"
        if not (dest / "custseg.toml").exists():
            src = REPO / "demo"
            if not (src / "custseg.toml").exists():
                sys.exit("no demo/ workspace: run 'make demo' first, or pass --customers N")
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
        return dest
    dest = out / f"recommend-{customers}"
    if not (dest / "custseg.duckdb").exists():
        from custseg.demo import write_demo_config
        from custseg.ingest import ingest_sources
        from custseg.synth import generate

        print(f"generating a store of {customers:,} customers into {dest} ...", flush=True)
        manifest = generate(dest / "data", customers=customers, seed=seed)
        write_demo_config(dest, manifest)
        with open_workspace(dest) as ws:
            ingest_sources(ws)
    return dest


def _tables(con: Any) -> dict[str, Any]:
    return {n: con.table(n) for n in TABLES}


def _row(label: str, res: dict[str, Any]) -> dict[str, Any]:
    k = res["k"]
    return {
        "config": label,
        "custseg_hit": res["custseg"][f"hit_rate@{k}"],
        "custseg_recall": res["custseg"][f"recall@{k}"],
        "pop_hit": res["popularity"][f"hit_rate@{k}"],
        "pop_recall": res["popularity"][f"recall@{k}"],
        "customers": res["customers_evaluated"],
    }


def _reweighted(rec: Recommender, weights: dict[str, float]) -> Recommender:
    """A shallow copy of a fitted recommender with other blend weights (for the grid)."""
    other = Recommender(rec.config)
    other.__dict__.update(rec.__dict__)
    other.config_ = check_config(replace(rec.config_, weights=weights))
    other._one = other._profile = None
    return other


def tune(tables: dict[str, Any], split: date, test_days: int) -> list[dict[str, Any]]:
    """The validation grid; returns one row per configuration tried."""
    rows: list[dict[str, Any]] = []
    even = {"cooccurrence": 1.0, "segment_lift": 1.0, "browsing": 1.0}

    def run(label: str, cfg: RecommenderConfig) -> dict[str, Any]:
        t0 = time.perf_counter()
        res = evaluate_time_split(tables, split, config=cfg, test_days=test_days)
        row = _row(label, res)
        rows.append(row)
        print(f"  {label:<58} hit {row['custseg_hit']:.4f} recall {row['custseg_recall']:.4f}"
              f"  ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
        return row

    print(f"validation split {split}: stage 1, co-occurrence structure (even weights)")
    best = None
    # min_support 3 first: on a tie the first configuration tried is kept
    grid = itertools.product(("customer", "order"), (3, 1, 10), (20, 50, 100))
    for scope, support, nb in grid:
        cfg = RecommenderConfig(weights=even, scope=scope, min_support=support, neighbours=nb)
        row = run(f"scope={scope} min_support={support} neighbours={nb}", cfg)
        if best is None or (row["custseg_hit"], row["custseg_recall"]) > best[0]:
            best = ((row["custseg_hit"], row["custseg_recall"]), cfg)
    structure = best[1]

    print("stage 2, blend weights (one fit, re-ranked)")
    rec = Recommender(replace(structure, top_n=10)).fit(tables, as_of=split)
    steps = [i / 10 for i in range(11)]
    best = None
    for wc, wl in itertools.product(steps, steps):
        wb = round(1.0 - wc - wl, 10)
        if wb < 0:
            continue
        wb = abs(wb)  # no -0.0
        w = {"cooccurrence": wc, "segment_lift": wl, "browsing": wb}
        t0 = time.perf_counter()
        res = _evaluate_fitted(_reweighted(rec, w), tables, split, k=10, test_days=test_days)
        label = f"weights c={wc:.1f} l={wl:.1f} b={wb:.1f}"
        row = _row(label, res)
        rows.append(row)
        print(f"  {label:<58} hit {row['custseg_hit']:.4f} recall {row['custseg_recall']:.4f}"
              f"  ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
        if best is None or (row["custseg_hit"], row["custseg_recall"]) > best[0]:
            best = ((row["custseg_hit"], row["custseg_recall"]), w)
    weights = best[1]

    print("stage 3, browsing window and cookie stitching")
    best = None
    for days, stitch in itertools.product((30, 90, 180, 365), (True, False)):
        cfg = replace(structure, weights=weights, browse_days=days, stitch_anonymous=stitch)
        row = run(f"browse_days={days} stitch_anonymous={stitch}", cfg)
        if best is None or (row["custseg_hit"], row["custseg_recall"]) > best[0]:
            best = ((row["custseg_hit"], row["custseg_recall"]), cfg)
    print("stage 4, lift prior")
    for prior in (0.0, 20.0, 100.0):
        run(f"lift_prior={prior:g}", replace(best[1], lift_prior=prior))
    return rows


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    a = np.array(seconds) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def timings(con: Any, tables: dict[str, Any], n_lookups: int = 300) -> dict[str, Any]:
    """Fit, materialize, recommend_one and the key lookup on the whole store."""
    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    t0 = time.perf_counter()
    rec = Recommender().fit(tables)
    out["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    written = rec.materialize(con, table="recommendations")
    out["materialize_s"] = time.perf_counter() - t0
    out["rows"] = int(written.count().to_pyarrow().as_py())
    ids = [r[0] for r in con.con.execute("SELECT customer_id FROM customers").fetchall()]
    random.Random(1).shuffle(ids)
    sample = ids[:n_lookups]
    t0 = time.perf_counter()
    rec.recommend_one(sample[0])  # loads the product tables and the profile table
    out["recommend_one_first_s"] = time.perf_counter() - t0
    one = []
    mismatches = 0
    table = con.table("recommendations")
    for cid in sample:
        t0 = time.perf_counter()
        got = rec.recommend_one(cid)
        one.append(time.perf_counter() - t0)
        ref = table.filter(table.customer_id == cid).order_by("rank").to_pyarrow().to_pylist()
        mismatches += [r["sku"] for r in got] != [r["sku"] for r in ref]
    out["recommend_one_p50_ms"], out["recommend_one_p99_ms"] = _percentiles(one)
    out["recommend_one_mismatches"] = mismatches
    lookups = []
    sql = "SELECT * FROM recommendations WHERE customer_id = ? ORDER BY rank"
    for cid in sample:
        t0 = time.perf_counter()
        con.con.execute(sql, [cid]).fetchall()
        lookups.append(time.perf_counter() - t0)
    out["lookup_p50_ms"], out["lookup_p99_ms"] = _percentiles(lookups)
    out["load_after"] = os.getloadavg()[0]
    return out


def markdown(name: str, res: dict[str, Any], tm: dict[str, Any], command: str) -> str:
    k = res["k"]
    m = machine_info()
    head = (
        f"Store: `{name}`; split {res['split_date']}, test window {res['test_days']} days; "
        f"{res['customers_evaluated']:,} customers evaluated (of "
        f"{res['customers_with_orders_before_and_after']:,} with orders on both sides). "
        f"Command: `{command}`. Code: {git_state()}. Machine: {m['cpu']}, {m['cores']} "
        f"cores, shared (1-minute load average {tm['load_before']:.1f} at the start of the "
        f"timings)."
    )
    metrics = md_table(
        ["method", f"hit rate@{k}", f"recall@{k}"],
        [
            ["custseg", f"{res['custseg'][f'hit_rate@{k}']:.4f}",
             f"{res['custseg'][f'recall@{k}']:.4f}"],
            ["popularity", f"{res['popularity'][f'hit_rate@{k}']:.4f}",
             f"{res['popularity'][f'recall@{k}']:.4f}"],
        ],
        "lrr",
    )  # fmt: skip
    times = md_table(
        ["step", "time"],
        [
            ["evaluate_time_split (fit at the split + both methods)", f"{res['seconds']:.1f} s"],
            ["fit (as of the last order)", f"{tm['fit_s']:.1f} s"],
            [f"materialize ({tm['rows']:,} rows)", f"{tm['materialize_s']:.1f} s"],
            ["recommend_one, first call (loads tables)", f"{tm['recommend_one_first_s']:.2f} s"],
            ["recommend_one p50 / p99", f"{tm['recommend_one_p50_ms']:.1f} / "
             f"{tm['recommend_one_p99_ms']:.1f} ms"],
            ["key lookup in the materialized table p50 / p99", f"{tm['lookup_p50_ms']:.2f} / "
             f"{tm['lookup_p99_ms']:.2f} ms"],
        ],
        "lr",
    )  # fmt: skip
    return f"{head}\n\n{metrics}\n\n{times}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=None, help="generate a store this big")
    ap.add_argument("--seed", type=int, default=11, help="seed of the generated store")
    ap.add_argument("--out", type=Path, default=REPO / "bench-data", help="data folder")
    ap.add_argument("--split", type=date.fromisoformat, default=date(2025, 4, 1))
    ap.add_argument("--validation", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument("--test-days", type=int, default=90)
    ap.add_argument("--tune", action="store_true", help="run the validation grid first")
    ap.add_argument("--docs", action="store_true", help="rewrite docs/benchmarks.md's section")
    args = ap.parse_args(argv)
    if (args.split - args.validation).days < args.test_days:
        ap.error("the validation window must end on or before the test split")
    root = prepare(args.out.resolve(), args.customers, args.seed)
    name = root.name
    result: dict[str, Any] = {"store": name}
    with open_workspace(root) as ws:
        con = ws.connect()
        tables = _tables(con)
        if args.tune:
            result["tuning"] = tune(tables, args.validation, args.test_days)
        t0 = time.perf_counter()
        res = evaluate_time_split(tables, args.split, test_days=args.test_days)
        res["seconds"] = time.perf_counter() - t0
        result["evaluation"] = res
        print(json.dumps(res, indent=1))
        tm = timings(con, tables)
        result["timings"] = tm
        print(json.dumps(tm, indent=1))
    command = " ".join([".venv/bin/python benchmarks/bench_recommend.py", *(argv or sys.argv[1:])])
    md = markdown(name, res, tm, command)
    if args.tune:
        rows = [
            [r["config"], f"{r['custseg_hit']:.4f}", f"{r['custseg_recall']:.4f}"]
            for r in result["tuning"]
        ]
        print(md_table(["validation run", "hit rate@10", "recall@10"], rows, "lrr"))
    print()
    print(md)
    raw = args.out.resolve() / f"bench_recommend-{name}.json"
    raw.write_text(json.dumps(result, indent=1, default=str))
    print(f"raw figures: {raw}")
    if args.docs:
        body = "## Recommendations\n\n" + md
        print(f"wrote {update_markdown_section(SECTION, body)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
