"""GET /health is open and says whether customers can be served."""

from __future__ import annotations

from importlib.metadata import version


def test_health_needs_no_token(api) -> None:
    r = api.client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": version("custseg"), "customers_ready": True}
