"""What a segment profile holds: :class:`SegmentProfile`, its rows, its JSON, and :func:`compare`.

A profile is plain data (frozen dataclasses of numbers and strings) computed by
:func:`custseg.profiles.profile_segments`. :meth:`SegmentProfile.to_dict` gives the JSON
form that the report, the dashboard and the API share (documented in
``docs/profiles.md``); :meth:`SegmentProfile.from_dict` reads it back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from custseg.exceptions import UsageError

__all__ = [
    "ITEM_KINDS",
    "PROFILE_VERSION",
    "CategoryShare",
    "ClvHistogram",
    "Distinction",
    "Distribution",
    "FeatureStat",
    "HistogramBin",
    "ItemLift",
    "SegmentProfile",
    "TopItems",
    "as_profile",
    "as_profiles",
    "compare",
]

#: Version of the JSON shape of :meth:`SegmentProfile.to_dict` (``"version"`` key).
PROFILE_VERSION = 1


@dataclass(frozen=True)
class FeatureStat:
    """One numeric feature in a segment against the population.

    Means and medians are over the customers with a value (nulls are skipped); the
    counts say how many that is. ``lift = segment_mean / population_mean`` (None when
    the population mean is 0 or null); ``std_diff = (segment_mean - population_mean) /
    population_std`` (sample std; None when it is 0 or null).
    """

    feature: str
    family: str
    segment_mean: float | None
    segment_median: float | None
    segment_count: int
    population_mean: float | None
    population_median: float | None
    population_std: float | None
    population_count: int
    lift: float | None
    std_diff: float | None


@dataclass(frozen=True)
class CategoryShare:
    """One value of a categorical feature: counts and shares of all members / customers.

    ``value`` is None for customers without a value (missing), or for the ``other`` row
    of a :class:`Distribution`. ``lift = segment_share / population_share``.
    """

    value: str | None
    segment_count: int
    segment_share: float | None
    population_count: int
    population_share: float | None
    lift: float | None


@dataclass(frozen=True)
class Distribution:
    """How a categorical feature is spread in the segment and in the population.

    ``rows`` lists every value with a population share of at least the minimum share,
    every value among the segment's ``top_n`` most common, every known age band and RFM
    group, and the missing value (None) when there is one; ``other`` sums the values not
    listed (None when there are none).
    Shares are of all members (or all customers), missing included.
    """

    feature: str
    family: str
    rows: tuple[CategoryShare, ...]
    other: CategoryShare | None = None

    def row(self, value: str | None) -> CategoryShare | None:
        """The row of ``value`` (None: the missing value), or None if it is not listed."""
        for r in self.rows:
            if r.value == value:
                return r
        return None


@dataclass(frozen=True)
class Distinction:
    """One of the features that most set the segment apart from the population.

    For a numeric feature, ``segment_value``/``population_value`` are the means and
    ``std_diff`` is the standardized difference of means. For a categorical feature,
    ``category`` is its value with the largest lift (among values held by at least the
    minimum share of the population), the values are that value's shares, and
    ``std_diff = (s - p) / sqrt(p (1 - p))``, the standardized difference of the 0/1
    indicator of the value. ``score = |std_diff|`` ranks both kinds together.
    """

    rank: int
    feature: str
    family: str
    kind: str
    category: str | None
    score: float
    std_diff: float
    lift: float | None
    segment_value: float | None
    population_value: float | None

    @property
    def key(self) -> str:
        """``feature`` for a numeric feature, ``"feature = category"`` for a categorical one."""
        return self.feature if self.category is None else f"{self.feature} = {self.category}"

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"`` than the population."""
        return "higher" if self.std_diff >= 0 else "lower"


@dataclass(frozen=True)
class ItemLift:
    """A category, product or brand bought by the segment, with its lift.

    Shares are of the units bought (positive line quantities of counted orders) by the
    segment and by the population; ``lift = segment_share / population_share``.
    """

    key: str
    label: str
    segment_units: int
    segment_share: float
    population_units: int
    population_share: float
    lift: float


@dataclass(frozen=True)
class TopItems:
    """The top categories, products and brands of a segment by lift, with the unit totals."""

    segment_units: int
    population_units: int
    categories: tuple[ItemLift, ...] = ()
    products: tuple[ItemLift, ...] = ()
    brands: tuple[ItemLift, ...] = ()

    def of(self, kind: str) -> tuple[ItemLift, ...]:
        """The rows of ``kind``: ``"categories"``, ``"products"`` or ``"brands"``."""
        if kind not in ITEM_KINDS:
            raise UsageError(f"item kinds are {list(ITEM_KINDS)}, got: {kind!r}")
        return getattr(self, kind)


#: The kinds of :class:`TopItems`, in report order.
ITEM_KINDS: tuple[str, ...] = ("categories", "products", "brands")


@dataclass(frozen=True)
class HistogramBin:
    """One bin ``(low, high]`` of the CLV histogram; shares are of customers with a value."""

    low: float | None
    high: float | None
    segment_count: int
    segment_share: float | None
    population_count: int
    population_share: float | None


