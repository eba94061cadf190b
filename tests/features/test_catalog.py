import pytest

from custseg.features.catalog import FAMILIES, columns_of_family, feature_family


@pytest.mark.parametrize(
    ("column", "family"),
    [
        ("amount_spent", "behavior"),
        ("orders_90d", "behavior"),
        ("share_footwear", "behavior"),
        ("email_clicks", "engagement"),
        ("distance_to_warehouse_km", "geo"),
        ("age_band", "demographic"),
        ("main_device", "technographic"),
        ("attr_interest", "psychographic"),
        ("bulk_order_share", "b2b"),
        ("rfm_group", "rfm"),
        ("clv_365d", "predictive"),
        ("expected_orders_90d", "predictive"),
        ("customer_id", "id"),
        ("tags", "customer"),
        ("clv_frequency", "behavior"),  # a CLV input, not a prediction
        ("orders_xd", "other"),
        ("no_such_column", "other"),
    ],
)
def test_feature_family(column, family):
    assert feature_family(column) == family


def test_every_documented_feature_has_a_family():
    # every column named in docs/features.md's tables is known to the catalog
    import re
    from pathlib import Path

    doc = Path(__file__).parents[2] / "docs" / "features.md"
    names = set(re.findall(r"`([a-z_][a-z0-9_]*)`", doc.read_text()))
    table_names = {n for n in names if feature_family(n) != "other"}
    # the doc mentions concrete columns from each family
    assert {feature_family(n) for n in table_names} >= set(FAMILIES)


def test_columns_of_family_keeps_order():
    cols = ["customer_id", "sessions", "amount_spent", "email_opens"]
    assert columns_of_family(cols, "engagement") == ["sessions", "email_opens"]
    assert columns_of_family(cols, "behavior") == ["amount_spent"]
