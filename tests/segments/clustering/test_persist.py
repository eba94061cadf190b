"""Saving to JSON and loading back: identical assignments, nothing pickled."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import pytest

from custseg.exceptions import SourceReadError, UsageError
from custseg.segments.clustering import (
    SAVE_FORMAT,
    BaseSegmenter,
    FeatureSet,
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
    load_segmenter,
)

from .conftest import BLOB_FEATURES

CASES = [
    (KMeansSegmenter, BLOB_FEATURES, {}),
    (KMeansSegmenter, FeatureSet(numeric=tuple(BLOB_FEATURES), categorical=("main_device",)), {}),
    (GaussianMixtureSegmenter, BLOB_FEATURES, {"covariance_type": "full"}),
    (KPrototypesSegmenter, [*BLOB_FEATURES, "main_device"], {}),
]


def _assigned(seg: BaseSegmenter, table: ibis.Table) -> pd.DataFrame:
    return seg.assign(table).execute().sort_values("customer_id").reset_index(drop=True)


@pytest.mark.parametrize(("cls", "features", "extra"), CASES)
def test_round_trip_gives_identical_assignments(
    cls,
    features,
    extra,
    blobs_table: ibis.Table,
    tmp_path: Path,
) -> None:
    seg = cls(features, k=4, n_bootstrap=2, **extra).fit(blobs_table)
    d = seg.to_dict()
    text = json.dumps(d, allow_nan=False)  # plain JSON
    assert d["format"] == SAVE_FORMAT and d["class"] == cls.__name__
    again = load_segmenter(json.loads(text))
    pd.testing.assert_frame_equal(_assigned(again, blobs_table), _assigned(seg, blobs_table))
    path = seg.save(tmp_path / "seg.json")
    from_file = load_segmenter(path)
    pd.testing.assert_frame_equal(_assigned(from_file, blobs_table), _assigned(seg, blobs_table))
    assert type(from_file) is cls
    assert from_file.names_ == seg.names_ and from_file.rules_ == seg.rules_
    assert from_file.k_curve_ == seg.k_curve_ and from_file.stability_ == seg.stability_
    assert from_file.k_criterion_ == seg.k_criterion_ and from_file.k_ == seg.k_
    assert from_file.get_params() == seg.get_params()
    pd.testing.assert_frame_equal(from_file.profile_, seg.profile_, check_dtype=False)
    assert from_file.to_dict() == d


def test_custom_population_must_be_given_again(blobs_table: ibis.Table) -> None:
    pop = ibis._.number_of_orders >= 2
    seg = KMeansSegmenter(BLOB_FEATURES, k=2, n_bootstrap=0, population=pop).fit(blobs_table)
    d = seg.to_dict()
    assert d["params"]["population"] == "custom"
    with pytest.raises(UsageError, match="custom population"):
        load_segmenter(d).assign(blobs_table)
    again = load_segmenter(d, population=pop)
    pd.testing.assert_frame_equal(_assigned(again, blobs_table), _assigned(seg, blobs_table))


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceReadError, match="Cannot read"):
        load_segmenter(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SourceReadError, match="expected format"):
        load_segmenter(tmp_path / "x.json")
    with pytest.raises(SourceReadError, match="Unknown segmenter class"):
        load_segmenter({"format": SAVE_FORMAT, "class": "Nope"})
    with pytest.raises(SourceReadError, match="damaged"):
        load_segmenter({"format": SAVE_FORMAT, "class": "KMeansSegmenter", "params": {}})
