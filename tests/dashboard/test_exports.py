"""The segment page's export links: files with the members, privacy rules, refusals as pages."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from tests.dashboard._html import parse


@pytest.fixture(scope="module")
def client(dash):
    return dash.login("write")


def test_csv_export_is_an_attachment_with_every_member(dash, client) -> None:
    r = client.get("/ui/segments/rfm_champions/export?format=csv")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "rfm_champions.csv" in r.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(r.text), dtype=str)
    members = sorted(
        i
        for (i,) in dash.sql("SELECT customer_id FROM memberships WHERE segment = 'rfm_champions'")
    )
    assert len(got) == len(members)
    assert sorted(got.customer_id) == members
    assert (dash.ws.root / "exports" / "rfm_champions.csv").exists()


def test_email_export_keeps_consenting_customers_with_an_email(dash, client) -> None:
    r = client.get("/ui/segments/rfm_champions/export?format=klaviyo")
    assert r.status_code == 200, r.text
    got = pd.read_csv(io.StringIO(r.text), dtype=str)
    expected = dash.sql(
        "SELECT count(*) FROM memberships m JOIN customers c USING (customer_id) "
        "WHERE m.segment = 'rfm_champions' AND c.accepts_email_marketing "
        "AND c.email IS NOT NULL AND trim(c.email) <> ''"
    )[0][0]
    assert len(got) == expected
    assert list(got.columns[:1]) == ["Email"]


def test_hashed_email_export(dash, client) -> None:
    r = client.get("/ui/segments/rfm_champions/export?format=klaviyo&hashed=1")
    assert r.status_code == 200
    assert "hashed" in r.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(r.text), dtype=str)
    emails = [
        e
        for (e,) in dash.sql(
            "SELECT c.email FROM memberships m JOIN customers c USING (customer_id) "
            "WHERE m.segment = 'rfm_champions' AND c.accepts_email_marketing "
            "AND c.email IS NOT NULL AND trim(c.email) <> ''"
        )
    ]
    digests = {hashlib.sha256(e.strip().lower().encode()).hexdigest() for e in emails}
    assert set(got.Email) == digests


def test_a_refused_export_is_a_page_with_the_reason(dash, client) -> None:
    small = dash.sql(
        "SELECT segment FROM memberships GROUP BY 1 HAVING count(*) < 50 ORDER BY 1 LIMIT 1"
    )
    assert small, "the demo store should have a segment of fewer than 50 members"
    r = client.get(f"/ui/segments/{small[0][0]}/export?format=csv")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "min_segment_size" in parse(r.text).by_id("error-message").text()
    assert not (dash.ws.root / "exports" / f"{small[0][0]}.csv").exists()


def test_bad_export_requests(client) -> None:
    assert client.get("/ui/segments/rfm_champions/export?format=xlsx").status_code == 422
    assert client.get("/ui/segments/no_such_segment/export?format=csv").status_code == 400