@dataclass(frozen=True)
class ClvHistogram:
    """The predicted CLV of the segment and the population over fixed population bins.

    The bin edges are the population deciles of ``column`` (duplicates merged); the first
    bin starts at the population minimum and the last ends at its maximum. Customers
    without a prediction are counted in ``segment_missing`` / ``population_missing``.
    """

    column: str
    bins: tuple[HistogramBin, ...]
    segment_missing: int
    population_missing: int


@dataclass(frozen=True)
class SegmentProfile:
    """The profile of one segment against the population (every customer in the features).

    Build it with :func:`custseg.profiles.profile_segments`; turn it into JSON with
    :meth:`to_dict`. ``share_of_*`` are the segment's part of the population totals:
    members, ``amount_spent`` and the predicted CLV column ``clv_column``.

    Attributes
    ----------
    features : tuple of FeatureStat
        Every numeric feature, in the column order of the features table.
    distinguishing : tuple of Distinction
        The features that most set the segment apart, best first (8 by default).
    distributions : dict of str to Distribution
        Every categorical feature profiled (country, region, main_device, main_channel,
        age_band, attr_*, rfm_group, ...), by column name.
    items : TopItems or None
        Top categories, products and brands; None without orders and order lines.
    clv_histogram : ClvHistogram or None
        None without a ``clv_<h>d`` column.
    """

    name: str
    size: int
    population_size: int
    share_of_customers: float | None
    revenue: float | None
    population_revenue: float | None
    share_of_revenue: float | None
    clv_column: str | None
    clv: float | None
    population_clv: float | None
    share_of_clv: float | None
    as_of: str | None
    features: tuple[FeatureStat, ...] = ()
    distinguishing: tuple[Distinction, ...] = ()
    distributions: dict[str, Distribution] = field(default_factory=dict)
    items: TopItems | None = None
    clv_histogram: ClvHistogram | None = None

    def feature(self, name: str) -> FeatureStat:
        """The statistics of numeric feature ``name``.

        Raises
        ------
        UsageError
            If the feature was not profiled (the message lists those that were).
        """
        for f in self.features:
            if f.feature == name:
                return f
        known = ", ".join(f.feature for f in self.features) or "none"
        raise UsageError(f"no numeric feature {name!r} in profile {self.name!r}; it has: {known}")

    def distribution(self, name: str) -> Distribution | None:
        """The distribution of categorical feature ``name``, or None if it was not profiled."""
        return self.distributions.get(name)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-able data: dicts, lists, str, int, float and None only.

        NaN and infinities become None. Keys follow the field order; the shape is
        documented in ``docs/profiles.md`` and versioned by ``"version"``.
        """
        out: dict[str, Any] = {"version": PROFILE_VERSION}
        out.update(_jsonable(self))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentProfile:
        """Read a profile back from :meth:`to_dict` output.

        Raises
        ------
        UsageError
            If ``data`` is not a profile of a known version.
        """
        if not isinstance(data, Mapping) or "name" not in data or "size" not in data:
            raise UsageError(
                "expected a profile dict from SegmentProfile.to_dict() (with 'name' and "
                f"'size'), got {type(data).__name__}"
            )
        version = data.get("version", PROFILE_VERSION)
        if version != PROFILE_VERSION:
            raise UsageError(
                f"profile JSON version {version!r} is not supported; this custseg reads "
                f"version {PROFILE_VERSION}. Recompute the profile."
            )
        kw = {f.name: data.get(f.name) for f in fields(cls)}
        kw["features"] = tuple(FeatureStat(**r) for r in data.get("features") or ())
        kw["distinguishing"] = tuple(Distinction(**r) for r in data.get("distinguishing") or ())
        kw["distributions"] = {
            k: _distribution_from(v) for k, v in (data.get("distributions") or {}).items()
        }
        items = data.get("items")
        kw["items"] = (
            None
            if items is None
            else TopItems(
                segment_units=items["segment_units"],
                population_units=items["population_units"],
                **{k: tuple(ItemLift(**r) for r in items.get(k) or ()) for k in ITEM_KINDS},
            )
        )
        hist = data.get("clv_histogram")
        kw["clv_histogram"] = (
            None
            if hist is None
            else ClvHistogram(
                column=hist["column"],
                bins=tuple(HistogramBin(**b) for b in hist["bins"]),
                segment_missing=hist["segment_missing"],
                population_missing=hist["population_missing"],
            )
        )
        return cls(**kw)


def _distribution_from(d: Mapping[str, Any]) -> Distribution:
    other = d.get("other")
    return Distribution(
        feature=d["feature"],
        family=d["family"],
        rows=tuple(CategoryShare(**r) for r in d["rows"]),
        other=None if other is None else CategoryShare(**other),
    )


def _jsonable(obj: Any) -> Any:
    """Dataclasses, tuples and dicts to dicts/lists; NaN/inf to None; numpy scalars to Python."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalar
        return _jsonable(obj.item())
    return str(obj)


