"""Every page renders on a pipeline-run workspace and shows figures that match the tables."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest

from tests.dashboard._html import parse


@pytest.fixture(scope="module")
def client(dash):
    return dash.login("write")


def _num(text: str) -> float:
    return float(text)


def test_overview_figures_match_the_tables(dash, client) -> None:
    r = client.get("/ui/")
    assert r.status_code == 200
    doc = parse(r.text)
    n, spent = dash.sql("SELECT count(*), sum(amount_spent) FROM customer_features")[0]
    assert int(_num(doc.by_id("kpi-customers").get("data-value"))) == n
    assert f"{n:,}" in doc.by_id("kpi-customers").text()
    assert _num(doc.by_id("kpi-revenue").get("data-value")) == pytest.approx(spent, rel=1e-9)
    clv = dash.sql("SELECT sum(clv_365d) FROM customer_features")[0][0]
    assert _num(doc.by_id("kpi-clv").get("data-value")) == pytest.approx(clv, rel=1e-9)
    high = dash.sql("SELECT count(*) FROM memberships WHERE segment = 'churn_high'")[0][0]
    assert _num(doc.by_id("kpi-churn").get("data-value")) == pytest.approx(high / n)
    # one run only: nothing to compare with
    assert "no previous run" in doc.by_id("kpi-customers").text()
    families = {n.get("data-family") for n in doc.by_id("families").all("details")}
    assert families == {f for (f,) in dash.sql("SELECT DISTINCT family FROM segment_definitions")}
    runs = [tr.get("data-run") for tr in doc.by_id("runs").all("tr", data_run=None)]
    assert runs == [r for (r,) in dash.sql("SELECT run_id FROM runs ORDER BY started_at DESC")]
    assert doc.by_id("alerts") is not None
    for key in ("nav", "scope"):
        assert doc.by_id(key) is not None


def test_segments_list_sizes_are_the_membership_counts(dash, client) -> None:
    doc = parse(client.get("/ui/segments").text)
    rows = doc.by_id("segments-table").all("tr", data_segment=None)
    shown = {tr.get("data-segment"): tr.get("data-size") for tr in rows}
    defined = {k for (k,) in dash.sql("SELECT name FROM segment_definitions")}
    assert set(shown) == defined
    counts = dict(dash.sql("SELECT segment, count(*) FROM memberships GROUP BY 1"))
    for key, size in shown.items():
        assert int(size) == counts.get(key, 0), key
    champions = next(tr for tr in rows if tr.get("data-segment") == "rfm_champions")
    link = champions.all("a")[0]
    assert link.get("href") == "/ui/segments/rfm_champions"
    n = dash.sql("SELECT count(*) FROM customer_features")[0][0]
    share = counts["rfm_champions"] / n
    assert f"{100 * share:.1f}%" in champions.text()
    spent = dash.sql(
        "SELECT sum(f.amount_spent) / (SELECT sum(amount_spent) FROM customer_features) "
        "FROM memberships m JOIN customer_features f USING (customer_id) "
        "WHERE m.segment = 'rfm_champions'"
    )[0][0]
    assert f"{100 * spent:.1f}%" in champions.text()
    assert champions.all("svg")  # the sparkline
    assert doc.by_id("segment-search") is not None and doc.by_id("tag-filter") is not None


def test_a_saved_segment_appears_before_it_is_evaluated(dash, client) -> None:
    h = {"X-Requested-With": "custseg"}
    r = client.put("/segments/fresh_rule", json={"rule": "amount_spent > 10"}, headers=h)
    assert r.status_code == 201
    try:
        doc = parse(client.get("/ui/segments").text)
        row = doc.all("tr", data_segment="fresh_rule")
        assert len(row) == 1
        assert "not evaluated yet" in row[0].text()
        page = client.get("/ui/segments/fresh_rule")
        assert page.status_code == 200
        assert "Not evaluated yet" in parse(page.text).by_id("segment-size").text()
    finally:
        client.delete("/segments/fresh_rule", headers=h)


def test_builder_page_and_its_json_helpers(dash, client) -> None:
    doc = parse(client.get("/ui/builder?rule=amount_spent%20%3E%20500").text)
    assert doc.by_id("rule").text() == "amount_spent > 500"
    for key in ("live-count", "live-share", "rule-error", "sample-members", "suggestions"):
        assert doc.by_id(key) is not None, key
    for key in ("seg-name", "seg-description", "seg-priority", "save-segment", "save-status"):
        assert doc.by_id(key) is not None, key
    model = json.loads((dash.ws.root / "models" / "clusters.json").read_text())
    options = doc.by_id("cluster-select").all("option")
    assert len(options) == len(model["names"])
    assert all(o.get("data-rule") for o in options)

    fields = client.get("/ui/api/fields").json()
    names = {f["name"] for f in fields["fields"]}
    cols = {c for (c,) in dash.sql("SELECT column_name FROM (DESCRIBE customer_features)")}
    assert {"country", "amount_spent", "rfm_group"} <= names
    assert cols <= names
    assert "products_purchased" in names and "AND" in fields["operators"]


def test_values_route_limits_and_counts(dash, client) -> None:
    top = dash.sql(
        "SELECT country, count(*) FROM customer_features WHERE country IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"
    )
    r = client.get("/ui/api/values", params={"field": "country", "limit": 3})
    assert r.status_code == 200
    assert [(v["value"], v["count"]) for v in r.json()["values"]] == [tuple(t) for t in top]
    distinct = dash.sql("SELECT count(DISTINCT country) FROM customer_features")[0][0]
    assert distinct > 3
    assert client.get("/ui/api/values", params={"field": "country", "limit": 51}).status_code == 422
    unknown = client.get("/ui/api/values", params={"field": "no_such_field"})
    assert unknown.status_code == 400
    assert dash.client().get("/ui/api/values", params={"field": "country"}).status_code == 401


def test_preview_errors_carry_the_position(client) -> None:
    rule = "amount_spent > 5 AND amount_spnt > 3"
    r = client.post(
        "/segments/preview", json={"rule": rule}, headers={"X-Requested-With": "custseg"}
    )
    assert r.status_code == 422
    assert r.json()["position"] == rule.index("amount_spnt")


def test_segment_page(dash, client) -> None:
    r = client.get("/ui/segments/rfm_champions")
    assert r.status_code == 200
    doc = parse(r.text)
    ids = [
        i
        for (i,) in dash.sql(
            "SELECT customer_id FROM memberships WHERE segment = 'rfm_champions' ORDER BY 1"
        )
    ]
    rows = doc.by_id("members-table").all("tr", data_customer=None)
    assert [tr.get("data-customer") for tr in rows] == ids[:50]
    assert rows[0].all("a")[0].get("href") == f"/ui/customers/{ids[0]}"
    nxt = doc.by_id("next-page").get("href")
    assert nxt == f"/ui/segments/rfm_champions?cursor={ids[49]}"
    page2 = parse(client.get(nxt).text).by_id("members-table").all("tr", data_customer=None)
    assert [tr.get("data-customer") for tr in page2] == ids[50:100]
    plots = doc.by_id("charts").all("div", data_figure=None)
    assert len(plots) == 6
    for p in plots:
        fig = json.loads(doc.by_id(p.get("data-figure")).text())
        assert "data" in fig and "layout" in fig
    assert doc.by_id("export-csv").get("href") == "/ui/segments/rfm_champions/export?format=csv"
    assert doc.by_id("export-email").get("href").endswith("format=klaviyo")
    assert doc.by_id("export-hashed").get("type") == "checkbox"
    tiers = dict(
        dash.sql(
            "SELECT s.tier, count(*) FROM shipping_tiers s JOIN memberships m USING (customer_id) "
            "WHERE m.segment = 'rfm_champions' GROUP BY 1"
        )
    )
    shipping = doc.by_id("shipping").text()
    for tier, n in tiers.items():
        assert tier in shipping and f"{n:,}" in shipping
    assert doc.by_id("action") is not None
    assert doc.by_id("history") is not None and doc.by_id("migration") is not None
    assert "two runs" in doc.by_id("migration").text()


def test_unknown_segment_is_404(client) -> None:
    r = client.get("/ui/segments/no_such_segment")
    assert r.status_code == 404


def test_customer_page(dash, client) -> None:
    cid = dash.sql(
        "SELECT customer_id FROM orders GROUP BY 1 HAVING count(*) > 20 ORDER BY 1 LIMIT 1"
    )[0][0]
    r = client.get(f"/ui/customers/{cid}")
    assert r.status_code == 200
    doc = parse(r.text)
    latest = [
        o
        for (o,) in dash.sql(
            "SELECT order_id FROM orders WHERE customer_id = ? ORDER BY ordered_at DESC, order_id "
            "LIMIT 20",
            [cid],
        )
    ]
    cells = [tr.all("td")[0].text() for tr in doc.by_id("orders").all("tr") if tr.all("td")]
    assert cells == latest
    n_events = dash.sql("SELECT count(*) FROM events WHERE customer_id = ?", [cid])[0][0]
    event_rows = [tr for tr in doc.by_id("events").all("tr") if tr.all("td")]
    assert len(event_rows) == min(20, n_events)
    segs = {s for (s,) in dash.sql("SELECT segment FROM memberships WHERE customer_id = ?", [cid])}
    assert {li.get("data-segment") for li in doc.by_id("segments").all("li")} == segs
    p_alive, clv = dash.sql(
        "SELECT p_alive, clv_365d FROM customer_features WHERE customer_id = ?", [cid]
    )[0]
    assert _num(doc.by_id("p-alive").get("data-value")) == pytest.approx(p_alive)
    assert _num(doc.by_id("clv").get("data-value")) == pytest.approx(clv)
    families = {d.get("data-family") for d in doc.by_id("features").all("details")}
    assert {"behavior", "predictive", "geo"} <= families
    for key in ("recommendations", "customer-action"):
        assert doc.by_id(key) is not None
    assert client.get("/ui/customers/NO_SUCH_CUSTOMER").status_code == 404


def test_clusters_page(dash, client) -> None:
    r = client.get("/ui/clusters")
    assert r.status_code == 200
    doc = parse(r.text)
    model = json.loads((dash.ws.root / "models" / "clusters.json").read_text())
    rows = doc.by_id("cluster-rules").all("tr", data_cluster=None)
    assert len(rows) == len(model["names"])
    for key in ("k-curve", "stability", "cluster-names", "projection"):
        assert doc.by_id(key) is not None, key
    proj = json.loads(doc.by_id("fig-projection").text())
    points = sum(len(t["x"]) for t in proj["data"])
    clustered = dash.sql("SELECT count(*) FROM segment_frame WHERE cluster IS NOT NULL")[0][0]
    assert points == min(2000, clustered)


def test_campaigns_page(dash, client) -> None:
    r = client.get("/ui/campaigns")
    assert r.status_code == 200
    doc = parse(r.text)
    exposed = {
        c
        for (c,) in dash.sql(
            "SELECT DISTINCT c.campaign_id FROM campaigns c "
            "JOIN campaign_exposures e USING (campaign_id)"
        )
    }
    options = {o.get("value") for o in doc.by_id("campaign-select").all("option")}
    assert options == exposed
    assert doc.by_id("forest").get("data-figure") == "fig-forest"
    for key in ("holdout-segment", "holdout-fraction", "holdout-seed", "holdout-create"):
        assert doc.by_id(key) is not None, key


def test_holdout_creation(dash, client) -> None:
    h = {"X-Requested-With": "custseg"}
    body = {"segment": "rfm_champions", "fraction": 0.2, "seed": 3}
    assert client.post("/ui/api/holdouts", json=body).status_code == 403  # no CSRF header
    r = client.post("/ui/api/holdouts", json=body, headers=h)
    assert r.status_code == 201, r.text
    size = dash.sql("SELECT count(*) FROM memberships WHERE segment = 'rfm_champions'")[0][0]
    assert r.json()["customers"] == size
    assert abs(r.json()["control"] - 0.2 * size) <= 0.05 * size


def test_plotly_is_served_from_the_package(client) -> None:
    r = client.get("/ui/static/plotly.min.js")
    assert r.status_code == 200
    assert r.content == (files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert client.get("/ui/static/dashboard.js").status_code == 200
    assert client.get("/ui/static/dashboard.css").status_code == 200
    assert client.get("/ui/static/nope.js").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/ui/login",
        "/ui/",
        "/ui/segments",
        "/ui/builder",
        "/ui/segments/rfm_champions",
        "/ui/clusters",
        "/ui/campaigns",
    ],
)
def test_pages_load_nothing_from_other_sites(client, path) -> None:
    doc = parse(client.get(path).text)
    refs = [n.get("src") or n.get("href") for n in doc.iter() if n.get("src") or n.get("href")]
    assert refs
    external = [u for u in refs if re.match(r"^(https?:)?//", u)]
    assert external == []
    icons = doc.all("link", rel="icon")
    assert icons and icons[0].get("href") == "data:,"
    for src in [n.get("src") for n in doc.all("script") if n.get("src")]:
        assert client.get(src).status_code == 200
