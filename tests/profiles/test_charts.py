"""Charts: each returns a Figure drawing the profile's numbers, from objects or JSON."""

from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import pytest

from custseg.exceptions import UsageError
from custseg.profiles import charts, compare

SINGLE = [
    "distinguishing_features",
    "top_items",
    "geography",
    "devices_channels",
    "age_bands",
    "interests",
    "rfm_mix",
    "clv_distribution",
]


@pytest.mark.parametrize("name", SINGLE)
def test_every_profile_chart_is_a_figure_with_a_title_and_the_same_from_json(tiny_profiles, name):
    a = tiny_profiles["A"]
    fn = getattr(charts, name)
    fig = fn(a)
    assert isinstance(fig, go.Figure)
    assert "A" in fig.layout.title.text
    assert len(fig.data) > 0
    assert fn(a.to_dict()).to_dict() == fig.to_dict()


@pytest.mark.parametrize("name", ["size_and_value", "comparison"])
def test_multi_segment_charts(tiny_profiles, name):
    fig = getattr(charts, name)(tiny_profiles)
    assert isinstance(fig, go.Figure) and fig.layout.title.text
    as_json = {k: p.to_dict() for k, p in tiny_profiles.items()}
    assert getattr(charts, name)(as_json).to_dict() == fig.to_dict()


def test_size_and_value_draws_the_shares_in_percent(tiny_profiles):
    fig = charts.size_and_value(tiny_profiles)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"customers", "revenue (amount_spent)", "predicted CLV (clv_365d)"}
    assert list(by_name["customers"].x) == ["B", "A"]
    # B 4 of 8, A 3 of 8 customers; revenue 40% and 60%
    assert list(by_name["customers"].y) == [50.0, 37.5]
    assert list(by_name["revenue (amount_spent)"].y) == [pytest.approx(40.0), pytest.approx(60.0)]


def test_distinguishing_bars_go_from_one_to_the_lift(tiny_profiles):
    a = tiny_profiles["A"]
    (bar,) = charts.distinguishing_features(a).data
    assert bar.orientation == "h" and bar.base == 1
    # drawn bottom-up, so the best feature is last; 8 features
    assert len(bar.y) == 8 and bar.y[-1] == "1. rfm_group = Champions"
    # rfm_group = Champions: share 1 vs 3/8 -> lift 8/3
    assert bar.x[-1] + bar.base == pytest.approx(8 / 3)
    # avg_order_value (rank 7) is lower than the population: the other colour
    colors = list(bar.marker.color)
    assert colors[1] == charts.LOWER_COLOR and colors[-1] == charts.HIGHER_COLOR


def test_top_items_has_one_panel_per_kind(tiny_profiles):
    fig = charts.top_items(tiny_profiles["A"])
    assert len(fig.data) == 3
    cats = fig.data[0]
    # shoes (15/21 vs 15/50) then hats (6/21 vs 9/50), drawn bottom-up
    assert list(cats.y) == ["hats", "shoes"]
    assert cats.x[1] == pytest.approx((15 / 21) / (15 / 50))
    assert "Shoe (S1)" in fig.data[1].y
    only = charts.top_items(tiny_profiles["A"], kinds=["brands"])
    assert len(only.data) == 1 and list(only.data[0].y) == ["Acme", "Bolt"]
    with pytest.raises(UsageError, match="item kinds"):
        charts.top_items(tiny_profiles["A"], kinds=["colours"])


def test_distribution_charts_draw_segment_and_population_shares(tiny_profiles):
    fig = charts.geography(tiny_profiles["A"])
    seg, pop = fig.data  # the tiny store has country but no region
    assert list(seg.x) == ["US", "DE", "FR", "(missing)"]
    # A: US 2/3, DE 1/3; population: US 3/8, DE 2/8, FR 2/8, missing 1/8
    assert list(seg.y) == [pytest.approx(200 / 3), pytest.approx(100 / 3), 0.0, 0.0]
    assert list(pop.y) == [37.5, 25.0, 25.0, 12.5]
    assert pop.name == "population"
    rfm = charts.rfm_mix(tiny_profiles["B"]).data
    assert list(rfm[0].x) == ["Champions", "Loyal Customers", "Lost", "Prospects"]
    assert list(rfm[0].customdata) == [1, 0, 2, 1]


def test_top_values_and_other(tiny_profiles):
    # top=1: A's largest country (US, 2/3) and the rest summed as (other): 1/3 of A
    fig = charts.distribution(tiny_profiles["A"], "country", top=1)
    seg, pop = fig.data
    assert list(seg.x) == ["US", "(other)"]
    assert seg.y[1] == pytest.approx(100 / 3)
    assert pop.y[1] == pytest.approx(62.5)  # DE 2 + FR 2 + missing 1 of 8


def test_clv_distribution_labels_the_population_bins(tiny_profiles):
    seg, pop = charts.clv_distribution(tiny_profiles["B"]).data
    # edges 5, 7.5, 10, 15, 20, 25, 30 (see test_stats)
    assert list(seg.x) == ["≤ 5", "5–7.5", "7.5–10", "10–15", "15–20", "20–25", "25–30", "> 30"]
    assert seg.y[0] == pytest.approx(200 / 3)  # c5, c6 of B's 3 members with a value
    assert sum(pop.y) == pytest.approx(100.0)


def test_comparison_heatmap_colours_log2_lift(tiny_profiles):
    cmp = compare(tiny_profiles, ["A", "B"])
    (heat,) = charts.comparison(cmp).data
    assert list(heat.x) == ["A", "B"]
    assert list(heat.y) == [f["key"] for f in cmp["features"]]
    row = list(heat.y).index("number_of_orders")
    # lift 2 -> log2 = 1; lift 1 -> 0
    assert list(heat.z[row]) == [pytest.approx(1.0), pytest.approx(0.0)]
    assert heat.text[row][0] == "×2.00"
    assert (
        charts.comparison(tiny_profiles, ["A", "B"]).to_dict() == charts.comparison(cmp).to_dict()
    )


def test_text_from_data_is_escaped_for_plotly(tiny_profiles):
    evil = '<b>VIP</b> & "friends"'
    p = replace(tiny_profiles["A"], name=evil)
    fig = charts.distinguishing_features(p)
    assert '&lt;b&gt;VIP&lt;/b&gt; &amp; "friends"' in fig.layout.title.text
    assert evil not in fig.layout.title.text
    assert charts.size_and_value([p]).data[0].x[0] == '&lt;b&gt;VIP&lt;/b&gt; &amp; "friends"'


def test_missing_data_gives_an_explaining_figure(tiny_profiles):
    bare = replace(
        tiny_profiles["A"], items=None, clv_histogram=None, distributions={}, distinguishing=()
    )
    for fn in (
        charts.top_items,
        charts.clv_distribution,
        charts.geography,
        charts.interests,
        charts.distinguishing_features,
    ):
        fig = fn(bare)
        assert len(fig.data) == 0
        assert fig.layout.annotations[0].text


def test_charts_need_no_external_assets(tiny_profiles):
    for name in SINGLE:
        html = getattr(charts, name)(tiny_profiles["A"]).to_html(
            full_html=False, include_plotlyjs=False
        )
        assert "<script src" not in html and "http" not in html.lower()
    # the built-in template adds kilobytes per figure; ours is small
    assert len(charts.rfm_mix(tiny_profiles["A"]).to_json()) < 6000
