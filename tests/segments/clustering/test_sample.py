"""The population and its reproducible engine sample."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from custseg.exceptions import DataError, SchemaError, UsageError
from custseg.segments.clustering._sample import draw_sample, population_filter


def _table(n: int = 200) -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": [f"C{i:04d}" for i in range(n)],
                "number_of_orders": [i % 4 for i in range(n)],  # a quarter have none
                "is_stub": [i % 10 == 1 for i in range(n)],
                "x": [float(i) for i in range(n)],
            }
        )
    )


def test_default_population_has_orders_and_no_stubs() -> None:
    got = population_filter(_table(), None).execute()
    expected = [f"C{i:04d}" for i in range(200) if i % 4 > 0 and i % 10 != 1]
    assert sorted(got.customer_id) == expected


def test_custom_population_deferred_or_bound() -> None:
    t = _table()
    deferred = population_filter(t, ibis._.x >= 150).execute()
    bound = population_filter(t, t.x >= 150).execute()
    assert (
        sorted(deferred.customer_id)
        == sorted(bound.customer_id)
        == [f"C{i:04d}" for i in range(150, 200)]
    )
    other = _table(10)
    with pytest.raises(UsageError, match="deferred"):
        population_filter(other, t.x >= 150).execute()


def test_no_id_column_is_refused() -> None:
    with pytest.raises(SchemaError, match="customer_id"):
        population_filter(ibis.memtable({"x": [1]}), None)


def test_sample_is_reproducible_sized_and_seeded() -> None:
    pop = population_filter(_table(), None)
    n_pop = pop.count().execute()
    a = draw_sample(pop, ["x"], size=50, seed=0)
    b = draw_sample(pop, ["x"], size=50, seed=0)
    c = draw_sample(pop, ["x"], size=50, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 50 and list(a.columns) == ["customer_id", "x"]
    assert a.customer_id.is_monotonic_increasing and a.customer_id.is_unique
    assert set(a.customer_id) <= set(pop.execute().customer_id)
    assert set(a.customer_id) != set(c.customer_id)
    everyone = draw_sample(pop, ["x"], size=10_000, seed=3)
    assert len(everyone) == n_pop


def test_empty_population_and_repeated_ids_are_refused() -> None:
    t = _table()
    with pytest.raises(DataError, match="population is empty"):
        draw_sample(t.filter(t.x < 0), ["x"], size=10, seed=0)
    dup = ibis.memtable({"customer_id": ["a", "a"], "x": [1.0, 2.0]})
    with pytest.raises(DataError, match="one row per customer"):
        draw_sample(dup, ["x"], size=10, seed=0)
