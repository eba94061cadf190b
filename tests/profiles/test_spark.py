"""The profile queries are portable: the tiny store profiled on PySpark equals DuckDB."""

from __future__ import annotations

import os
import shutil
import warnings

import ibis
import pytest

from custseg.profiles import profile_segments
from tests.profiles.conftest import tiny_tables

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark_con(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
        pyspark_sql = pytest.importorskip("pyspark.sql")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("PySpark needs Java (java on PATH or JAVA_HOME); none found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        spark = (
            pyspark_sql.SparkSession.builder.master("local[2]")
            .appName("custseg-profiles-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(spark)
    spark.stop()


def _to_spark(con, duck: dict[str, ibis.Table]) -> dict[str, ibis.Table]:
    out = {}
    for name, t in duck.items():
        # only the columns profiles read (Ibis cannot send null decimals to Spark)
        if name == "orders":
            t = t.select(
                "order_id", "customer_id", "ordered_at", "status", "total", refunded=t.total * 0
            )
        if name == "order_lines":
            t = t.select("order_id", "sku", "product_name", "category", "brand", "quantity")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            out[name] = con.create_table(f"profiles_{name}", t.to_pyarrow(), overwrite=True)
    return out


def _same(x, y, path="") -> None:
    if isinstance(x, dict):
        assert list(x) == list(y), path
        for k in x:
            _same(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _same(u, v, f"{path}[{i}]")
    elif isinstance(x, float):
        assert y == pytest.approx(x, rel=1e-12, abs=1e-12), path
    else:
        assert x == y, path


def test_profiles_on_pyspark_equal_duckdb(spark_con):
    duck = tiny_tables()
    spark = _to_spark(spark_con, duck)
    kw = {"as_of": None, "top_n": 10}
    expected = profile_segments(
        duck["features"],
        duck["memberships"],
        orders=duck["orders"],
        order_lines=duck["order_lines"],
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        got = profile_segments(
            spark["features"],
            spark["memberships"],
            orders=spark["orders"],
            order_lines=spark["order_lines"],
            **kw,
        )
    assert list(got) == list(expected) == ["B", "A"]
    for name in expected:
        _same(expected[name].to_dict(), got[name].to_dict(), name)
    assert got["A"].items.categories[0].key == "shoes"  # not empty: items ran on Spark
