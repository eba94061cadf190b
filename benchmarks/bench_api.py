"""Benchmark of the REST API: GET /customers/{id} under load, and segment exports.

    python benchmarks/bench_api.py                      # 1M customers in bench-data/
    python benchmarks/bench_api.py --workspace DIR      # an existing workspace (pipeline run)
    python benchmarks/bench_api.py --customers 100000 --requests 2000

What it does:

1. **Workspace.** With ``--workspace``, that one (the pipeline must have run). Otherwise
   ``bench-data/api-<N>``: a copy of ``--source`` (default ``demo``; the pipeline is run
   on it when it has not been) whose serving tables (customers, customer_features,
   memberships, customer_actions, shipping_tiers, recommendations) are replicated until
   there are at least N customers; copy k of customer ``C1`` is ``C1-k``. The rows are
   stored in a shuffled order, as a pipeline writes them. Built once, then reused.
2. **Server.** ``custseg serve`` in a subprocess on a free loopback port; the start-up
   time includes building (or checking) the customer lookup.
3. **Open loop.** An asyncio + httpx client sends ``--requests`` requests to
   ``GET /customers/{id}`` for random ids at a fixed ``--rate`` (requests are scheduled,
   not paced by responses). Latency is measured from each request's *scheduled* time,
   so a client or server that falls behind shows up in the percentiles. Errors are
   non-200 answers and transport failures.
4. **Closed loop.** ``--concurrency`` workers send back-to-back requests: the maximum
   throughput of the whole route (client, HTTP, auth, lookup, JSON).
5. **Exports.** With the server stopped, ``export_segment`` of the segment whose size is
   closest to ``--export-size``, to CSV and to Parquet.

The client and the server share the machine: the figures are for both together. The
results go to ``bench-data/bench_api-<label>.json`` and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench-data"
CUSTSEG = Path(sys.executable).with_name("custseg")
#: Tables replicated to scale a workspace up: every table the route and the exports read.
SERVING = (
    "customers",
    "customer_features",
    "memberships",
    "customer_actions",
    "shipping_tiers",
    "recommendations",
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- workspace


def _tables(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


def _piped_source(source: Path) -> Path:
    """A copy of ``source`` on which the pipeline has run (the source itself if it has)."""
    if {"memberships", "customer_actions", "recommendations"} <= _tables(source / "custseg.duckdb"):
        return source
    dest = BENCH / f"api-source-{source.name}"
    if not (dest / ".piped").exists():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(
            source, dest, ignore=shutil.ignore_patterns(".custseg-tmp", ".custseg-cache")
        )
        from custseg import pipeline
        from custseg.workspace import open_workspace

        log(f"running the pipeline on a copy of {source}")
        with open_workspace(dest) as ws:
            pipeline.run(ws)
        (dest / ".piped").write_text("ok")
    return dest


def build_workspace(source: Path, customers: int) -> Path:
    """``bench-data/api-<customers>``: the source's serving tables replicated."""
    dest = BENCH / f"api-{customers}"
    ready = dest / "ready.json"
    if ready.exists():
        return dest
    src = _piped_source(source)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns(".custseg-tmp", ".custseg-cache", ".piped")
    )
    con = duckdb.connect(str(dest / "custseg.duckdb"))
    con.execute("SET enable_progress_bar = false")
    n = con.execute("SELECT count(*) FROM customer_features").fetchone()[0]
    copies = math.ceil(customers / n)
    log(f"replicating {n:,} customers x {copies} into {dest}")
    t0 = time.perf_counter()
    for t in SERVING:
        order = "customer_id, rank" if t == "recommendations" else "hash(customer_id)"
        con.execute(
            f"CREATE OR REPLACE TABLE {t} AS SELECT * EXCLUDE (_k) FROM ("
            f"SELECT * REPLACE (CASE WHEN _k = 0 THEN customer_id ELSE customer_id || '-' || _k END "
            f"AS customer_id), _k FROM {t}, (SELECT range AS _k FROM range({copies}))) "
            f"ORDER BY {order}"
        )
        rows = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        log(f"  {t}: {rows:,} rows")
    total = con.execute("SELECT count(*) FROM customer_features").fetchone()[0]
    con.close()
    ready.write_text(
        json.dumps(
            {
                "source": str(src),
                "copies": copies,
                "customers": total,
                "seconds": time.perf_counter() - t0,
            },
            indent=1,
        )
    )
    return dest


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(ws: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    t0 = time.perf_counter()
    server_log = (BENCH / "bench_api-server.log").open("w")
    proc = subprocess.Popen(
        [str(CUSTSEG), "serve", "-w", str(ws), "--port", str(port), "--log-level", "warning"],
        stdout=server_log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/health"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"custseg serve exited; see {server_log.name}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- load


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def _summary(lat: list[float]) -> dict[str, float]:
    return {
        "p50_ms": _pct(lat, 0.50) * 1e3,
        "p95_ms": _pct(lat, 0.95) * 1e3,
        "p99_ms": _pct(lat, 0.99) * 1e3,
        "max_ms": max(lat) * 1e3 if lat else float("nan"),
    }


async def open_loop(
    base: str, token: str, ids: list[str], rate: float, in_flight: int = 64
) -> dict[str, Any]:
    """Requests scheduled at i / rate; latency measured from the scheduled time.

    At most ``in_flight`` requests are on the wire at once (httpx's pool slows down
    quadratically with thousands of queued requests); a request that has to wait for a
    free slot keeps its scheduled time, so the wait counts in its latency.
    """
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    headers = {"Authorization": f"Bearer {token}"}
    lat: list[float] = []
    service: list[float] = []
    errors: dict[str, int] = {}
    slots = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.2
        done_at = [0.0]

        async def one(i: int, cid: str) -> None:
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with slots:
                sent = loop.time()
                try:
                    r = await c.get(f"/customers/{cid}")
                    ok = r.status_code == 200
                    if not ok:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as e:
                    ok = False
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                end = loop.time()
            done_at[0] = max(done_at[0], end)
            if ok:
                lat.append(end - scheduled)
                service.append(end - sent)

        await asyncio.gather(*(one(i, cid) for i, cid in enumerate(ids)))
        elapsed = done_at[0] - t0
    return {
        "requests": len(ids),
        "target_rate": rate,
        "achieved_rate": len(ids) / elapsed,
        "in_flight_cap": in_flight,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "latency_from_schedule": _summary(lat),
        "latency_from_send": _summary(service),
    }


async def closed_loop(base: str, token: str, ids: list[str], concurrency: int) -> dict[str, Any]:
    """``concurrency`` workers, each sending its next request when the last one answered."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    lat: list[float] = []
    errors = 0
    queue = list(reversed(ids))
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        loop = asyncio.get_running_loop()

        async def worker() -> None:
            nonlocal errors
            while queue:
                cid = queue.pop()
                t = loop.time()
                try:
                    r = await c.get(f"/customers/{cid}")
                    if r.status_code == 200:
                        lat.append(loop.time() - t)
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

        t0 = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = loop.time() - t0
    return {
        "requests": len(ids),
        "concurrency": concurrency,
        "throughput_rps": len(ids) / elapsed,
        "errors": errors,
        "latency": _summary(lat),
    }


def _cpu_ms(before: Any, after: Any, n: int) -> float:
    """Server CPU (user + system, all threads) per request, in ms."""
    return (after.user + after.system - before.user - before.system) / n * 1e3


# --------------------------------------------------------------------------- exports


def time_exports(ws_path: Path, size: int) -> dict[str, Any]:
    from custseg.actions.exports import export_segment
    from custseg.workspace import open_workspace

    out: dict[str, Any] = {}
    with open_workspace(ws_path) as ws:
        raw = ws.connect().con
        segment, members = raw.execute(
            "SELECT segment, count(*) AS n FROM memberships GROUP BY 1 ORDER BY abs(n - ?) LIMIT 1",
            [size],
        ).fetchone()
        out["segment"], out["members"] = segment, members
        for fmt in ("csv", "parquet"):
            dest = ws.root / "exports" / f"bench-{segment}.{fmt}"
            t0 = time.perf_counter()
            r = export_segment(ws, segment, format=fmt, out=dest, min_size=0)
            out[fmt] = {
                "seconds": time.perf_counter() - t0,
                "rows": r.rows,
                "bytes": dest.stat().st_size,
            }
            log(f"export {segment} ({members:,} members) to {fmt}: {out[fmt]['seconds']:.2f} s")
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workspace", type=Path, help="An existing workspace with the pipeline run.")
    p.add_argument("--source", type=Path, default=ROOT / "demo", help="Workspace to scale up.")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--warmup", type=int, default=1_000)
    p.add_argument("--closed-requests", type=int, default=5_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--export-size", type=int, default=200_000)
    p.add_argument("--skip-exports", action="store_true")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--duckdb-threads", type=int, help="Set CUSTSEG_API_DUCKDB_THREADS for the server."
    )
    args = p.parse_args(argv)

    BENCH.mkdir(exist_ok=True)
    ws_path = args.workspace or build_workspace(args.source, args.customers)
    label = ws_path.name
    con = duckdb.connect(str(ws_path / "custseg.duckdb"), read_only=True)
    all_ids = [r[0] for r in con.execute("SELECT customer_id FROM customer_features").fetchall()]
    con.close()
    rng = random.Random(args.seed)
    log(f"workspace {ws_path}: {len(all_ids):,} customers")

    from custseg.api.tokens import create_token
    from custseg.workspace import open_workspace

    with open_workspace(ws_path) as ws:
        token = create_token(ws.connect(), scope="read", name="bench_api")[1]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    if args.duckdb_threads:
        env["CUSTSEG_API_DUCKDB_THREADS"] = str(args.duckdb_threads)
    proc, startup = start_server(ws_path, port, env)
    log(f"server up in {startup:.1f} s")
    server = psutil.Process(proc.pid)
    results: dict[str, Any] = {
        "workspace": str(ws_path),
        "customers": len(all_ids),
        "startup_seconds": startup,
        "duckdb_threads": args.duckdb_threads or "default",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
    }
    try:
        asyncio.run(closed_loop(base, token, rng.choices(all_ids, k=args.warmup), 8))
        cpu0, me0 = server.cpu_times(), time.process_time()
        ol = asyncio.run(open_loop(base, token, rng.choices(all_ids, k=args.requests), args.rate))
        cpu1, me1 = server.cpu_times(), time.process_time()
        ol["server_cpu_ms_per_request"] = _cpu_ms(cpu0, cpu1, args.requests)
        ol["client_cpu_ms_per_request"] = (me1 - me0) / args.requests * 1e3
        results["open_loop"] = ol
        log(f"open loop: {json.dumps(ol)}")
        cpu0, me0 = server.cpu_times(), time.process_time()
        cl = asyncio.run(
            closed_loop(base, token, rng.choices(all_ids, k=args.closed_requests), args.concurrency)
        )
        cpu1, me1 = server.cpu_times(), time.process_time()
        cl["server_cpu_ms_per_request"] = _cpu_ms(cpu0, cpu1, args.closed_requests)
        cl["client_cpu_ms_per_request"] = (me1 - me0) / args.closed_requests * 1e3
        results["closed_loop"] = cl
        log(f"closed loop: {json.dumps(cl)}")
        results["machine"]["load_average_at_end"] = os.getloadavg()
    finally:
        stop_server(proc)
    if not args.skip_exports:
        results["exports"] = time_exports(ws_path, args.export_size)
    out = BENCH / f"bench_api-{label}-threads{args.duckdb_threads or 'default'}.json"
    out.write_text(json.dumps(results, indent=1))
    log(f"results in {out}")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
