"""Transition matrices on a hand-made snapshot history, checked against hand-counted cells."""

from __future__ import annotations

from datetime import date

import ibis
import pytest

from custseg.exceptions import UsageError
from custseg.monitor.migration import (
    NONE,
    flagged_flows,
    sankey,
    size_changes,
    sizes_over_time,
    transition_matrix,
)
from custseg.workspace import Workspace

A, B = "run-a", "run-b"

# Run A: c1, c2 Champions; c3 Loyal; c4 At Risk; c5 Prospect; c6 not there yet.
# Run B: c1 Champions; c2, c3 At Risk; c4 Lost; c6 Prospect; c5 gone.
RFM_A = {
    "c1": "rfm_champions",
    "c2": "rfm_champions",
    "c3": "rfm_loyal_customers",
    "c4": "rfm_at_risk",
    "c5": "rfm_prospects",
}
RFM_B = {
    "c1": "rfm_champions",
    "c2": "rfm_at_risk",
    "c3": "rfm_at_risk",
    "c4": "rfm_lost",
    "c6": "rfm_prospects",
}
# Another family, to check families are kept apart and cross-family flows work.
CLV_A = {"c1": "clv_top", "c2": "clv_top", "c3": "clv_rest"}
CHURN_B = {"c1": "churn_high", "c2": "churn_low", "c3": "churn_high"}


def _rows(members: dict[str, str], family: str, run: str, as_of: date) -> list[dict]:
    return [
        {"customer_id": c, "segment": s, "family": family, "run_id": run, "as_of": as_of}
        for c, s in members.items()
    ]


@pytest.fixture
def history(ws: Workspace) -> Workspace:
    da, db = date(2025, 3, 31), date(2025, 6, 30)
    rows = (
        _rows(RFM_A, "rfm", A, da)
        + _rows(RFM_B, "rfm", B, db)
        + _rows(CLV_A, "clv_tier", A, da)
        + _rows(CHURN_B, "churn_risk", B, db)
    )
    schema = {
        "customer_id": "string",
        "segment": "string",
        "family": "string",
        "run_id": "string",
        "as_of": "date",
    }
    ws.connect().create_table("membership_snapshots", ibis.memtable(rows, schema=schema))
    return ws


def test_counts_and_rates_by_hand(history: Workspace) -> None:
    tr = transition_matrix(history, A, B, "rfm")
    c = tr.counts
    # Hand-counted cells (every other cell is 0):
    expected = {
        ("rfm_champions", "rfm_champions"): 1,  # c1
        ("rfm_champions", "rfm_at_risk"): 1,  # c2
        ("rfm_loyal_customers", "rfm_at_risk"): 1,  # c3
        ("rfm_at_risk", "rfm_lost"): 1,  # c4
        ("rfm_prospects", NONE): 1,  # c5 left
        (NONE, "rfm_prospects"): 1,  # c6 is new
    }
    assert set(c.index) == {*RFM_A.values(), NONE}
    assert set(c.columns) == {*RFM_B.values(), NONE}
    assert c.index[-1] == NONE and c.columns[-1] == NONE
    for r in c.index:
        for col in c.columns:
            assert c.loc[r, col] == expected.get((r, col), 0), (r, col)
    assert int(c.to_numpy().sum()) == 6
    # Row rates: Champions split 1/2, 1/2; Loyal all to At Risk.
    assert tr.rates.loc["rfm_champions", "rfm_at_risk"] == pytest.approx(0.5)
    assert tr.rates.loc["rfm_champions", "rfm_champions"] == pytest.approx(0.5)
    assert tr.rates.loc["rfm_loyal_customers", "rfm_at_risk"] == pytest.approx(1.0)
    assert tr.rates.loc[NONE, "rfm_prospects"] == pytest.approx(1.0)
    flows = tr.flows()
    assert len(flows) == 6 and set(flows["count"]) == {1}


