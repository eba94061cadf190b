"""demographic: whole-year age as of a date, age bands, fields passed through."""

from __future__ import annotations

from datetime import date

import pytest

from custseg.features import demographic

from ._tables import canonical, connect, one

AS_OF = date(2024, 3, 31)


@pytest.fixture(scope="module")
def customers():
    con = connect()
    return canonical(
        con,
        "customers",
        [
            {"customer_id": "today", "birth_date": date(2000, 3, 31), "gender": "female"},
            {"customer_id": "tomorrow", "birth_date": date(2000, 4, 1)},
            {"customer_id": "senior", "birth_date": date(1959, 1, 1)},
            {"customer_id": "kid", "birth_date": date(2010, 5, 5)},
            {"customer_id": "eighteen", "birth_date": date(2006, 3, 31)},
            {"customer_id": "unborn", "birth_date": date(2025, 1, 1)},
            {"customer_id": "unknown", "language": "de"},
        ],
    )


@pytest.mark.parametrize(
    ("cid", "age", "band"),
    [
        ("today", 24, "18-24"),  # birthday on the as-of day: 2024 - 2000
        ("tomorrow", 23, "18-24"),  # birthday tomorrow: 2024 - 2000 - 1
        ("senior", 65, "65+"),  # 2024 - 1959
        ("kid", 13, "under 18"),  # 2024 - 2010 - 1 (May not reached)
        ("eighteen", 18, "18-24"),
        ("unborn", None, None),
        ("unknown", None, None),
    ],
)
def test_age_and_band(customers, cid, age, band) -> None:
    r = one(demographic.demographics(customers, as_of=AS_OF), cid)
    assert (r["age"], r["age_band"]) == (age, band)


def test_missing_stays_missing(customers) -> None:
    t = demographic.demographics(customers, as_of=AS_OF)
    assert one(t, "today")["gender"] == "female"
    unknown = one(t, "unknown")
    assert unknown["language"] == "de" and unknown["gender"] is None
    assert unknown["income_band"] is None


def test_leap_day_birthday() -> None:
    con = connect()
    c = canonical(con, "customers", [{"customer_id": "leap", "birth_date": date(2004, 2, 29)}])
    # 2023 has no 29 Feb: still 18 on 28 Feb, 19 on 1 Mar
    assert one(demographic.demographics(c, as_of=date(2023, 2, 28)), "leap")["age"] == 18
    assert one(demographic.demographics(c, as_of=date(2023, 3, 1)), "leap")["age"] == 19
