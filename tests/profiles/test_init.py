"""custseg.profiles exposes the documented API, and nothing it does not import."""

from __future__ import annotations

import inspect

import custseg.profiles as profiles


def test_all_is_sorted_unique_and_importable():
    names = profiles.__all__
    assert names == sorted(names) and len(names) == len(set(names))
    ns: dict[str, object] = {}
    exec("from custseg.profiles import *", ns)  # noqa: S102 - what a user does
    assert all(n in ns for n in names)


def test_the_api_of_the_brief():
    for name in ("SegmentProfile", "profile_segments", "profile_segment", "compare",
                 "ReportSection", "segment_sections", "write_report", "charts"):  # fmt: skip
        assert name in profiles.__all__, name
    sig = inspect.signature(profiles.profile_segments)
    assert list(sig.parameters)[:2] == ["features", "memberships"]
    for kw, default in (("orders", None), ("order_lines", None), ("as_of", None), ("top_n", 10)):
        assert sig.parameters[kw].default == default
        assert sig.parameters[kw].kind is inspect.Parameter.KEYWORD_ONLY
    w = inspect.signature(profiles.write_report)
    assert w.parameters["title"].default == "custseg report"
    assert w.parameters["subtitle"].default is None
    section = profiles.ReportSection("t")
    assert (section.html, section.figures, section.anchor, section.children) == ("", [], None, [])
    for fn in ("size_and_value", "distinguishing_features", "top_items", "geography",
               "devices_channels", "age_bands", "interests", "rfm_mix", "clv_distribution",
               "comparison"):  # fmt: skip
        assert callable(getattr(profiles.charts, fn)), fn
