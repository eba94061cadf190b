"""BetaGeoBetaBinomModel (BG/BB) against the published donations figures.

Sources: Fader, Hardie & Shang (2010) and lifetimes ``tests/test_estimation.py``
(``TestBetaGeoBetaBinomFitter``): parameters "Hardie paper", Table 6 "P(alive in 2002)"
(lifetimes computes it as ``conditional_probability_alive(1, ...)``: alive at opportunity
n + 1, i.e. 2002 after the six opportunities 1996-2001), and the totals of Hardie's
BG/BB spreadsheet (brucehardie.com/notes/010): 12,884.2 expected transactions in the
next five opportunities ("Conditional Expectations (II)", column F) and the in-sample
fit counts 3,454.9 (x=0) and 1,253.1 (x=6).
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from custseg.clv import BetaGeoBetaBinomModel
from custseg.exceptions import DataError, SchemaError

PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def test_params_match_hardie_paper(bgbb: BetaGeoBetaBinomModel) -> None:
    fitted = [bgbb.params_[k] for k in PUBLISHED]
    npt.assert_array_almost_equal(fitted, list(PUBLISHED.values()), decimal=3)
    # pymc-marketing and the independent re-fit: 1.2035, 0.7497, 0.6567, 2.7834.
    npt.assert_allclose(fitted, [1.2035, 0.7497, 0.6567, 2.7834], atol=1e-4)
    assert bgbb.log_likelihood_ == pytest.approx(-33225.58, abs=0.005)
    assert bgbb.n_customers_ == 11104
    assert bgbb.n_unique_rows_ == 22


def test_probability_alive_in_2002_matches_table_6(
    bgbb: BetaGeoBetaBinomModel, donations: pd.DataFrame
) -> None:
    p = bgbb.probability_alive([0, 2, 6], [0, 4, 6], 6)  # t=1: alive at opportunity 7
    npt.assert_array_almost_equal(p, [0.11, 0.59, 0.93], decimal=2)
    p_now = bgbb.probability_alive([0, 2, 6], [0, 4, 6], 6, t=0)
    assert np.all(p_now > p)
    npt.assert_allclose(bgbb.churn_probability([0, 2, 6], [0, 4, 6], 6), 1 - p)


def test_conditional_expected_total_matches_hardie_sheet(
    bgbb: BetaGeoBetaBinomModel, donations: pd.DataFrame
) -> None:
    total = bgbb.expected_cohort_purchases(5, donations)
    assert total == pytest.approx(12884.2, abs=0.05)
    per_row = bgbb.conditional_expected_purchases(
        5, donations["frequency"], donations["recency"], donations["T"]
    )
    assert float(per_row @ donations["weights"]) == pytest.approx(total)


def test_in_sample_fit_counts_match_hardie_sheet(bgbb: BetaGeoBetaBinomModel) -> None:
    pmf = bgbb.probability_of_n_purchases(6, np.arange(7))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    npt.assert_allclose(pmf[[0, 6]] * 11104, [3454.9, 1253.1], atol=0.05)
    # Its mean is the unconditional expectation.
    assert float(pmf @ np.arange(7)) == pytest.approx(float(bgbb.expected_purchases(6)))


@pytest.mark.parametrize("t", [1, 3, 10, 25])
def test_expected_purchases_is_the_pmf_mean(bgbb: BetaGeoBetaBinomModel, t: int) -> None:
    pmf = bgbb.probability_of_n_purchases(t, np.arange(t + 1))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(pmf @ np.arange(t + 1)) == pytest.approx(float(bgbb.expected_purchases(t)))
    assert float(bgbb.expected_purchases(0)) == 0.0


def test_weighted_fit_equals_expanded_fit(
    bgbb: BetaGeoBetaBinomModel, donations: pd.DataFrame
) -> None:
    expanded = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    assert len(expanded) == 11104
    model = BetaGeoBetaBinomModel().fit(expanded)
    for k in PUBLISHED:
        assert model.params_[k] == pytest.approx(bgbb.params_[k], abs=1e-6)


def test_column_named_periods_gets_a_rename_hint(donations: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="rename it to 'T'"):
        BetaGeoBetaBinomModel().fit(donations.rename(columns={"T": "periods"}))


@pytest.mark.parametrize(
    ("frequency", "recency", "n", "rule"),
    [
        (3, 2, 6, "frequency larger than recency"),
        (1, 2.5, 6, "non-integer recency or T"),
        (1, 7, 6, "recency larger than T"),
    ],
)
def test_discrete_rules(frequency: float, recency: float, n: float, rule: str) -> None:
    data = {"frequency": [0, frequency], "recency": [0, recency], "T": [6, n]}
    with pytest.raises(DataError, match=f"{rule} in 1 row\\(s\\) \\(first at row 1"):
        BetaGeoBetaBinomModel().fit(data)


def test_periods_must_be_whole(bgbb: BetaGeoBetaBinomModel) -> None:
    with pytest.raises(DataError, match="whole number of transaction opportunities"):
        bgbb.conditional_expected_purchases(2.5, 1, 1, 6)
