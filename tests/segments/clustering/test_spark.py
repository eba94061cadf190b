"""The engine assignment runs on PySpark and equals DuckDB's (needs Java)."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator

import ibis
import pandas as pd
import pytest

from custseg.segments.clustering import (
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
)

from .conftest import BLOB_FEATURES, make_blobs

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark_con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ibis.BaseBackend]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
        pyspark_sql = pytest.importorskip("pyspark.sql")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("PySpark needs Java (java on PATH or JAVA_HOME); none found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        spark = (
            pyspark_sql.SparkSession.builder.master("local[2]")
            .appName("custseg-clustering-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(spark)
    spark.stop()


def test_spark_assignment_equals_duckdb(spark_con: ibis.BaseBackend) -> None:
    blobs = make_blobs().drop(columns="truth")
    duck = ibis.memtable(blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        spark_t = spark_con.create_table("clustering_blobs", duck.to_pyarrow(), overwrite=True)
    segs = [
        KMeansSegmenter([*BLOB_FEATURES, "main_device"], n_bootstrap=0),
        GaussianMixtureSegmenter(BLOB_FEATURES, k=3, n_bootstrap=0, covariance_type="full"),
        KPrototypesSegmenter([*BLOB_FEATURES, "main_device"], k=4, n_bootstrap=0),
    ]
    for seg in segs:
        seg.fit(duck)
        want = seg.assign(duck).execute().sort_values("customer_id", ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            got = seg.assign(spark_t).execute().sort_values("customer_id", ignore_index=True)
        pd.testing.assert_frame_equal(
            got[["customer_id", "cluster", "cluster_name"]],
            want[["customer_id", "cluster", "cluster_name"]],
            check_dtype=False,
        )
        pd.testing.assert_series_equal(got.distance, want.distance, check_exact=False)


def test_spark_sample_is_reproducible(spark_con: ibis.BaseBackend) -> None:
    blobs = make_blobs().drop(columns="truth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        t = spark_con.create_table(
            "clustering_blobs2", ibis.memtable(blobs).to_pyarrow(), overwrite=True
        )
        a = KMeansSegmenter(BLOB_FEATURES, k=4, sample_size=60, n_bootstrap=0).fit(t)
        b = KMeansSegmenter(BLOB_FEATURES, k=4, sample_size=60, n_bootstrap=0).fit(t)
    assert list(a.sample_ids_) == list(b.sample_ids_) and len(a.sample_ids_) == 60
