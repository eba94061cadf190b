"""Fixtures of the segment-language tests: the tiny store of :mod:`._store`."""

from __future__ import annotations

import pytest

from custseg.segments.dsl import RuleContext

from ._store import make_ctx


@pytest.fixture(scope="module")
def ctx() -> RuleContext:
    """The tiny store as of 2025-06-30."""
    return make_ctx()
