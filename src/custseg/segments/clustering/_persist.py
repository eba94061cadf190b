"""Saving and loading segmenters as plain JSON (never a pickle).

The layout is documented in ``docs/clustering.md``: ``format``, ``class``, ``params``
(constructor parameters; ``population`` is ``"default"`` or ``"custom"``), ``features``,
``transform`` (every constant), ``model`` (centers, or weights/means/precision factors,
or prototypes), ``k``, ``k_criterion``, ``k_curve``, ``stability``, ``names``, ``rules``,
``profile``, ``integer_columns``. The sample's labels are not saved.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.exceptions import SourceReadError
from custseg.segments.clustering._base import BaseSegmenter
from custseg.segments.clustering._estimators import (
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
)
from custseg.segments.clustering._explain import ClusterRule
from custseg.segments.clustering._featureset import FeatureSet
from custseg.segments.clustering._models import model_from_dict
from custseg.segments.clustering._transform import FittedTransform

__all__ = ["SAVE_FORMAT", "load_segmenter", "save_dict", "segmenter_to_dict"]

#: The ``format`` field; bump it when the layout changes.
SAVE_FORMAT = "custseg.clustering.segmenter/1"

_CLASSES: dict[str, type[BaseSegmenter]] = {
    c.__name__: c for c in (KMeansSegmenter, GaussianMixtureSegmenter, KPrototypesSegmenter)
}


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _plain(v: Any) -> Any:
    """numpy scalars and NaN to JSON values."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return _num(v)
    return v


def segmenter_to_dict(seg: BaseSegmenter) -> dict[str, Any]:
    """The fitted segmenter as a JSON-ready dict."""
    params = seg.get_params()
    params["population"] = "default" if seg.population is None else "custom"
    if isinstance(params.get("features"), FeatureSet):
        params["features"] = {"feature_set": params["features"].to_dict()}
    elif not isinstance(params.get("features"), str):
        params["features"] = list(params["features"])
    params["k_range"] = list(params["k_range"])
    profile = seg.profile_.reset_index()
    return {
        "format": SAVE_FORMAT,
        "class": type(seg).__name__,
        "params": {k: _plain(v) for k, v in params.items()},
        "features": seg.feature_set_.to_dict(),
        "integer_columns": sorted(seg.integer_columns_),
        "transform": seg.transform_.to_dict(),
        "model": seg.model_.to_dict(),
        "k": int(seg.k_),
        "k_criterion": seg.k_criterion_,
        "k_curve": [[int(k), _num(s)] for k, s in seg.k_curve_],
        "stability": _num(seg.stability_),
        "names": {str(c): n for c, n in seg.names_.items()},
        "rules": {
            str(c): {
                "rule": r.rule,
                "precision": float(r.precision),
                "recall": float(r.recall),
                "support": int(r.support),
            }
            for c, r in seg.rules_.items()
        },
        "profile": [{k: _plain(v) for k, v in row.items()} for row in profile.to_dict("records")],
    }


def save_dict(payload: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``payload`` as JSON, atomically (a temporary file then a rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_segmenter(
    source: Mapping[str, Any] | str | Path, *, population: Any = None
) -> BaseSegmenter:
    """Rebuild a fitted segmenter from :meth:`~BaseSegmenter.to_dict` output or a saved file.

    Parameters
    ----------
    source
        The dict, or the path of a file written by :meth:`~BaseSegmenter.save`.
    population
        The population expression, needed when the segmenter was fitted on a custom one
        (it is not saved); ``None`` keeps the default population.

    Returns
    -------
    BaseSegmenter
        A segmenter that can :meth:`~BaseSegmenter.assign`; ``labels_`` and
        ``sample_ids_`` are not restored.

    Raises
    ------
    SourceReadError
        The file cannot be read or is not a saved segmenter.
    """
    if isinstance(source, str | Path):
        try:
            payload = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SourceReadError(f"Cannot read a segmenter from {str(source)!r}: {e}.") from None
    else:
        payload = source
    if not isinstance(payload, Mapping) or payload.get("format") != SAVE_FORMAT:
        found = payload.get("format") if isinstance(payload, Mapping) else type(payload).__name__
        raise SourceReadError(
            f"Not a saved custseg segmenter: expected format {SAVE_FORMAT!r}, got {found!r}."
        )
    cls = _CLASSES.get(str(payload.get("class")))
    if cls is None:
        raise SourceReadError(
            f"Unknown segmenter class {payload.get('class')!r}; known: {sorted(_CLASSES)}."
        )
    try:
        return _rebuild(cls, payload, population)
    except (KeyError, TypeError, ValueError) as e:
        raise SourceReadError(f"The saved segmenter is incomplete or damaged: {e!r}.") from None


def _rebuild(cls: type[BaseSegmenter], payload: Mapping[str, Any], population: Any) -> Any:
    params = dict(payload["params"])
    kind = params.pop("population", "default")
    features = params.get("features")
    if isinstance(features, Mapping):
        params["features"] = FeatureSet.from_dict(features["feature_set"])
    params["k_range"] = tuple(params["k_range"])
    seg = cls(**params, population=population)
    seg.feature_set_ = FeatureSet.from_dict(payload["features"])
    seg.integer_columns_ = frozenset(payload.get("integer_columns", ()))
    seg.transform_ = FittedTransform.from_dict(payload["transform"])
    seg.model_ = model_from_dict(payload["model"])
    seg.estimator_ = None
    seg.k_ = int(payload["k"])
    seg.k_criterion_ = str(payload["k_criterion"])
    seg.k_curve_ = [(int(k), math.nan if s is None else float(s)) for k, s in payload["k_curve"]]
    stab = payload.get("stability")
    seg.stability_ = None if stab is None else float(stab)
    seg.names_ = {int(c): str(n) for c, n in payload["names"].items()}
    seg.rules_ = {
        int(c): ClusterRule(
            rule=str(r["rule"]),
            precision=float(r["precision"]),
            recall=float(r["recall"]),
            support=int(r["support"]),
        )
        for c, r in payload["rules"].items()
    }
    seg.profile_ = pd.DataFrame(payload["profile"]).set_index("cluster")
    seg.population_kind_ = kind
    return seg
