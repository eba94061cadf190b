"""Segment exports: presets, consent, PII allow-list, hashing, minimum size, diffs."""

from __future__ import annotations

import hashlib
import json

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from custseg.actions.exports import export_segment
from custseg.exceptions import PrivacyError, UsageError
from custseg.segments.registry import evaluate


@pytest.fixture
def evaluated(demo_copy):
    evaluate(demo_copy, run_id="run-1")
    return demo_copy


def _rows(ws, sql):
    return ws.connect().con.execute(sql).fetchall()


def test_generic_export_has_ids_only_and_every_member(evaluated, tmp_path):
    r = export_segment(evaluated, "rfm_champions", format="parquet", out=tmp_path / "c.parquet")
    t = pq.read_table(r.path)
    assert t.column_names == ["customer_id", "segment"]
    expected = {
        row[0]
        for row in _rows(
            evaluated, "SELECT customer_id FROM customer_features WHERE rfm_group = 'Champions'"
        )
    }
    assert set(t["customer_id"].to_pylist()) == expected
    assert r.rows == len(expected)


def test_email_presets_keep_consenting_customers_only(evaluated, tmp_path):
    r = export_segment(evaluated, "rfm_champions", destination="mailchimp", out=tmp_path / "m.csv")
    t = pacsv.read_csv(r.path)
    assert t.column_names[:1] == ["Email Address"]
    consent = _rows(
        evaluated,
        "SELECT c.email, c.accepts_email_marketing FROM customers c JOIN customer_features f "
        "USING (customer_id) WHERE f.rfm_group = 'Champions'",
    )
    yes = {e for e, ok in consent if ok and e}
    assert set(t["Email Address"].to_pylist()) == yes
    assert r.excluded_no_consent == sum(1 for _, ok in consent if not ok)
    assert r.excluded_no_email == sum(1 for e, ok in consent if ok and not e)
    assert set(t["Tags"].to_pylist()) == {"rfm_champions"}


def test_hashing_is_sha256_of_the_normalised_value(evaluated, tmp_path):
    r = export_segment(
        evaluated,
        "rfm_champions",
        destination="google_ads",
        hash_identifiers=True,
        format="json",
        out=tmp_path / "g.json",
    )
    rows = json.loads(r.path.read_text())
    people = _rows(
        evaluated,
        "SELECT c.email, c.phone, c.first_name FROM customers c JOIN customer_features f "
        "USING (customer_id) WHERE f.rfm_group = 'Champions'",
    )

    def h(s):
        return hashlib.sha256(s.encode()).hexdigest()

    want_email = {h(e.strip().lower()) for e, _, _ in people if e}
    assert {row["Email"] for row in rows if row["Email"]} == want_email
    # Google wants '+' and digits before hashing
    want_phone = {h("+" + "".join(ch for ch in p if ch.isdigit())) for _, p, _ in people if p}
    assert {row["Phone"] for row in rows if row["Phone"]} == want_phone
    assert {row["First Name"] for row in rows if row["First Name"]} == {
        h(f.strip().lower()) for _, _, f in people if f
    }
    assert r.hashed


def test_meta_always_hashes_with_digits_only_phones(evaluated, tmp_path):
    r = export_segment(evaluated, "rfm_champions", destination="meta", out=tmp_path / "m.csv")
    t = pacsv.read_csv(r.path)
    phones = _rows(
        evaluated,
        "SELECT c.phone FROM customers c JOIN customer_features f USING (customer_id) "
        "WHERE f.rfm_group = 'Champions' AND c.phone IS NOT NULL",
    )
    want = {
        hashlib.sha256("".join(ch for ch in p if ch.isdigit()).encode()).hexdigest()
        for (p,) in phones
    }
    assert {p for p in t["PHONE"].to_pylist() if p} == want
    assert r.hashed


def test_pii_outside_the_allow_list_is_refused(evaluated):
    with pytest.raises(PrivacyError, match="'email' is personal data") as err:
        export_segment(evaluated, "rfm_champions", columns=["email"])
    assert "--hash-identifiers" in str(err.value)
    # hashed, it is allowed
    r = export_segment(evaluated, "rfm_champions", columns=["email"], hash_identifiers=True)
    assert "email" in r.columns


def test_allow_list_in_config(evaluated):
    cfg = evaluated.root / "custseg.toml"
    cfg.write_text(
        cfg.read_text() + '\n[exports.destinations.crm]\npii = ["email"]\ncolumns = ["rfm_group"]\n'
    )
    from custseg.workspace import open_workspace

    ws = open_workspace(evaluated.root)
    r = export_segment(ws, "rfm_champions", destination="crm", columns=["email", "rfm_group"])
    t = pacsv.read_csv(r.path)
    assert t.column_names == ["customer_id", "segment", "email", "rfm_group"]
    with pytest.raises(PrivacyError, match="'phone'"):
        export_segment(ws, "rfm_champions", destination="crm", columns=["phone"])


def test_small_segments_are_refused(evaluated):
    sizes = dict(_rows(evaluated, "SELECT segment, count(*) FROM memberships GROUP BY segment"))
    small = min((n, s) for s, n in sizes.items() if n > 0)
    with pytest.raises(PrivacyError, match=f"has {small[0]} rows") as err:
        export_segment(evaluated, small[1], min_size=small[0] + 1)
    assert "min_segment_size" in str(err.value)
    assert export_segment(evaluated, small[1], min_size=small[0]).rows == small[0]


def test_diff_since_lists_entered_and_exited(evaluated, tmp_path):
    con = evaluated.connect().con
    # Move two Champions out and one Lost customer in, then evaluate again.
    champs = [
        r[0]
        for r in con.execute(
            "SELECT customer_id FROM customer_features WHERE rfm_group='Champions' ORDER BY 1 LIMIT 2"
        ).fetchall()
    ]
    lost = con.execute(
        "SELECT customer_id FROM customer_features WHERE rfm_group='Lost' ORDER BY 1 LIMIT 1"
    ).fetchone()[0]
    con.execute("UPDATE customer_features SET rfm_group='Lost' WHERE customer_id IN (?, ?)", champs)
    con.execute("UPDATE customer_features SET rfm_group='Champions' WHERE customer_id = ?", [lost])
    evaluate(evaluated, run_id="run-2")
    r = export_segment(
        evaluated, "rfm_champions", diff_since="run-1", min_size=0, out=tmp_path / "d.csv"
    )
    t = pacsv.read_csv(r.path)
    got = dict(zip(t["customer_id"].to_pylist(), t["change"].to_pylist(), strict=True))
    assert got == {champs[0]: "exited", champs[1]: "exited", lost: "entered"}
    with pytest.raises(UsageError, match="no such run"):
        export_segment(evaluated, "rfm_champions", diff_since="run-0", min_size=0)


def test_unknown_format_and_destination(evaluated):
    with pytest.raises(UsageError, match="format"):
        export_segment(evaluated, "rfm_champions", format="xlsx")
    with pytest.raises(UsageError, match="klaviyo"):
        export_segment(evaluated, "rfm_champions", destination="klavio")


def test_every_export_is_logged(evaluated):
    export_segment(evaluated, "rfm_champions")
    export_segment(evaluated, "rfm_champions", destination="klaviyo")
    rows = _rows(evaluated, "SELECT segment, destination, rows FROM _exports ORDER BY exported_at")
    assert [r[1] for r in rows] == ["generic", "klaviyo"]
