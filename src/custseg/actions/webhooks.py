"""Webhooks: POST who entered and exited each segment after an evaluation.

For each ``[webhooks.<name>]`` destination and each of its segments, :func:`deliver`
compares the current ``memberships`` with the snapshot of the last run delivered to
that destination (``membership_snapshots``), and posts the changes as JSON batches::

    {"destination": "crm", "segment": "rfm_champions", "run_id": "eval-…",
     "previous_run_id": "eval-…" | null, "as_of": "2025-06-30",
     "change": "entered" | "exited", "batch": 1, "batches": 3,
     "customers": ["C001", "C002", …], "idempotency_key": "…"}

* **Signed.** ``X-Custseg-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed by the
  secret in the destination's ``secret_env`` variable, of ``<timestamp>.<body>``, with
  the timestamp in ``X-Custseg-Timestamp`` (see :func:`verify_signature`).
* **Idempotent.** ``Idempotency-Key`` (also in the body) is derived from the
  destination, segment, both run ids, the change and the batch number, so a batch sent
  twice has the same key. Delivered keys are recorded in ``_webhook_deliveries`` and are
  never sent again; a re-run with no change sends nothing.
* **Retried.** Connection errors, timeouts, 429 and 5xx are retried with exponential
  backoff (``backoff_seconds`` × 2^attempt) up to ``max_attempts``; other 4xx answers
  are not retried. A batch that fails for good goes to ``_webhook_dead_letters`` with its
  payload and last error; :func:`retry_dead_letters` sends them again.
* **Nothing lost.** The destination's state moves to the new run only when every batch
  of a segment was delivered; otherwise the next delivery computes the changes from the
  last fully delivered run again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import ibis
import ibis.expr.types as ir

from custseg.config import WebhookConfig
from custseg.exceptions import ConfigError, UsageError, WorkspaceError

__all__ = [
    "DEAD_LETTERS_TABLE",
    "DELIVERIES_TABLE",
    "STATE_TABLE",
    "DeliveryReport",
    "deliver",
    "retry_dead_letters",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

STATE_TABLE = "_webhook_state"
DELIVERIES_TABLE = "_webhook_deliveries"
DEAD_LETTERS_TABLE = "_webhook_dead_letters"

_SCHEMAS: dict[str, dict[str, str]] = {
    STATE_TABLE: {
        "destination": "string",
        "segment": "string",
        "run_id": "string",
        "updated_at": "timestamp('UTC')",
    },
    DELIVERIES_TABLE: {
        "idempotency_key": "string",
        "destination": "string",
        "segment": "string",
        "run_id": "string",
        "change": "string",
        "batch": "int64",
        "customers": "int64",
        "status_code": "int64",
        "attempts": "int64",
        "delivered_at": "timestamp('UTC')",
    },
    DEAD_LETTERS_TABLE: {
        "idempotency_key": "string",
        "destination": "string",
        "segment": "string",
        "run_id": "string",
        "change": "string",
        "batch": "int64",
        "url": "string",
        "payload": "string",
        "error": "string",
        "attempts": "int64",
        "failed_at": "timestamp('UTC')",
        "retried": "boolean",
    },
}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` + HMAC-SHA256(secret, ``timestamp.body``)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the valid signature of ``body`` (for receivers).

    Compare in constant time; receivers should also reject old timestamps.
    """
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class DeliveryReport:
    """What one :func:`deliver` call did, per destination."""

    run_id: str | None
    sent: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    dead_lettered: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return {
            "run_id": self.run_id,
            "sent": self.sent,
            "customers": self.customers,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
        }


# --------------------------------------------------------------------------- bookkeeping


def _table(con: Any, name: str) -> ir.Table | None:
    return con.table(name) if name in con.list_tables() else None


