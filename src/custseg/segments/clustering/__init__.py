"""Explainable clustering of customers (``custseg.segments.clustering``).

Estimators in the scikit-learn style: :class:`KMeansSegmenter`,
:class:`GaussianMixtureSegmenter` and :class:`KPrototypesSegmenter` (mixed numeric and
text features). Each one:

* picks its columns by family or by name (:class:`FeatureSet`) and transforms them
  (median imputation, ``log1p`` for skewed non-negative columns, robust scaling, one-hot);
* fits on a reproducible sample drawn in the engine (default 200,000 customers),
  choosing k over a range (silhouette for k-means and k-prototypes, BIC for mixtures)
  and reporting the curve;
* measures stability by bootstrap refits (mean pairwise adjusted Rand index) and warns
  below 0.6 (:class:`UnstableClusteringWarning`);
* names each cluster from its most distinguishing features ("High spend · Frequent");
* explains each cluster by a segment-language rule with its precision and recall
  (:class:`ClusterRule`);
* assigns every customer in the engine with :meth:`~KMeansSegmenter.assign`, an Ibis
  expression (the argmin of distances), and saves to plain JSON
  (:meth:`~KMeansSegmenter.save`, :func:`load_segmenter`).

See ``docs/clustering.md``.

Examples
--------
>>> from custseg.segments.clustering import KMeansSegmenter
>>> seg = KMeansSegmenter("behavior").fit(features)  # doctest: +SKIP
>>> seg.k_, seg.stability_, seg.names_  # doctest: +SKIP
>>> seg.assign(features).execute()  # doctest: +SKIP
"""

from __future__ import annotations

from custseg.segments.clustering._base import (
    STABILITY_WARN_BELOW,
    BaseSegmenter,
    UnstableClusteringWarning,
)
from custseg.segments.clustering._estimators import (
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
)
from custseg.segments.clustering._explain import ClusterRule
from custseg.segments.clustering._featureset import BEHAVIOR_DEFAULT, FeatureSet
from custseg.segments.clustering._persist import SAVE_FORMAT, load_segmenter

__all__ = [
    "BEHAVIOR_DEFAULT",
    "BaseSegmenter",
    "ClusterRule",
    "FeatureSet",
    "GaussianMixtureSegmenter",
    "KMeansSegmenter",
    "KPrototypesSegmenter",
    "SAVE_FORMAT",
    "STABILITY_WARN_BELOW",
    "UnstableClusteringWarning",
    "load_segmenter",
]
