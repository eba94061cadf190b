"""Feature-set resolution: families, names, kinds, and what is refused."""

from __future__ import annotations

import ibis
import pytest

from custseg.exceptions import SchemaError, UsageError
from custseg.segments.clustering import BEHAVIOR_DEFAULT, FeatureSet

SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "is_stub": "boolean",
        "accepts_email_marketing": "boolean",
        "created_at": "timestamp",
        **{c: "float64" for c in BEHAVIOR_DEFAULT},
        "avg_order_value": "float64",
        "first_order_date": "date",
        "top_category": "string",
        "main_device": "string",
        "main_os": "string",
        "mobile_session_share": "float64",
        "first_seen": "date",
        "city": "string",
        "postal_code": "string",
        "country": "string",
        "distance_to_warehouse_km": "float64",
        "latitude": "float64",
        "account_id": "string",
        "company_size": "string",
        "units_per_order": "float64",
        "rfm_score": "string",
        "r_score": "int8",
    }
)


def test_behavior_family_is_the_documented_default() -> None:
    fs = FeatureSet.resolve("behavior", SCHEMA)
    assert fs.numeric == BEHAVIOR_DEFAULT
    assert fs.categorical == ()
    assert "avg_order_value" not in fs.columns


def test_family_keeps_kinds_and_drops_ids_dates_and_exclusions() -> None:
    geo = FeatureSet.resolve("geo", SCHEMA)
    # city and postal_code are id-like, latitude is excluded from the family spec
    assert geo.numeric == ("distance_to_warehouse_km",)
    assert geo.categorical == ("country",)
    tech = FeatureSet.resolve("technographic", SCHEMA)
    assert tech.numeric == ("mobile_session_share",)
    assert tech.categorical == ("main_device", "main_os")
    b2b = FeatureSet.resolve("b2b", SCHEMA)
    assert "account_id" not in b2b.columns
    assert b2b.categorical == ("company_size",)


def test_customer_family_reads_booleans_as_numeric_and_drops_timestamps() -> None:
    fs = FeatureSet.resolve("customer", SCHEMA)
    assert fs.numeric == ("accepts_email_marketing",)
    assert "created_at" not in fs.columns


def test_list_mixes_families_and_columns_without_repeats() -> None:
    fs = FeatureSet.resolve(["behavior", "main_device", "amount_spent", "latitude"], SCHEMA)
    assert fs.numeric == (*BEHAVIOR_DEFAULT, "latitude")
    assert fs.categorical == ("main_device",)


def test_rfm_family_uses_scores_not_the_code() -> None:
    fs = FeatureSet.resolve("rfm", SCHEMA)
    assert fs.numeric == ("r_score",)
    assert fs.categorical == ()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("behaviour", "neither a feature family"),
        (["amount_spent", "first_order_date"], "cannot be a clustering feature"),
        (["customer_id"], "cannot be a clustering feature"),
        (["postal_code"], "cannot be a clustering feature"),
        ([3], "must be strings"),
        ({"a": 1}, "family name"),
        ("psychographic", "selects no usable column"),
    ],
)
def test_bad_specs_are_refused(spec: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        FeatureSet.resolve(spec, SCHEMA)  # type: ignore[arg-type]


def test_feature_set_is_checked_against_the_table() -> None:
    with pytest.raises(SchemaError, match="lacks"):
        FeatureSet(numeric=("nope",)).resolve(FeatureSet(numeric=("nope",)), SCHEMA)
    with pytest.raises(SchemaError, match="not numeric"):
        FeatureSet.resolve(FeatureSet(numeric=("main_device",)), SCHEMA)
    with pytest.raises(SchemaError, match="not text"):
        FeatureSet.resolve(FeatureSet(categorical=("amount_spent",)), SCHEMA)
    with pytest.raises(UsageError, match="log names"):
        FeatureSet.resolve(FeatureSet(numeric=("amount_spent",), log=("main_device",)), SCHEMA)
    with pytest.raises(UsageError, match="empty"):
        FeatureSet.resolve(FeatureSet(), SCHEMA)


def test_round_trip() -> None:
    fs = FeatureSet(numeric=("a", "b"), categorical=("c",), log=("a",))
    assert FeatureSet.from_dict(fs.to_dict()) == fs
    assert FeatureSet.from_dict(FeatureSet(numeric=("a",)).to_dict()).log is None