def as_profile(obj: SegmentProfile | Mapping[str, Any]) -> SegmentProfile:
    """``obj`` itself, or the profile read from its :meth:`~SegmentProfile.to_dict` form."""
    if isinstance(obj, SegmentProfile):
        return obj
    if isinstance(obj, Mapping):
        return SegmentProfile.from_dict(obj)
    raise UsageError(
        f"expected a SegmentProfile or its to_dict() form, got {type(obj).__name__}; "
        "build profiles with custseg.profiles.profile_segments(...)"
    )


def as_profiles(
    profiles: Mapping[str, SegmentProfile | Mapping[str, Any]]
    | Iterable[SegmentProfile | Mapping[str, Any]]
    | SegmentProfile,
) -> list[SegmentProfile]:
    """A list of profiles from a dict of profiles, a sequence, or a single profile."""
    if isinstance(profiles, SegmentProfile):
        return [profiles]
    if isinstance(profiles, Mapping):
        if isinstance(profiles.get("name"), str):  # a single profile's to_dict() form
            return [as_profile(profiles)]
        return [as_profile(p) for p in profiles.values()]
    return [as_profile(p) for p in profiles]


def _numeric_cell(
    p: SegmentProfile, feature: str
) -> tuple[float | None, float | None, float | None]:
    """(lift, std_diff, segment mean) of a numeric feature, Nones when not profiled."""
    for f in p.features:
        if f.feature == feature:
            return f.lift, f.std_diff, f.segment_mean
    return None, None, None


def _category_cell(
    p: SegmentProfile, feature: str, category: str
) -> tuple[float | None, float | None, float | None]:
    """(lift, std_diff, segment share) of one value of a categorical feature."""
    dist = p.distributions.get(feature)
    row = dist.row(category) if dist is not None else None
    if row is None or row.population_share is None or row.segment_share is None:
        return None, None, None
    pp = row.population_share
    sd = None if pp <= 0 or pp >= 1 else (row.segment_share - pp) / math.sqrt(pp * (1 - pp))
    return row.lift, sd, row.segment_share


def compare(
    profiles: Mapping[str, SegmentProfile | Mapping[str, Any]] | Sequence[SegmentProfile],
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Several segments side by side: size and shares, and the union of their top features.

    Parameters
    ----------
    profiles
        Profiles by name (from :func:`~custseg.profiles.profile_segments`), a sequence of
        profiles, or their :meth:`~SegmentProfile.to_dict` forms.
    names
        The segments to compare, in this order; default all, in the given order.

    Returns
    -------
    dict
        JSON-able: ``segments`` (names), ``summary`` (one dict per segment: ``name``,
        ``size``, ``share_of_customers``, ``share_of_revenue``, ``share_of_clv``),
        ``features`` (the union of the segments' distinguishing features, each a dict with
        ``key``, ``feature``, ``category``, ``kind``, ``family``, ordered by their best score
        across segments), and the matrices ``lift``, ``std_diff`` and ``value`` (one row per
        feature, one column per segment; None where a value is unknown). For a categorical
        feature the cells describe its listed category in each segment.

    Raises
    ------
    UsageError
        A name is not among the profiles, or there is nothing to compare.
    """
    by_name = {p.name: p for p in as_profiles(profiles)}
    if names is None:
        chosen = list(by_name.values())
    else:
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise UsageError(
                f"unknown segment(s) {unknown}; the profiles are: {', '.join(map(repr, by_name))}"
            )
        chosen = [by_name[n] for n in names]
    if not chosen:
        raise UsageError("compare needs at least one profile; got none")

    best: dict[str, tuple[float, Distinction]] = {}
    for p in chosen:
        for d in p.distinguishing:
            if d.key not in best or d.score > best[d.key][0]:
                best[d.key] = (d.score, d)
    ordered = sorted(best.values(), key=lambda sd: (-sd[0], sd[1].key))
    feats = [d for _, d in ordered]

    lift, std_diff, value = [], [], []
    for d in feats:
        cells = [
            _numeric_cell(p, d.feature)
            if d.category is None
            else _category_cell(p, d.feature, d.category)
            for p in chosen
        ]
        lift.append([c[0] for c in cells])
        std_diff.append([c[1] for c in cells])
        value.append([c[2] for c in cells])
    return _jsonable(
        {
            "segments": [p.name for p in chosen],
            "summary": [
                {
                    "name": p.name,
                    "size": p.size,
                    "share_of_customers": p.share_of_customers,
                    "share_of_revenue": p.share_of_revenue,
                    "share_of_clv": p.share_of_clv,
                }
                for p in chosen
            ],
            "features": [
                {
                    "key": d.key,
                    "feature": d.feature,
                    "category": d.category,
                    "kind": d.kind,
                    "family": d.family,
                }
                for d in feats
            ],
            "lift": lift,
            "std_diff": std_diff,
            "value": value,
        }
    )