def test_flagged_flows_from_config(history: Workspace) -> None:
    tr = transition_matrix(history, A, B, "rfm")
    got = {(f.source, f.target): (f.count, f.source_size, f.rate) for f in tr.flagged}
    # Default [monitor] flows; clv_top -> churn_high touches no rfm segment, so not here.
    assert got == {
        ("rfm_champions", "rfm_at_risk"): (1, 2, 0.5),  # c2 of c1, c2
        ("rfm_champions", "rfm_cant_lose_them"): (0, 2, 0.0),
        ("rfm_loyal_customers", "rfm_at_risk"): (1, 1, 1.0),  # c3
    }
    clv = transition_matrix(history, A, B, "clv_tier")
    # clv_tier in run B has nobody: every run-A member goes to (none).
    assert clv.counts.loc["clv_top", NONE] == 2 and clv.counts.loc["clv_rest", NONE] == 1
    cross = {(f.source, f.target): f.count for f in clv.flagged}
    assert cross == {("clv_top", "churn_high"): 1}  # c1 (c2 is churn_low)


def test_custom_flows_and_bad_flow(history: Workspace) -> None:
    got = flagged_flows(history, A, B, [["rfm_at_risk", "rfm_lost"], ["nope", "rfm_lost"]])
    assert [(f.count, f.source_size) for f in got] == [(1, 1), (0, 0)]
    with pytest.raises(UsageError, match="pair"):
        flagged_flows(history, A, B, [["rfm_at_risk"]])


def test_unknown_run_and_family(history: Workspace) -> None:
    with pytest.raises(UsageError, match="run-x"):
        transition_matrix(history, A, "run-x", "rfm")
    with pytest.raises(UsageError, match="families there"):
        transition_matrix(history, A, B, "cluster")


def test_no_snapshots_is_a_usage_error(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="custseg run"):
        transition_matrix(ws, A, B, "rfm")


def test_size_changes_and_sizes_over_time(history: Workspace) -> None:
    ch = size_changes(history, A, B, family="rfm").set_index("segment")
    # At Risk: 1 (c4) -> 2 (c2, c3); Loyal 1 -> 0; Lost 0 -> 1; Champions 2 -> 1.
    assert (ch.loc["rfm_at_risk", "size_a"], ch.loc["rfm_at_risk", "size_b"]) == (1, 2)
    assert ch.loc["rfm_loyal_customers", "change"] == -1
    assert ch.loc["rfm_champions", "relative"] == pytest.approx(-0.5)
    assert ch.loc["rfm_lost", "size_a"] == 0 and ch["relative"].isna()["rfm_lost"]
    over = sizes_over_time(history, ["rfm"])
    assert list(over.run_id.unique()) == [A, B]  # oldest first
    champions = over[over.segment == "rfm_champions"]
    assert list(champions["size"]) == [2, 1]
    assert over["value"].isna().all()  # no segment_history: sizes only


def test_sankey_links_are_the_nonzero_cells(history: Workspace) -> None:
    tr = transition_matrix(history, A, B, "rfm")
    fig = sankey(tr)
    link = fig.data[0].link
    assert sorted(link.value) == [1] * 6
    labels = fig.data[0].node.label
    pairs = {(labels[s], labels[t]) for s, t in zip(link.source, link.target, strict=True)}
    assert ("rfm_champions", "rfm_at_risk") in pairs and (NONE, "rfm_prospects") in pairs


def test_history_section(history: Workspace, ws: Workspace) -> None:
    from custseg.monitor.history import history_section

    s = history_section(history)
    assert s is not None and s.title == "History"
    # size lines for rfm, clv_tier and churn_risk (no cluster family here), then the Sankey
    kinds = [type(f.data[0]).__name__ for f in s.figures]
    assert kinds == ["Scatter", "Scatter", "Scatter", "Sankey"]
    assert sum(s.figures[-1].data[0].link.value) == 6
    assert "rfm_champions" in s.html


def test_no_history_no_section(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from custseg.monitor.history import history_section
    from custseg.workspace import init_workspace, open_workspace

    init_workspace(tmp_path / "empty")
    with open_workspace(tmp_path / "empty") as w:
        assert history_section(w) is None
