"""The HTML report: valid structure, one Plotly bundle, every section, escaped, offline."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from custseg.exceptions import UsageError
from custseg.profiles import ReportSection, html_table, segment_sections, write_report

EVIL = "<script>alert(\"x\")</script> & Ünïcødé 'q'"
VOID = {"meta", "link", "br", "hr", "img", "input", "area", "base", "col", "embed", "source", "wbr"}


class _Structure(HTMLParser):
    """Checks that every non-void element is closed in order; collects tags and ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.starts.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] not in ("script", "style"):
            self.text.append(data)


def _parse(text: str) -> _Structure:
    p = _Structure()
    p.feed(text)
    p.close()
    return p


@pytest.fixture
def report(tiny_profiles, tmp_path) -> tuple[Path, str, _Structure]:
    profiles = dict(tiny_profiles)
    profiles["evil"] = replace(tiny_profiles["A"], name=EVIL)
    extra = ReportSection(
        "Shipping tiers",
        html="<p>added by a later stage</p>",
        figures=[go.Figure(go.Bar(x=["a"], y=[1]))],
        children=[ReportSection("Tier 1"), ReportSection("Tier 1")],  # same title twice
    )
    path = write_report(
        tmp_path / "out" / "report.html",
        [*segment_sections(profiles), extra],
        title="Report <A&B>",
        subtitle="tiny store",
    )
    text = path.read_text(encoding="utf-8")
    return path, text, _parse(text)


def test_the_report_is_one_well_formed_html_page(report):
    path, text, parsed = report
    assert path.name == "report.html" and path.parent.name == "out"
    assert parsed.doctype
    assert parsed.errors == [] and parsed.stack == []
    tags = [t for t, _ in parsed.starts]
    assert tags[:3] == ["html", "head", "meta"]
    assert tags.count("html") == tags.count("head") == tags.count("body") == tags.count("main") == 1
    assert '<meta charset="utf-8">' in text


def test_the_plotly_bundle_is_inlined_exactly_once(report):
    _, text, parsed = report
    bundle = get_plotlyjs()
    assert text.count(bundle) == 1
    head_end = text.index("</head>")
    assert text.index(bundle) < head_end
    # one Plotly.newPlot per figure: overview 2 + 3 segments x 8 + the extra section's 1
    assert text.count("Plotly.newPlot(") == 2 + 3 * 8 + 1


def test_no_external_resources(report):
    _, _, parsed = report
    for tag, attrs in parsed.starts:
        assert not (tag == "script" and attrs.get("src")), attrs
        assert tag != "link", attrs
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith("#"), (tag, attrs)  # only in-page links


def test_every_segment_has_a_section_and_a_contents_entry(report, tiny_profiles):
    _, _, parsed = report
    ids = [a["id"] for _, a in parsed.starts if "id" in a]
    sections = [a["id"] for t, a in parsed.starts if t == "section"]
    assert len(set(sections)) == len(sections)
    assert sections[0] == "overview"
    assert {"segment-a", "segment-b"} <= set(sections)
    # lower case, accents dropped (ø has no ASCII form), other runs become "-"
    evil_anchor = "segment-script-alert-x-script-unicde-q"
    assert evil_anchor in sections
    links = [a["href"][1:] for t, a in parsed.starts if t == "a"]
    for anchor in ("overview", "segment-a", "segment-b", evil_anchor, "shipping-tiers"):
        assert anchor in links and anchor in ids
    # children are anchored under their parent; the two titled "Tier 1" get distinct anchors
    assert "segment-a-distinguishing-features" in sections
    assert "shipping-tiers-tier-1" in sections and "shipping-tiers-tier-1-2" in sections
    headings = [t for t, a in parsed.starts if t in ("h2", "h3")]
    assert headings.count("h2") == 1 + 3 + 1  # overview, A, B, evil, Shipping tiers


def test_names_are_escaped_everywhere(report):
    _, text, parsed = report
    assert EVIL not in text
    assert "<script>alert(" not in text
    assert "&lt;script&gt;alert(" in text
    # the name still reads right once parsed (heading and contents)
    body_text = "".join(parsed.text)
    assert EVIL in body_text
    assert "Report <A&B>" in body_text
    scripts = [a for t, a in parsed.starts if t == "script"]
    assert len(scripts) == 2 + 3 * 8 + 1 + 1  # the figures' scripts and the bundle


def test_segment_sections_hold_the_tables_and_figures(tiny_profiles):
    overview, section_b, section_a = segment_sections(tiny_profiles)
    assert overview.title == "Overview" and len(overview.figures) == 2
    assert "37.5%" in overview.html  # A: 3 of 8 customers
    assert section_a.title == "A" and section_a.anchor == "segment-a"
    titles = [c.title for c in section_a.children]
    assert titles == [
        "Distinguishing features",
        "Feature statistics",
        "Top categories, products and brands",
        "Countries and regions",
        "Devices and channels",
        "Age bands",
        "Declared interests",
        "RFM mix",
        "CLV distribution",
    ]
    dist = section_a.children[0].html
    assert "rfm_group = Champions" in dist and "×2.67" in dist  # lift 8/3
    items = section_a.children[2].html
    assert "Shoe (S1)" in items and "71.43%" in items  # 15 of A's 21 units


def test_html_table_escapes_and_formats():
    t = html_table(["a<b", "n"], [["<i>x</i>", 1234567], [None, 0.5]], numeric=(1,))
    assert "&lt;i&gt;x&lt;/i&gt;" in t and "a&lt;b" in t
    assert "1,234,567" in t and "–" in t and "0.5" in t
    assert _parse(t).errors == []


def test_write_report_rejects_what_it_cannot_draw(tmp_path):
    with pytest.raises(UsageError, match="ReportSection"):
        write_report(tmp_path / "r.html", ["not a section"])
    with pytest.raises(UsageError, match="plotly Figures"):
        write_report(tmp_path / "r.html", [ReportSection("x", figures=["<div>"])])
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_an_existing_report_is_replaced(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("OLD REPORT", encoding="utf-8")
    write_report(target, [ReportSection("Only")], title="New")
    text = target.read_text(encoding="utf-8")
    assert "OLD REPORT" not in text and re.search(r"<title>New</title>", text)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
