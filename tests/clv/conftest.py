"""Fixtures for the CLV tests: the CDNOW and donations reference data, and fitted models.

The data files in tests/data/cdnow/ are copies of lifetimes' datasets (see the README
there). Fitted models are session-scoped: each reference fit runs once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custseg.clv import BetaGeoBetaBinomModel, BetaGeoModel, GammaGammaModel, ParetoNBDModel

DATA = Path(__file__).parent.parent / "data" / "cdnow"


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """CDNOW 1/10 sample calibration summary in weeks: ID, frequency, recency, T (2,357 rows)."""
    return pd.read_csv(DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_monetary() -> pd.DataFrame:
    """Hardie's file with zbar, renamed to frequency, recency, T, monetary_value."""
    df = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    return df.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    """BG/BB donations: frequency, recency, T (= periods, 6) and weights (22 rows, 11,104 donors)."""
    return pd.read_csv(DATA / "donations.csv").rename(columns={"periods": "T"})


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """CDNOW_sample.txt: master_id, sample_id, date, cds, spent (6,919 transactions)."""
    df = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "date", "cds", "spent"],
    )
    df["date"] = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    return df


@pytest.fixture(scope="session")
def bgnbd(cdnow_summary: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow_summary)


@pytest.fixture(scope="session")
def pnbd(cdnow_summary: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow_summary)


@pytest.fixture(scope="session")
def gg(cdnow_monetary: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow_monetary)


@pytest.fixture(scope="session")
def bgbb(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donations)