def _append(con: Any, name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    mem = ibis.memtable(rows, schema=_SCHEMAS[name])
    if name in con.list_tables():
        con.insert(name, mem)
    else:
        con.create_table(name, mem)


def _set_state(con: Any, destination: str, segment: str, run_id: str) -> None:
    t = _table(con, STATE_TABLE)
    rows = [] if t is None else t.to_pyarrow().to_pylist()
    rows = [r for r in rows if (r["destination"], r["segment"]) != (destination, segment)]
    rows.append(
        {
            "destination": destination,
            "segment": segment,
            "run_id": run_id,
            "updated_at": datetime.now(UTC),
        }
    )
    mem = ibis.memtable(rows, schema=_SCHEMAS[STATE_TABLE])
    con.create_table(STATE_TABLE, mem, overwrite=True)


def _state(con: Any, destination: str) -> dict[str, str]:
    t = _table(con, STATE_TABLE)
    if t is None:
        return {}
    rows = t.filter(t.destination == destination).to_pyarrow().to_pylist()
    return {r["segment"]: r["run_id"] for r in rows}


def _delivered_keys(con: Any, destination: str) -> set[str]:
    t = _table(con, DELIVERIES_TABLE)
    if t is None:
        return set()
    col = t.filter(t.destination == destination).idempotency_key.to_pyarrow()
    return set(col.to_pylist())


# --------------------------------------------------------------------------- sending


def _secret(cfg: WebhookConfig, name: str) -> str:
    secret = os.environ.get(cfg.secret_env)
    if not secret:
        raise ConfigError(
            f"webhook {name!r}: the signing secret is not set; export {cfg.secret_env}=<secret> "
            f"(the receiver verifies the X-Custseg-Signature header with it)."
        )
    return secret


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _post(
    client: httpx.Client,
    cfg: WebhookConfig,
    secret: str,
    body: bytes,
    key: str,
    sleep: Callable[[float], None],
) -> tuple[int | None, int, str]:
    """POST with retries: (status or None, attempts, last error)."""
    error = ""
    status: int | None = None
    for attempt in range(cfg.max_attempts):
        if attempt:
            sleep(cfg.backoff_seconds * 2 ** (attempt - 1))
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Custseg-Timestamp": ts,
            "X-Custseg-Signature": sign(secret, ts, body),
            "User-Agent": "custseg-webhooks",
        }
        try:
            resp = client.post(cfg.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
            log.info("webhook %s attempt %d failed: %s", cfg.url, attempt + 1, error)
            continue
        status = resp.status_code
        if 200 <= status < 300:
            return status, attempt + 1, ""
        error = f"HTTP {status}: {resp.text[:200]}"
        log.info("webhook %s attempt %d: %s", cfg.url, attempt + 1, error)
        if not _retryable(status):
            return status, attempt + 1, error
    return status, cfg.max_attempts, error


def _key(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def _changes(con: Any, segment: str, previous: str | None) -> dict[str, list[str]]:
    from custseg.segments.registry import MEMBERSHIPS_TABLE, SNAPSHOTS_TABLE

    m = con.table(MEMBERSHIPS_TABLE)
    now = m.filter(m.segment == segment).select("customer_id").distinct()
    if previous is None:
        before = now.filter(ibis.literal(False))
    else:
        s = con.table(SNAPSHOTS_TABLE)
        before = s.filter((s.run_id == previous) & (s.segment == segment)).select("customer_id")
        before = before.distinct()
    entered = now.anti_join(before, "customer_id").order_by("customer_id")
    exited = before.anti_join(now, "customer_id").order_by("customer_id")
    return {
        "entered": entered.customer_id.to_pyarrow().to_pylist(),
        "exited": exited.customer_id.to_pyarrow().to_pylist(),
    }


def deliver(
    ws: Any,
    *,
    destinations: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Send the changes of the current evaluation to the configured webhooks.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    destinations : list of str, optional
        Only these ``[webhooks]`` names (default: all).
    sleep : callable
        Used between retries (tests pass a recorder).
    client : httpx.Client, optional
        The HTTP client (default: a new one per destination with its timeout).

    Returns
    -------
    DeliveryReport
        Batches sent, customers sent, batches skipped as already delivered, and
        batches dead-lettered, per destination.
    """
    from custseg.segments.registry import MEMBERSHIPS_TABLE

    hooks = ws.config.webhooks
    names = list(hooks) if destinations is None else destinations
    for n in names:
        if n not in hooks:
            raise UsageError(
                f"no webhook named {n!r}; configured: {', '.join(hooks) or 'none'} "
                "([webhooks.<name>] in custseg.toml)."
            )
    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError("segments have not been evaluated; run `custseg segments evaluate`.")
    m = con.table(MEMBERSHIPS_TABLE)
    meta = m.aggregate(run_id=m.run_id.max(), as_of=m.as_of.max()).to_pyarrow().to_pylist()[0]
    run_id, as_of = meta["run_id"], meta["as_of"]
    report = DeliveryReport(run_id=run_id)
    if run_id is None:
        return report
    all_segments = m.select("segment").distinct().segment.to_pyarrow().to_pylist()
    for name in names:
        cfg = hooks[name]
        secret = _secret(cfg, name)
        state = _state(con, name)
        done = _delivered_keys(con, name)
        segments = sorted(set(cfg.segments) if cfg.segments else set(all_segments))
        own_client = client is None
        http = client or httpx.Client(timeout=cfg.timeout_seconds)
        sent = skipped = dead = customers = 0
        try:
            for segment in segments:
                previous = state.get(segment)
                if previous == run_id:
                    continue
                changes = _changes(con, segment, previous)
                ok = True
                for change, ids in changes.items():
                    batches = [
                        ids[i : i + cfg.batch_size] for i in range(0, len(ids), cfg.batch_size)
                    ]
                    for i, batch in enumerate(batches, start=1):
                        key = _key(name, segment, previous, run_id, change, i)
                        if key in done:
                            skipped += 1
                            continue
                        payload = {
                            "destination": name,
                            "segment": segment,
                            "run_id": run_id,
                            "previous_run_id": previous,
                            "as_of": str(as_of),
                            "change": change,
                            "batch": i,
                            "batches": len(batches),
                            "customers": batch,
                            "idempotency_key": key,
                        }
                        body = json.dumps(payload, separators=(",", ":")).encode()
                        status, attempts, error = _post(http, cfg, secret, body, key, sleep)
                        row = {
                            "idempotency_key": key,
                            "destination": name,
                            "segment": segment,
                            "run_id": run_id,
                            "change": change,
                            "batch": i,
                        }
                        if status is not None and 200 <= status < 300:
                            _append(
                                con,
                                DELIVERIES_TABLE,
                                [
                                    {
                                        **row,
                                        "customers": len(batch),
                                        "status_code": status,
                                        "attempts": attempts,
                                        "delivered_at": datetime.now(UTC),
                                    }
                                ],
                            )
                            sent += 1
                            customers += len(batch)
                        else:
                            ok = False
                            dead += 1
                            _append(
                                con,
                                DEAD_LETTERS_TABLE,
                                [
                                    {
                                        **row,
                                        "url": cfg.url,
                                        "payload": body.decode(),
                                        "error": error,
                                        "attempts": attempts,
                                        "failed_at": datetime.now(UTC),
                                        "retried": False,
                                    }
                                ],
                            )
                            log.warning(
                                "webhook %s: batch %d of %s/%s failed for good: %s",
                                name,
                                i,
                                segment,
                                change,
                                error,
                            )
                if ok:
                    _set_state(con, name, segment, run_id)
        finally:
            if own_client:
                http.close()
        report.sent[name] = sent
        report.customers[name] = customers
        report.skipped[name] = skipped
        report.dead_lettered[name] = dead
    return report


def retry_dead_letters(
    ws: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> tuple[int, int]:
    """Send the dead-lettered batches again (same body and idempotency key).

    Returns
    -------
    (int, int)
        Batches delivered now, batches still failing (they stay dead-lettered).
    """
    con = ws.connect()
    t = _table(con, DEAD_LETTERS_TABLE)
    if t is None:
        return 0, 0
    rows = t.filter(~t.retried).to_pyarrow().to_pylist()
    delivered = failing = 0
    still: list[dict[str, Any]] = []
    for r in rows:
        cfg = ws.config.webhooks.get(r["destination"])
        if cfg is None:
            failing += 1
            still.append(r)
            continue
        secret = _secret(cfg, r["destination"])
        http = client or httpx.Client(timeout=cfg.timeout_seconds)
        try:
            status, attempts, error = _post(
                http, cfg, secret, r["payload"].encode(), r["idempotency_key"], sleep
            )
        finally:
            if client is None:
                http.close()
        if status is not None and 200 <= status < 300:
            delivered += 1
            _append(
                con,
                DELIVERIES_TABLE,
                [
                    {
                        "idempotency_key": r["idempotency_key"],
                        "destination": r["destination"],
                        "segment": r["segment"],
                        "run_id": r["run_id"],
                        "change": r["change"],
                        "batch": r["batch"],
                        "customers": len(json.loads(r["payload"])["customers"]),
                        "status_code": status,
                        "attempts": attempts,
                        "delivered_at": datetime.now(UTC),
                    }
                ],
            )
        else:
            failing += 1
            still.append({**r, "error": error, "attempts": r["attempts"] + attempts})
    # rewrite the table: delivered ones are marked retried, failing ones keep waiting
    delivered_keys = {r["idempotency_key"] for r in rows} - {r["idempotency_key"] for r in still}
    all_rows = t.to_pyarrow().to_pylist()
    by_key = {r["idempotency_key"]: r for r in still}
    new_rows = []
    for r in all_rows:
        if r["idempotency_key"] in delivered_keys:
            r = {**r, "retried": True}
        elif r["idempotency_key"] in by_key:
            r = by_key[r["idempotency_key"]]
        new_rows.append(r)
    con.create_table(
        DEAD_LETTERS_TABLE,
        ibis.memtable(new_rows, schema=_SCHEMAS[DEAD_LETTERS_TABLE]),
        overwrite=True,
    )
    return delivered, failing
