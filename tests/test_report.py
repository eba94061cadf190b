"""The workspace report: profiles of evaluated segments, titles, extra sections."""

from __future__ import annotations

import pytest
from markupsafe import escape

from custseg.exceptions import WorkspaceError
from custseg.report import build_report, workspace_profiles
from custseg.segments.registry import evaluate, load_definitions


def test_report_needs_an_evaluation(demo_copy):
    with pytest.raises(WorkspaceError, match="segments evaluate"):
        build_report(demo_copy)


def test_profiles_are_the_memberships_by_title(demo_copy):
    evaluate(demo_copy)
    profiles = workspace_profiles(demo_copy, families=["rfm", "clv_tier"])
    con = demo_copy.connect().con
    sizes = dict(con.execute("SELECT segment, count(*) FROM memberships GROUP BY 1").fetchall())
    defs = [d for d in load_definitions(demo_copy) if d.family in ("rfm", "clv_tier")]
    assert list(profiles) == [d.title for d in defs]
    for d in defs:
        assert profiles[d.title].size == sizes.get(d.name, 0)
    one = workspace_profiles(demo_copy, ["Champions"])
    assert list(one) == ["Champions"]


def test_report_has_every_segment_and_the_actions(demo_copy, tmp_path):
    from custseg.actions.playbooks import assign_actions, plan
    from custseg.actions.shipping import assign_shipping

    evaluate(demo_copy)
    assign_actions(demo_copy, plan(demo_copy))
    assign_shipping(demo_copy)
    out = build_report(demo_copy, tmp_path / "r.html", families=["rfm", "rule"])
    text = out.read_text(encoding="utf-8")
    for d in load_definitions(demo_copy):
        if d.family in ("rfm", "rule"):
            assert str(escape(d.title)) in text, d.title
    assert "Action plan" in text and "Shipping tiers" in text
    assert text.count("<script src=") == 0
