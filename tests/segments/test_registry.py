"""Segment definitions: built-ins, config, ``.seg`` files, exclusive groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from custseg.exceptions import ConfigError, UsageError
from custseg.segments.registry import (
    get_definition,
    load_definitions,
    read_segment_file,
    slugify,
)
from custseg.segments.rfm import RFM_GROUPS
from custseg.workspace import open_workspace


def _config(ws_root: Path, extra: str) -> None:
    cfg = ws_root / "custseg.toml"
    cfg.write_text(cfg.read_text() + "\n" + extra, encoding="utf-8")


def _segments_option(ws_root: Path, line: str) -> None:
    """Set one key of the template's ``[segments]`` table."""
    cfg = ws_root / "custseg.toml"
    text = cfg.read_text()
    key = line.split("=", 1)[0].strip()
    lines = [ln for ln in text.splitlines() if not ln.startswith(key + " ")]
    i = lines.index("[segments]")
    lines.insert(i + 1, line)
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Can't Lose Them", "cant_lose_them"),
        ("CLV top 10%", "clv_top_10"),
        ("  VIP -- at risk ", "vip_at_risk"),
        ("Ünïcode", "n_code"),
        ("***", "segment"),
    ],
)
def test_slugify(text, key):
    assert slugify(text) == key


def test_seg_file_header_and_line_numbers(tmp_path):
    p = tmp_path / "VIP at risk.seg"
    p.write_text(
        "# description: VIPs slipping away\n"
        "# priority: 5\n"
        "# tags: retention, vip\n"
        "# owner: crm@example.com\n"
        "tags CONTAINS 'vip'\n"
        "# a comment inside the rule\n"
        "AND p_alive < 0.5\n",
        encoding="utf-8",
    )
    d = read_segment_file(p)
    assert d.name == "vip_at_risk"
    assert d.title == "VIP at risk"
    assert d.description == "VIPs slipping away"
    assert d.priority == 5
    assert d.tags == ("retention", "vip")
    assert d.owner == "crm@example.com"
    # comment lines are blanked, so the rule's line 5 is the file's line 5
    lines = d.rule.split("\n")
    assert lines[0] == "tags CONTAINS 'vip'" or lines[4] == "tags CONTAINS 'vip'"
    assert "comment" not in d.rule
    assert d.rule.strip().endswith("AND p_alive < 0.5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# prority: 3\namount_spent > 1\n", "did you mean 'priority'"),
        ("# priority: high\namount_spent > 1\n", "not a whole number"),
        ("# description: nothing\n\n", "no rule"),
    ],
)
def test_seg_file_errors_name_the_file(tmp_path, text, message):
    p = tmp_path / "bad.seg"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_segment_file(p)
    assert str(p) in str(err.value)
    assert message in str(err.value).lower()


def test_definitions_come_from_builtins_config_and_folder(ws):
    _config(
        ws.root,
        '[segments.define.big_spenders]\nrule = "amount_spent > 1000"\npriority = 3\n'
        'tags = ["value"]\n',
    )
    (ws.root / "segments").mkdir()
    (ws.root / "segments" / "mobile_fans.seg").write_text("main_device = 'mobile'\n")
    w = open_workspace(ws.root)
    defs = load_definitions(w)
    names = [d.name for d in defs]
    # all 11 RFM groups + Prospects, 3 CLV tiers, 3 churn bands, due soon; no cluster model yet
    assert sum(d.family == "rfm" for d in defs) == len(RFM_GROUPS) + 1
    assert [d.name for d in defs if d.family == "clv_tier"] == ["clv_top", "clv_next", "clv_rest"]
    assert [d.name for d in defs if d.family == "churn_risk"] == [
        "churn_high",
        "churn_medium",
        "churn_low",
    ]
    assert "due_soon" in names and not any(d.family == "cluster" for d in defs)
    big = get_definition(w, "big_spenders")
    assert (big.rule, big.priority, big.tags, big.source) == (
        "amount_spent > 1000",
        3,
        ("value",),
        "custseg.toml",
    )
    assert get_definition(w, "Mobile_Fans").rule == "main_device = 'mobile'"
    # lookup by title works too
    assert get_definition(w, "Can't Lose Them").name == "rfm_cant_lose_them"
    assert get_definition(w, "Can't Lose Them").rule == "rfm_group = 'Can''t Lose Them'"


def test_builtin_families_can_be_switched_off(ws):
    _segments_option(ws.root, 'builtin = ["churn_risk"]')
    defs = load_definitions(open_workspace(ws.root))
    assert {d.family for d in defs} == {"churn_risk"}


def test_unknown_segment_suggests(ws):
    with pytest.raises(UsageError, match="rfm_champions"):
        get_definition(ws, "rfm_champion")


def test_duplicate_names_are_refused(ws):
    _config(ws.root, '[segments.define.due_soon]\nrule = "amount_spent > 1"\n')
    with pytest.raises(ConfigError, match="two segments are named 'due_soon'"):
        load_definitions(open_workspace(ws.root))


def test_exclusive_groups_are_checked(ws):
    _segments_option(ws.root, 'exclusive = { tiers = ["clv_top", "clv_nxt"] }')
    with pytest.raises(ConfigError, match="Did you mean 'clv_next'"):
        load_definitions(open_workspace(ws.root))


def test_a_segment_in_two_exclusive_groups_is_refused(ws):
    _segments_option(ws.root, 'exclusive = { a = ["clv_top", "churn_high"], b = ["churn_high"] }')
    with pytest.raises(ConfigError, match="two exclusive groups"):
        load_definitions(open_workspace(ws.root))


def test_exclusive_group_is_set_on_definitions(ws):
    _segments_option(ws.root, 'exclusive = { value = ["clv_top", "churn_high"] }')
    defs = {d.name: d for d in load_definitions(open_workspace(ws.root))}
    assert defs["clv_top"].exclusive_group == "value"
    assert defs["churn_high"].exclusive_group == "value"
    assert defs["clv_next"].exclusive_group is None
