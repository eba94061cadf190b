"""The feature build is portable: on Ibis's PySpark backend it equals the DuckDB build.

The demo store (:func:`demo_store`, 3,000 customers, ``customer_features`` materialized
by DuckDB) is loaded into a local Spark session from Parquet files written from its
DuckDB tables (decimals and UTC timestamps kept). The features are built there with the
same code as :func:`custseg.features.materialize` (``build_from_tables`` as of the same
date, a cached copy, then ``add_scores_and_predictions``) and every column of every
customer is compared with the DuckDB table: exactly for integers, strings, dates and
booleans, to ``rel=1e-9`` for floats (transcendental functions and sample standard
deviations may differ in the last bits between the two engines).

The predictive columns come from models fitted in Python on what the engine computed, so
the test also checks that the model inputs are bit-for-bit equal: then the same code fits
the same models and the outputs compare like any other column.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import custseg.features as features
from custseg.workspace import open_workspace

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    # PySpark 4.3 warns on import and on pandas conversions that pandas 3 is not fully
    # supported, and its conversions pass pandas 3's deprecated copy= keyword
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning:pyspark"),
]

#: The canonical tables the features read.
INPUTS = ("customers", "accounts", "orders", "order_lines", "events", "attributes")

#: The CLV model inputs: equal bits on both engines mean the same fitted models.
MODELINPUTS = ("clv_frequency", "clv_recency", "clv_T", "clv_monetary")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local Spark session (2 cores, UTC), or a skip when PySpark or Java is missing."""
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Java is not available (no java on PATH, no JAVA_HOME): PySpark needs Java 17")
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .config("spark.sql.shuffle.partitions", "2")
        # small data, many small queries: planning and code generation dominate, so
        # interpreted expressions and a fixed plan are faster here
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def duckdb_features(demo_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """The canonical tables written to Parquet, and the DuckDB ``customer_features``."""
    out = tmp_path_factory.mktemp("canonical")
    with open_workspace(demo_store) as ws:
        con = ws.connect(read_only=True)
        for name in INPUTS:
            pq.write_table(con.table(name).to_pyarrow(), out / f"{name}.parquet")
        want = con.table("customer_features").to_pyarrow()
        as_of = features.default_as_of(con.table("orders"))
        config = ws.config
    return out, want, as_of, config


@pytest.fixture(scope="module")
def spark_features(spark, duckdb_features):
    """``customer_features`` built on Spark from the same tables, as of the same date."""
    import ibis

    folder, _, as_of, config = duckdb_features
    con = ibis.pyspark.connect(spark)
    tables = {n: con.read_parquet(folder / f"{n}.parquet", table_name=n) for n in INPUTS}
    spark_as_of = features.default_as_of(tables["orders"])
    # what materialize does: the families, a materialized copy, scores and predictions
    base = features.build_from_tables(tables, as_of=as_of, config=config.features).cache()
    full = features.add_scores_and_predictions(base, as_of=as_of, clv=config.clv)
    got = full.to_pyarrow()
    base.release()
    return got, full.schema(), tables, spark_as_of


def _by_customer(t: pa.Table) -> pa.Table:
    return t.sort_by("customer_id")


def test_the_canonical_types_survive_the_trip(duckdb_features, spark_features) -> None:
    _, _, tables, _ = spark_features
    orders = tables["orders"].schema()
    # decimals stay decimals (exact money sums); Ibis sees Spark's TIMESTAMP, an instant
    # shown in the session time zone (UTC), as a timestamp without a zone
    assert orders["total"].is_decimal() and orders["total"].scale == 2
    assert orders["ordered_at"].is_timestamp()
    assert tables["customers"].schema()["birth_date"].is_date()


def test_default_as_of_is_the_same(duckdb_features, spark_features) -> None:
    assert spark_features[3] == duckdb_features[2]


def test_same_customers_and_columns(duckdb_features, spark_features) -> None:
    want, got = _by_customer(duckdb_features[1]), _by_customer(spark_features[0])
    assert got.column_names == want.column_names
    assert len(want.column_names) >= 100
    assert got.column("customer_id").to_pylist() == want.column("customer_id").to_pylist()
    # the store has prospects, buyers and many RFM groups: the comparison is not vacuous
    groups = set(want.column("rfm_group").to_pylist())
    assert {"Prospects", "Champions", "Lost"} <= groups and len(groups) >= 8


def test_same_types(duckdb_features, spark_features) -> None:
    want = duckdb_features[1].schema
    got = spark_features[0].schema
    for field in want:
        other = got.field(field.name).type
        if pa.types.is_timestamp(field.type):  # UTC instant vs naive UTC (see above)
            assert pa.types.is_timestamp(other) and field.type.tz == "UTC", field.name
        else:
            assert other == field.type, field.name


def test_model_inputs_are_bit_for_bit_equal(duckdb_features, spark_features) -> None:
    want, got = _by_customer(duckdb_features[1]), _by_customer(spark_features[0])
    for name in MODELINPUTS:
        assert got.column(name).equals(want.column(name)), name
    # and the models had something to fit: repeat buyers with a monetary value
    assert pc.sum(pc.greater(want.column("clv_monetary"), 0)).as_py() > 100


def test_every_column_equal(duckdb_features, spark_features) -> None:
    want, got = _by_customer(duckdb_features[1]), _by_customer(spark_features[0])
    compared = []
    for name in want.column_names:
        a, b = want.column(name), got.column(name)
        if pa.types.is_timestamp(a.type):
            # both are UTC: compare the instants
            b = pc.assume_timezone(b, "UTC")
        assert a.null_count == b.null_count, name
        if pa.types.is_floating(a.type):
            x = a.to_numpy(zero_copy_only=False)
            y = b.to_numpy(zero_copy_only=False)
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=0, equal_nan=True, err_msg=name)
        else:
            same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(a.is_null(), b.is_null()))
            diff = pc.invert(same)
            bad = pc.sum(diff.cast(pa.int64())).as_py() or 0
            if bad:
                i = pc.index(diff, True).as_py()
                pytest.fail(f"{name}: {bad} customers differ, e.g. duckdb {a[i]} vs spark {b[i]}")
        compared.append(name)
    assert compared == want.column_names
    # the predictive columns were computed (not all null) on both engines
    assert want.column("p_alive").null_count < want.num_rows
