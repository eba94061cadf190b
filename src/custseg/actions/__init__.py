"""Actions (``custseg.actions``): what to do with customers once they are segmented.

* :mod:`~custseg.actions.recommend`: per-customer product recommendations (co-occurrence,
  segment lift and browsing affinity), their time-split evaluation against popularity.
* :mod:`~custseg.actions.playbooks`: actions per segment ranked by expected value.
* :mod:`~custseg.actions.shipping`: shipping tiers, fulfilment radius, packaging flags.
* :mod:`~custseg.actions.exports`: segment files with destination presets and privacy rules.
* :mod:`~custseg.actions.webhooks`: signed batches of entered/exited members.

See ``docs/actions.md`` and ``docs/recommendations.md``.
"""

from __future__ import annotations

from custseg.actions.recommend import (
    Recommender,
    RecommenderConfig,
    evaluate_time_split,
    popularity_baseline,
)

__all__ = [
    "Recommender",
    "RecommenderConfig",
    "evaluate_time_split",
    "popularity_baseline",
]
