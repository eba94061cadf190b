"""What every CLV model shares: the estimator protocol, input checks, errors, weights,
penalizer, standard errors, bootstrap and JSON save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.testing as npt
import pandas as pd
import pyarrow as pa
import pytest

from custseg.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    CLVModel,
    ConvergenceError,
    GammaGammaModel,
    NotFittedError,
    ParetoNBDModel,
)
from custseg.exceptions import CustsegError, DataError, SchemaError, SourceReadError, UsageError

MODELS = [BetaGeoModel, ParetoNBDModel, GammaGammaModel, BetaGeoBetaBinomModel]


@pytest.fixture(scope="module")
def fitted(
    bgnbd: BetaGeoModel,
    pnbd: ParetoNBDModel,
    gg: GammaGammaModel,
    bgbb: BetaGeoBetaBinomModel,
) -> dict[type, CLVModel]:
    return {
        BetaGeoModel: bgnbd,
        ParetoNBDModel: pnbd,
        GammaGammaModel: gg,
        BetaGeoBetaBinomModel: bgbb,
    }


def _predict_args(cls: type) -> tuple[str, tuple, dict]:
    """A representative prediction call for each model."""
    if cls is GammaGammaModel:
        return "conditional_expected_average_profit", ([0, 2, 5], [0.0, 22.35, 40.0]), {}
    if cls is BetaGeoBetaBinomModel:
        return "conditional_expected_purchases", (5, [0, 2, 6], [0, 4, 6], 6), {}
    return (
        "conditional_expected_purchases",
        (39.0, [0, 2, 26], [0, 30.43, 30.86], [38.86, 38.86, 31.0]),
        {},
    )


# ---------------------------------------------------------------------- protocol
def test_exception_tree() -> None:
    assert issubclass(NotFittedError, CustsegError)
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceError, CustsegError)
    assert not issubclass(ConvergenceError, ValueError)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_init_only_stores_parameters(cls: type) -> None:
    model = cls(penalizer=-1, tol="x", max_iter=0)  # no validation in __init__
    assert model.get_params() == {
        "penalizer": -1,
        "tol": "x",
        "max_iter": 0,
        "initial_params": None,
    }
    assert model.set_params(penalizer=0.5, tol=1e-8, max_iter=10) is model
    assert repr(model) == f"{cls.__name__}(penalizer=0.5, tol=1e-08, max_iter=10)"
    assert repr(cls()) == f"{cls.__name__}()"
    with pytest.raises(UsageError, match="no parameter 'alpha'"):
        model.set_params(alpha=1)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_predict_before_fit_raises_not_fitted(cls: type) -> None:
    method, args, kwargs = _predict_args(cls)
    model = cls()
    message = (
        f"This {cls.__name__} instance is not fitted yet. Call 'fit' with appropriate "
        "arguments before using this estimator."
    )
    with pytest.raises(NotFittedError) as info:
        getattr(model, method)(*args, **kwargs)
    assert str(info.value) == message
    with pytest.raises(AttributeError):
        model.save("never.json")
    with pytest.raises(NotFittedError):
        model.summary()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"penalizer": -0.1}, "penalizer must be a number >= 0"),
        ({"tol": 0}, "tol must be a number > 0"),
        ({"max_iter": 2.5}, "max_iter must be an integer >= 1"),
        ({"initial_params": {"r": 1.0}}, "initial_params must be a dict with the keys"),
        ({"initial_params": {"r": 1, "alpha": -1, "a": 1, "b": 1}}, "must be positive"),
    ],
)
def test_bad_constructor_values_fail_in_fit(
    kwargs: dict, match: str, cdnow_summary: pd.DataFrame
) -> None:
    with pytest.raises(UsageError, match=match):
        BetaGeoModel(**kwargs).fit(cdnow_summary)


# ---------------------------------------------------------------------- input checks
def test_missing_column_names_it_and_the_fix(cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(SchemaError) as info:
        BetaGeoModel().fit(cdnow_summary.drop(columns="T"))
    msg = str(info.value)
    assert "missing: 'T'" in msg
    assert "'ID', 'frequency', 'recency'" in msg
    assert "custseg.clv.rfm_summary" in msg


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            {"recency": [0, 40.0, 1.0]},
            DataError,
            "recency larger than T in 1 row\\(s\\) \\(first at row 1: frequency=2, recency=40",
        ),
        ({"frequency": [0, -1, 1]}, DataError, "negative frequency"),
        ({"frequency": [0, 1.5, 1]}, DataError, "non-integer frequency"),
        ({"recency": [3.0, 30.0, 1.0]}, DataError, "non-zero recency with frequency 0"),
        ({"recency": [0, np.nan, 1.0]}, DataError, "column 'recency' has 1 missing or infinite"),
        ({"T": ["a", "b", "c"]}, SchemaError, "column 'T' must be numeric"),
        ({"weights": [1, -2, 1]}, DataError, "negative weights"),
    ],
)
def test_bad_values_raise_named_errors(change: dict, error: type, match: str) -> None:
    data = {"frequency": [0, 2, 1], "recency": [0, 30.0, 1.0], "T": [38.0, 38.0, 20.0]}
    data.update(change)
    with pytest.raises(error, match=match):
        BetaGeoModel().fit(pd.DataFrame(data))


def test_garbage_inputs() -> None:
    with pytest.raises(SchemaError, match="Expected a table"):
        BetaGeoModel().fit([1, 2, 3])
    with pytest.raises(DataError, match="no rows"):
        BetaGeoModel().fit({"frequency": [], "recency": [], "T": []})
    with pytest.raises(SchemaError, match="different lengths"):
        BetaGeoModel().fit({"frequency": [0, 1], "recency": [0], "T": [1, 2]})


def test_prediction_inputs_are_checked(bgnbd: BetaGeoModel) -> None:
    with pytest.raises(DataError, match="recency larger than T"):
        bgnbd.probability_alive(2, 40.0, 38.0)
    with pytest.raises(DataError, match="t must be finite and >= 0"):
        bgnbd.conditional_expected_purchases(-1, 2, 30.0, 38.0)
    with pytest.raises(DataError, match="matching shapes"):
        bgnbd.probability_alive([1, 2], [1.0, 2.0, 3.0], 38.0)


@pytest.mark.parametrize("kind", ["pandas", "arrow", "dict", "ibis"])
def test_accepts_every_table_kind(
    kind: str, cdnow_summary: pd.DataFrame, bgnbd: BetaGeoModel
) -> None:
    frame = cdnow_summary[["frequency", "recency", "T"]]
    if kind == "arrow":
        data = pa.Table.from_pandas(frame, preserve_index=False)
    elif kind == "dict":
        data = {c: frame[c].to_numpy() for c in frame.columns}
    elif kind == "ibis":
        ibis = pytest.importorskip("ibis")
        data = ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))
    else:
        data = frame
    model = BetaGeoModel().fit(data)
    assert model.params_ == pytest.approx(bgnbd.params_, rel=1e-12)


# ---------------------------------------------------------------------- fitting
@pytest.mark.parametrize("cls", [BetaGeoModel, ParetoNBDModel], ids=lambda c: c.__name__)
def test_weighted_fit_equals_unweighted(
    cls: type, cdnow_summary: pd.DataFrame, fitted: dict[type, CLVModel]
) -> None:
    grouped = (
        cdnow_summary.groupby(["frequency", "recency", "T"]).size().rename("weights").reset_index()
    )
    assert len(grouped) < len(cdnow_summary)
    model = cls().fit(grouped)
    reference = fitted[cls]
    for k, v in reference.params_.items():
        assert model.params_[k] == pytest.approx(v, abs=1e-6)
    assert model.n_customers_ == reference.n_customers_
    assert model.log_likelihood_ == pytest.approx(reference.log_likelihood_, abs=1e-6)


def test_weighted_gamma_gamma_equals_expanded(
    cdnow_monetary: pd.DataFrame, gg: GammaGammaModel
) -> None:
    grouped = (
        cdnow_monetary.groupby(["frequency", "monetary_value"])
        .size()
        .rename("weights")
        .reset_index()
    )
    model = GammaGammaModel().fit(grouped)
    for k, v in gg.params_.items():
        assert model.params_[k] == pytest.approx(v, abs=1e-6)
    assert model.frequency_monetary_corr_ == pytest.approx(gg.frequency_monetary_corr_, abs=1e-12)


@pytest.mark.parametrize(
    ("cls", "fixture"),
    [
        (BetaGeoModel, "cdnow_summary"),
        (GammaGammaModel, "cdnow_monetary"),
        (BetaGeoBetaBinomModel, "donations"),
    ],
)
def test_penalizer_shrinks_parameters(
    cls: type, fixture: str, request: pytest.FixtureRequest, fitted: dict[type, CLVModel]
) -> None:
    """The L2 penalty makes sum(params²) smaller the larger it is (single parameters may
    move either way when they are correlated)."""
    data = request.getfixturevalue(fixture)
    norms = [sum(v**2 for v in fitted[cls].params_.values())]
    for pen in (0.001, 0.1):
        norms.append(sum(v**2 for v in cls(penalizer=pen).fit(data).params_.values()))
    assert norms[0] > norms[1] > norms[2]


def test_penalizer_shrinks_every_bgnbd_parameter(
    cdnow_summary: pd.DataFrame, bgnbd: BetaGeoModel
) -> None:
    # lifetimes' test_penalizer_term_will_shrink_coefs_to_0: penalizer 0 -> 0.1 -> 10.
    base = np.array(list(bgnbd.params_.values()))
    p1 = np.array(list(BetaGeoModel(penalizer=0.1).fit(cdnow_summary).params_.values()))
    p2 = np.array(list(BetaGeoModel(penalizer=10).fit(cdnow_summary).params_.values()))
    assert np.all(p1 < base) and np.all(p2 < p1)


def test_penalizer_shrinks_pareto(cdnow_summary: pd.DataFrame, pnbd: ParetoNBDModel) -> None:
    shrunk = ParetoNBDModel(penalizer=0.01).fit(cdnow_summary)
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in pnbd.params_.values())
    with pytest.raises(ConvergenceError, match="smaller penalizer"):
        ParetoNBDModel(penalizer=0.1).fit(cdnow_summary)


def test_non_convergence_says_what_to_try(cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(ConvergenceError) as info:
        BetaGeoModel(max_iter=1).fit(cdnow_summary)
    msg = str(info.value)
    assert "did not converge" in msg
    assert "penalizer" in msg and "weeks" in msg and "max_iter=2000" in msg


def test_unidentified_model_raises(cdnow_summary: pd.DataFrame) -> None:
    nobody_returns = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": cdnow_summary["T"]})
    with pytest.raises(ConvergenceError, match="0.0% of the 2357 customers made a repeat"):
        BetaGeoModel().fit(nobody_returns)


def test_initial_params_reach_the_same_optimum(
    cdnow_summary: pd.DataFrame, bgnbd: BetaGeoModel
) -> None:
    start = {"r": 2.0, "alpha": 1.0, "a": 3.0, "b": 0.5}
    model = BetaGeoModel(initial_params=start).fit(cdnow_summary)
    for k, v in bgnbd.params_.items():
        assert model.params_[k] == pytest.approx(v, rel=1e-5)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_standard_errors_and_summary(cls: type, fitted: dict[type, CLVModel]) -> None:
    model = fitted[cls]
    table = model.summary()
    assert list(table.index) == list(model.params_)
    assert list(table.columns) == ["estimate", "std_error", "lower_95", "upper_95"]
    assert np.all(table["std_error"] > 0)
    assert np.all((table["lower_95"] < table["estimate"]) & (table["estimate"] < table["upper_95"]))
    cov = model.log_params_covariance_
    npt.assert_allclose(cov, cov.T)
    se = np.array(list(model.params_.values())) * np.sqrt(np.diag(cov))
    npt.assert_allclose(table["std_error"], se)


# ---------------------------------------------------------------------- bootstrap
def test_bootstrap_intervals(bgnbd: BetaGeoModel) -> None:
    args = ([0, 2, 26], [0, 30.43, 30.86], [38.86, 38.86, 31.0])
    out = bgnbd.bootstrap("probability_alive", *args, n_boot=100, random_state=0)
    npt.assert_array_equal(out.estimate, bgnbd.probability_alive(*args))
    assert out.lower.shape == (3,)
    assert np.all(out.lower <= out.estimate + 1e-12) and np.all(out.estimate <= out.upper + 1e-12)
    assert out.lower[0] == out.upper[0] == 1.0  # no repeat purchase: alive for sure
    again = bgnbd.bootstrap("probability_alive", *args, n_boot=100, random_state=0, chunk_size=1)
    npt.assert_allclose(again.lower, out.lower)
    npt.assert_allclose(again.upper, out.upper)
    wide = bgnbd.bootstrap(
        "conditional_expected_purchases", 39, *args, n_boot=100, level=0.99, random_state=0
    )
    narrow = bgnbd.bootstrap(
        "conditional_expected_purchases", 39, *args, n_boot=100, level=0.5, random_state=0
    )
    assert np.all(wide.upper - wide.lower >= narrow.upper - narrow.lower)


def test_bootstrap_rejects_bad_arguments(bgnbd: BetaGeoModel) -> None:
    with pytest.raises(UsageError, match="method must be one of"):
        bgnbd.bootstrap("fit", 1)
    with pytest.raises(UsageError, match="level must be between 0 and 1"):
        bgnbd.bootstrap("expected_purchases", 1.0, level=95)


# ---------------------------------------------------------------------- save / load
@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_save_load_round_trip(cls: type, fitted: dict[type, CLVModel], tmp_path: Path) -> None:
    model = fitted[cls]
    path = model.save(tmp_path / "model.json")
    payload = json.loads(path.read_text())
    assert payload["format"] == "custseg.clv.model/1"
    assert payload["model"] == cls.__name__
    assert payload["params"] == model.params_
    assert payload["n_customers"] == model.n_customers_
    assert set(payload) >= {
        "custseg_version",
        "created",
        "init_params",
        "standard_errors",
        "log_likelihood",
    }
    loaded = cls.load(path)
    assert type(loaded) is cls
    assert loaded.params_ == model.params_
    assert loaded.standard_errors_ == model.standard_errors_
    assert loaded.log_likelihood_ == model.log_likelihood_
    npt.assert_array_equal(loaded.log_params_covariance_, model.log_params_covariance_)
    method, args, kwargs = _predict_args(cls)
    npt.assert_array_equal(
        getattr(loaded, method)(*args, **kwargs), getattr(model, method)(*args, **kwargs)
    )
    assert type(CLVModel.load(path)) is cls  # the base class dispatches on the file
    b1 = model.bootstrap(method, *args, n_boot=20, random_state=1)
    b2 = loaded.bootstrap(method, *args, n_boot=20, random_state=1)
    npt.assert_array_equal(b1.lower, b2.lower)


def test_load_checks_the_file(bgnbd: BetaGeoModel, tmp_path: Path) -> None:
    path = bgnbd.save(tmp_path / "bg.json")
    with pytest.raises(UsageError, match="holds a BetaGeoModel, not a ParetoNBDModel"):
        ParetoNBDModel.load(path)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(SourceReadError, match="Cannot read a CLV model"):
        BetaGeoModel.load(tmp_path / "junk.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(SourceReadError, match="Not a saved custseg CLV model"):
        BetaGeoModel.load(tmp_path / "other.json")
    broken = json.loads(path.read_text())
    del broken["params"]["alpha"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(SourceReadError, match="incomplete or damaged"):
        BetaGeoModel.load(tmp_path / "broken.json")
