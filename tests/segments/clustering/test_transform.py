"""Transforms: constants computed by hand, and the engine agreeing with numpy."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import DataError
from custseg.segments.clustering import FeatureSet
from custseg.segments.clustering._transform import FittedTransform, wants_log


def test_constants_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "spend": [1.0, 2.0, 3.0, 4.0, 100.0, None],  # skewed, non-negative: log1p
            "delta": [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0],  # negative values: no log
        }
    )
    tr = FittedTransform.fit(frame, FeatureSet(numeric=("spend", "delta")))
    spend, delta = tr.numeric
    assert spend.log and not delta.log
    assert spend.median == 3.0  # median of the five known values
    logged = np.log1p([1.0, 2.0, 3.0, 4.0, 100.0])
    assert spend.center == pytest.approx(np.log1p(3.0))
    assert spend.scale == pytest.approx(np.log1p(4.0) - np.log1p(2.0))  # IQR: 3rd - 2nd of 5
    # linear percentiles of -2..3: q25 = -0.75, q75 = 1.75
    assert delta.center == 0.5 and delta.scale == pytest.approx(1.75 - (-0.75))
    z = tr.numeric_matrix(frame)
    expected_spend = (np.append(logged, np.log1p(3.0)) - np.log1p(3.0)) / spend.scale
    np.testing.assert_allclose(z[:, 0], expected_spend)
    np.testing.assert_allclose(z[:, 1], (frame.delta.to_numpy() - 0.5) / 2.5)


def test_zero_iqr_scales_by_one_and_forced_log_list() -> None:
    frame = pd.DataFrame({"a": [0.0] * 9 + [5.0], "b": [1.0, 2.0, 3.0, 4.0, 5.0] * 2})
    tr = FittedTransform.fit(frame, FeatureSet(numeric=("a", "b"), log=("b",)))
    a, b = tr.numeric
    assert a.scale == 1.0 and a.center == 0.0
    assert b.log and not a.log  # the list overrides the skewness rule for both


def test_all_null_column_is_refused() -> None:
    frame = pd.DataFrame({"a": [None, None]}, dtype="float64")
    with pytest.raises(DataError, match="null for every sampled customer"):
        FittedTransform.fit(frame, FeatureSet(numeric=("a",)))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1, 1, 2, 2, 3, 50], True),
        ([1, 2, 3, 4, 5, 6, 7], False),  # symmetric
        ([-1, 0, 0, 0, 0, 0, 40], False),  # negative
        ([0, 0, 0, 0, 0, 0, 1], False),  # two values (a flag)
    ],
)
def test_log_rule(values: list[float], expected: bool) -> None:
    assert wants_log(np.asarray(values, dtype=float)) is expected


def test_levels_are_top_values_with_enough_share() -> None:
    values = ["b"] * 40 + ["a"] * 40 + ["c"] * 19 + ["rare"] * 1 + [None] * 2
    frame = pd.DataFrame({"device": values})
    tr = FittedTransform.fit(frame, FeatureSet(categorical=("device",)))
    # ties in count are alphabetical; "rare" holds under 1% of 102 rows
    assert tr.categorical[0].levels == ("a", "b", "c")
    oh = tr.one_hot_matrix(frame)
    assert oh.shape == (102, 3)
    assert oh[:40].tolist() == [[0.0, 1.0, 0.0]] * 40
    assert oh[99:].sum() == 0.0  # "rare" and the two nulls: all zeros
    assert tr.feature_names() == ["device=a", "device=b", "device=c"]


def test_engine_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "money": np.round(rng.lognormal(4, 1.5, n), 2),
            "count": rng.poisson(3, n).astype("int64"),
            "share": rng.uniform(0, 1, n),
            "flag": rng.uniform(size=n) > 0.7,
            "device": rng.choice(["mobile", "desktop", "tablet", "tv"], n),
        }
    )
    frame.loc[::7, "money"] = np.nan
    frame.loc[::11, "share"] = np.nan
    frame["device"] = frame.device.astype(object)
    frame.loc[::5, "device"] = None
    fs = FeatureSet(numeric=("money", "count", "share", "flag"), categorical=("device",))
    tr = FittedTransform.fit(frame, fs, boolean=frozenset({"flag"}))
    assert tr.numeric[0].log and not tr.numeric[3].log
    t = ibis.memtable(frame.assign(row=np.arange(n)))
    # values outside the sample: negative money (clipped at 0 before log1p) and a NaN
    extra = ibis.memtable(
        pd.DataFrame(
            {
                "money": [-5.0, float("nan")],
                "count": [1, 2],
                "share": [0.1, 0.2],
                "flag": [True, None],
                "device": ["tv", "other"],
                "row": [n, n + 1],
            }
        )
    )
    t = t.union(extra.cast(t.schema()))
    exprs = tr.ibis_numeric(t) + tr.ibis_one_hot(t)
    out = t.select("row", **{f"z{j}": e for j, e in enumerate(exprs)}).order_by("row").execute()
    full = pd.concat([frame, extra.execute()], ignore_index=True)
    np.testing.assert_array_equal(out.drop(columns="row").to_numpy(), tr.matrix(full))
    money = tr.numeric[0]
    assert out.z0.iloc[n] == pytest.approx((np.log1p(0.0) - money.center) / money.scale)
    assert out.z0.iloc[n + 1] == pytest.approx(
        (np.log1p(money.median) - money.center) / money.scale
    )


def test_round_trip_and_inverse() -> None:
    frame = pd.DataFrame({"x": [1.0, 5.0, 9.0, 200.0, 3.0], "d": ["a", "b", "a", "a", None]})
    tr = FittedTransform.fit(frame, FeatureSet(numeric=("x",), categorical=("d",)))
    again = FittedTransform.from_dict(tr.to_dict())
    assert again == tr
    z = tr.numeric_matrix(frame)[:, 0]
    np.testing.assert_allclose(tr.numeric[0].inverse(z), frame.x.to_numpy())
