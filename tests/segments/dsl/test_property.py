"""Random rules, valid and broken: the compiler errors cleanly or gives a runnable filter."""

from __future__ import annotations

import ibis
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from custseg.segments.dsl import FUNCTIONS, RuleContext, RuleError, compile_rule, field_types

from ._store import AS_OF, features_table, raw_tables


@pytest.fixture(scope="module")
def db_ctx() -> RuleContext:
    """The tiny store in one DuckDB backend (so each example is one cheap query)."""
    con = ibis.duckdb.connect()
    con.create_table("customer_features", features_table().to_pyarrow())
    raw = raw_tables()
    for name, t in raw.items():
        con.create_table(name, t.to_pyarrow())
    return RuleContext(
        features=con.table("customer_features"),
        as_of=AS_OF,
        **{name: con.table(name) for name in raw},
    )


FIELDS = [*field_types(RuleContext(features=features_table(), as_of=AS_OF)), "nope", "AND"]
ARGS = sorted({a.name for f in FUNCTIONS.values() for a in f.args}) + ["colour"]

values = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.text(max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.dates().map(str),
    st.sampled_from(
        ["-7d", "+2w", "-3m", "-1y", "today", "true", "FALSE", "-99999y", "2025-02-30", "null"]
    ),
)
ops = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "==", "<>"])
fields = st.sampled_from(FIELDS)


def _join(items: list[str]) -> str:
    return ", ".join(items)


comparison = st.builds(lambda f, o, v: f"{f} {o} {v}", fields, ops, values)
between = st.builds(lambda f, a, b: f"{f} BETWEEN {a} AND {b}", fields, values, values)
in_list = st.builds(lambda f, vs: f"{f} IN ({_join(vs)})", fields, st.lists(values, max_size=3))
contains = st.builds(lambda f, v: f"{f} CONTAINS {v}", fields, values)
is_null = st.builds(lambda f, neg: f"{f} IS {'NOT ' if neg else ''}NULL", fields, st.booleans())
arg = st.one_of(
    st.builds(lambda a, o, v: f"{a} {o} {v}", st.sampled_from(ARGS), ops, values),
    st.builds(
        lambda a, vs: f"{a} IN ({_join(vs)})", st.sampled_from(ARGS), st.lists(values, max_size=2)
    ),
)
names = st.sampled_from([*FUNCTIONS, "amount_spent", "frobnicate"])
call = st.one_of(
    st.builds(lambda f, a: f"{f} MATCHES ({_join(a)})", names, st.lists(arg, max_size=4)),
    st.builds(lambda f, a: f"{f}({_join(a)})", names, st.lists(arg, max_size=4)),
    st.builds(
        lambda lat, lon, km: f"within_distance(lat = {lat}, lon = {lon}, km = {km})",
        st.floats(-90, 90),
        st.floats(-180, 180),
        st.floats(0, 1e6),
    ),
)
atom = st.one_of(comparison, between, in_list, contains, is_null, call)
expr = st.recursive(
    atom,
    lambda kids: st.one_of(
        st.builds(lambda a, b: f"{a} AND {b}", kids, kids),
        st.builds(lambda a, b: f"{a} or {b}", kids, kids),
        kids.map(lambda a: f"NOT {a}"),
        kids.map(lambda a: f"({a})"),
    ),
    max_leaves=6,
)
mutated = st.builds(
    lambda s, i, g: s[:i] + g + s[i:], expr, st.integers(0, 120), st.text(max_size=4)
)
# -- well-typed rules, so that many examples compile and run

TYPES = field_types(RuleContext(features=features_table(), as_of=AS_OF))
TYPED = {
    "number": st.one_of(
        st.integers(-1000, 10**6).map(str),
        st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    ),
    "text": st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6).map(
        lambda s: "'" + s.replace("'", "''") + "'"
    ),
    "date": st.one_of(
        st.dates().map(str),
        st.builds(lambda k, u: f"-{k}{u}", st.integers(0, 400), st.sampled_from("dwmy")),
        st.just("today"),
    ),
    "bool": st.sampled_from(["true", "false"]),
}
ORDER = ["=", "!=", ">", ">=", "<", "<="]


def _typed_condition(name: str) -> st.SearchStrategy[str]:
    kind, v = TYPES[name], TYPED[TYPES[name]]
    ops_ = st.sampled_from(ORDER if kind in ("number", "date") else ["=", "!="])
    options = [
        st.builds(lambda o, x: f"{name} {o} {x}", ops_, v),
        st.builds(lambda xs: f"{name} IN ({_join(xs)})", st.lists(v, min_size=1, max_size=3)),
        st.builds(lambda neg: f"{name} IS {'NOT ' if neg else ''}NULL", st.booleans()),
    ]
    if kind == "text":
        options.append(v.map(lambda x: f"{name} CONTAINS {x}"))
    return st.one_of(options)


def _typed_call(name: str) -> st.SearchStrategy[str]:
    spec = FUNCTIONS[name]
    if not spec.matches:
        return call
    args = [
        st.builds(
            lambda a, o, x, xs: f"{a.name} IN ({_join(xs)})" if o == "in" else f"{a.name} {o} {x}",
            st.just(a),
            st.sampled_from(a.ops),
            TYPED[a.type],
            st.lists(TYPED[a.type], min_size=1, max_size=2),
        )
        for a in spec.args
        if not (name == "orders_placed" and a.name == "status")
    ]
    return st.lists(st.one_of(args), max_size=3).map(lambda xs: f"{name} MATCHES ({_join(xs)})")


typed_atom = st.one_of(
    st.sampled_from(sorted(TYPES)).flatmap(_typed_condition),
    st.sampled_from(sorted(FUNCTIONS)).flatmap(_typed_call),
)
typed = st.recursive(
    typed_atom,
    lambda kids: st.one_of(
        st.builds(lambda a, b: f"({a}) AND {b}", kids, kids),
        st.builds(lambda a, b: f"{a} OR ({b})", kids, kids),
        kids.map(lambda a: f"NOT ({a})"),
    ),
    max_leaves=5,
)
rules = st.one_of(typed, typed, typed, expr, mutated, st.text(max_size=30))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule=rules)
def test_random_rules_error_cleanly_or_run(db_ctx: RuleContext, rule: str) -> None:
    try:
        expr = compile_rule(rule, db_ctx)
    except RuleError as e:
        assert 0 <= e.position <= len(rule)
        assert e.message.strip()
        assert str(e).splitlines()[0] == e.message
        event("RuleError")
        return
    event("compiled")
    n = db_ctx.features.filter(expr).count().to_pyarrow().as_py()
    assert 0 <= n <= 6
