"""Webhooks against a real HTTP receiver on loopback that fails on demand."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from custseg.actions.webhooks import deliver, retry_dead_letters, sign, verify_signature
from custseg.exceptions import ConfigError
from custseg.segments.registry import evaluate
from custseg.workspace import open_workspace

SECRET = "s3cret-for-tests"


class Receiver:
    """A loopback HTTP server. ``plan`` is a list of statuses to answer, in order
    (``"drop"`` closes the connection without answering); after it runs out, 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.plan: list[int | str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                action = receiver.plan.pop(0) if receiver.plan else 200
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "answer": action}
                )
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(int(action))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self, ok_only: bool = True) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if not ok_only or r["answer"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooked(demo_copy, receiver, monkeypatch):
    monkeypatch.setenv("CUSTSEG_WEBHOOK_SECRET", SECRET)
    cfg = demo_copy.root / "custseg.toml"
    cfg.write_text(
        cfg.read_text()
        + f'\n[webhooks.crm]\nurl = "{receiver.url}"\nsegments = ["rfm_champions", "due_soon"]\n'
        "batch_size = 1000\nmax_attempts = 3\nbackoff_seconds = 0.25\n"
    )
    ws = open_workspace(demo_copy.root)
    evaluate(ws, run_id="run-1")
    yield ws
    ws.close()


def _members(ws, segment):
    rows = (
        ws.connect()
        .con.execute("SELECT customer_id FROM memberships WHERE segment = ? ORDER BY 1", [segment])
        .fetchall()
    )
    return [r[0] for r in rows]


def test_signature_helpers():
    body = b'{"a":1}'
    s = sign("k", "100", body)
    assert verify_signature("k", "100", body, s)
    assert not verify_signature("k", "101", body, s)
    assert not verify_signature("other", "100", body, s)


def test_first_delivery_sends_every_member_in_signed_batches(hooked, receiver):
    rep = deliver(hooked, sleep=lambda s: None)
    champions = _members(hooked, "rfm_champions")
    due = _members(hooked, "due_soon")
    got = {}
    for p in receiver.payloads():
        assert p["change"] == "entered" and p["previous_run_id"] is None
        assert len(p["customers"]) <= 1000
        got.setdefault(p["segment"], []).extend(p["customers"])
    assert sorted(got["rfm_champions"]) == champions
    assert sorted(got.get("due_soon", [])) == due
    n_batches = -(-len(champions) // 1000) + -(-len(due) // 1000)
    assert rep.sent["crm"] == n_batches == len(receiver.requests)
    for r in receiver.requests:
        h = {k.lower(): v for k, v in r["headers"].items()}
        assert verify_signature(
            SECRET, h["x-custseg-timestamp"], r["body"], h["x-custseg-signature"]
        )
        assert h["idempotency-key"] == json.loads(r["body"])["idempotency_key"]


def test_a_rerun_with_no_change_sends_nothing(hooked, receiver):
    deliver(hooked, sleep=lambda s: None)
    n = len(receiver.requests)
    deliver(hooked, sleep=lambda s: None)  # same run again
    evaluate(hooked, run_id="run-2")  # a new run with the same memberships
    rep = deliver(hooked, sleep=lambda s: None)
    assert len(receiver.requests) == n
    assert rep.sent["crm"] == 0


def test_changes_are_entered_and_exited(hooked, receiver):
    deliver(hooked, sleep=lambda s: None)
    con = hooked.connect().con
    champs = _members(hooked, "rfm_champions")[:3]
    con.execute(
        "UPDATE customer_features SET rfm_group = 'Lost' WHERE customer_id IN (?, ?, ?)", champs
    )
    receiver.requests.clear()
    evaluate(hooked, run_id="run-2")
    deliver(hooked, sleep=lambda s: None)
    payloads = [p for p in receiver.payloads() if p["segment"] == "rfm_champions"]
    assert [(p["change"], sorted(p["customers"]), p["previous_run_id"]) for p in payloads] == [
        ("exited", sorted(champs), "run-1")
    ]


def test_retries_with_exponential_backoff_then_succeeds(hooked, receiver):
    receiver.plan = [503, "drop"]  # the first batch fails twice, then works
    waits = []
    rep = deliver(hooked, sleep=waits.append)
    assert waits == [0.25, 0.5]
    assert rep.dead_lettered["crm"] == 0
    first = [r for r in receiver.requests[:3]]
    keys = {json.loads(r["body"])["idempotency_key"] for r in first}
    assert len(keys) == 1  # the same batch, with the same key, three times
    assert [r["answer"] for r in first] == [503, "drop", 200]


def test_failed_for_good_goes_to_dead_letters_and_is_retried(hooked, receiver):
    receiver.plan = [500, 500, 500]  # max_attempts = 3: the first batch fails for good
    rep = deliver(hooked, sleep=lambda s: None)
    assert rep.dead_lettered["crm"] == 1
    con = hooked.connect().con
    dead = con.execute(
        "SELECT segment, attempts, error, payload FROM _webhook_dead_letters"
    ).fetchall()
    assert len(dead) == 1 and dead[0][1] == 3 and "HTTP 500" in dead[0][2]
    failed = json.loads(dead[0][3])
    # the state did not move for that segment: the next delivery sends its batch again
    # (same run, same key), which the receiver now accepts
    delivered, failing = retry_dead_letters(hooked, sleep=lambda s: None)
    assert (delivered, failing) == (1, 0)
    last = json.loads(receiver.requests[-1]["body"])
    assert last["idempotency_key"] == failed["idempotency_key"]
    n = len(receiver.requests)
    rep2 = deliver(hooked, sleep=lambda s: None)
    assert len(receiver.requests) == n  # the retried batch is known as delivered
    assert rep2.skipped["crm"] >= 1
    assert (
        con.execute("SELECT count(*) FROM _webhook_dead_letters WHERE NOT retried").fetchone()[0]
        == 0
    )


def test_client_errors_are_not_retried(hooked, receiver):
    receiver.plan = [400]
    waits = []
    rep = deliver(hooked, sleep=waits.append)
    assert waits == [] and rep.dead_lettered["crm"] == 1
    assert receiver.requests[0]["answer"] == 400


def test_missing_secret_is_a_config_error(hooked, monkeypatch):
    monkeypatch.delenv("CUSTSEG_WEBHOOK_SECRET")
    with pytest.raises(ConfigError, match="CUSTSEG_WEBHOOK_SECRET"):
        deliver(hooked)
