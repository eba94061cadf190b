"""Where the feature build's time goes: each family materialized on its own.

Times, on the store that ``bench_features.py`` generated (``bench-data/features-N``, on a
copy), each shared intermediate and each feature family of
:func:`custseg.features.build_from_tables` written to a temporary table, one after the
other, and then the whole build. A family's time includes recomputing the intermediates
it reads (the whole build computes each once).

Usage::

    .venv/bin/python benchmarks/profile_features.py --customers 1000000
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date

from _common import REPO

AS_OF = date(2025, 6, 30)


def main() -> None:
    from custseg import features
    from custseg.features import b2b, behavior, engagement, geo, psychographic, technographic
    from custseg.features._common import as_of_cut, counted_orders
    from custseg.workspace import open_workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    src = REPO / "bench-data" / f"features-{args.customers}"
    dest = REPO / "bench-data" / f"profile-{args.customers}"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    ws = open_workspace(dest)
    con = ws.connect()
    features._limit_memory(ws)
    t = {n: con.table(n) for n in con.list_tables()}
    cut = as_of_cut(AS_OF)
    cfg = ws.config.features

    def timed(name: str, expr) -> float:  # noqa: ANN001
        t0 = time.perf_counter()
        con.create_table(f"_p_{name}", expr, temp=True, overwrite=True)
        s = time.perf_counter() - t0
        print(f"{name:<28} {s:8.1f} s", flush=True)
        return s

    counted = counted_orders(t["orders"], cut).select(*features._COUNTED_COLUMNS)
    lines = behavior._lines_of(counted, t["order_lines"])
    stats = behavior._order_stats(lines)
    cat_units = behavior._category_units(lines)
    events = engagement.window_events(t["events"], as_of=cut, lookback_days=365).select(
        *features._EVENT_COLUMNS
    )
    timed("counted_orders", counted)
    timed("order_stats", stats)
    timed("category_units", cat_units)
    timed("window_events", events)
    parts = {
        "rfm": behavior._rfm_from_counted(counted, cut, behavior.WINDOWS),
        "basket": behavior._basket(
            counted, lines, stats, cat_units, categories=None, max_categories=12
        ),
        "engagement": engagement._engagement(events, counted, cut, lookback_days=365),
        "shipping": geo._shipping(counted),
        "technographic": technographic._technographics(events, counted),
        "attributes": psychographic.attribute_pivot(
            t["attributes"], keys=cfg.attribute_keys, as_of=cut
        ),
        "traits": psychographic._traits(
            counted, lines, stats, cat_units, novelty_days=psychographic.NOVELTY_DAYS
        ),
        "b2b_volume": b2b._volume(
            b2b._order_units(counted, stats), cut, bulk_units=cfg.bulk_units, volume_days=365
        ),
    }
    for name, expr in parts.items():
        timed(name, expr)
    timed("whole build (no models)", features.build_from_tables(t, as_of=AS_OF, config=cfg))
    ws.close()
    shutil.rmtree(dest)


if __name__ == "__main__":
    main()
