"""The public surface of custseg.segments.clustering."""

from __future__ import annotations

import custseg.segments.clustering as clustering


def test_all_is_sorted_unique_and_importable() -> None:
    names = clustering.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for n in names:
        assert getattr(clustering, n) is not None


def test_required_api_is_public() -> None:
    required = {
        "KMeansSegmenter",
        "GaussianMixtureSegmenter",
        "KPrototypesSegmenter",
        "FeatureSet",
        "ClusterRule",
        "load_segmenter",
    }
    assert required <= set(clustering.__all__)
