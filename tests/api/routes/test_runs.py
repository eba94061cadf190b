"""POST /runs runs the pipeline in the background; GET /runs/{id} follows it."""

from __future__ import annotations

import time

import pytest

from custseg import pipeline


def _wait(api, run_id: str, limit_s: float = 900) -> dict:
    """Poll until the run ends (the limit only stops a hung test; it is not a timing check)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        body = api.client.get(f"/runs/{run_id}", headers=api.auth("read")).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.5)
    pytest.fail(f"run {run_id} did not finish")


@pytest.mark.slow
def test_a_run_evaluates_and_refreshes_the_customer_lookup(api) -> None:
    before = {r[0] for r in api.sql("SELECT run_id FROM runs")}
    cid = api.sql("SELECT customer_id FROM memberships ORDER BY 1 LIMIT 1")[0][0]

    r = api.client.post("/runs", headers=api.auth("write"), json={})
    assert r.status_code == 202
    run_id = r.json()["run_id"]
    assert run_id not in before
    assert r.headers["location"] == f"/runs/{run_id}"
    assert r.json()["status"] in ("queued", "running")

    busy = api.client.post("/runs", headers=api.auth("write"))
    assert busy.status_code == 409
    # reads go on while the run writes
    assert api.client.get(f"/customers/{cid}", headers=api.auth("read")).status_code == 200

    done = _wait(api, run_id)
    assert done["status"] == "succeeded", done["error"]
    assert set(done["stages"]) == set(pipeline.STAGES)  # every stage ran and was timed
    assert api.sql("SELECT status FROM runs WHERE run_id = ?", [run_id]) == [("succeeded",)]
    assert {r[0] for r in api.sql("SELECT DISTINCT run_id FROM memberships")} == {run_id}
    card = api.client.get(f"/customers/{cid}", headers=api.auth("read")).json()
    assert card["run_id"] == run_id
    listed = api.client.get("/runs", headers=api.auth("read")).json()
    assert listed["data"][0]["run_id"] == run_id
    assert listed["count"] == len(before) + 1


def test_recorded_run_and_unknown_run(api) -> None:
    run_id, status = api.sql("SELECT run_id, status FROM runs ORDER BY started_at LIMIT 1")[0]
    body = api.client.get(f"/runs/{run_id}", headers=api.auth("read")).json()
    assert (body["run_id"], body["status"]) == (run_id, status)
    r = api.client.get("/runs/run-nope", headers=api.auth("read"))
    assert r.status_code == 404


@pytest.mark.parametrize("body", [{"as_of": "yesterday"}, {"as_of": "2025-02-30"}, {"other": 1}])
def test_start_validates_its_body(api, body) -> None:
    r = api.client.post("/runs", headers=api.auth("write"), json=body)
    assert r.status_code == 422


def test_start_needs_write(api) -> None:
    assert api.client.post("/runs", headers=api.auth("read")).status_code == 403
