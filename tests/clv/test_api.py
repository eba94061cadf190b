"""custseg.clv's public surface and the examples in its docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

import custseg.clv

MODULES = [
    "custseg.clv.beta_geo",
    "custseg.clv.pareto_nbd",
    "custseg.clv.gamma_gamma",
    "custseg.clv.beta_geo_beta_binom",
    "custseg.clv.utils",
    "custseg.clv.validation",
]


def test_all_is_sorted_unique_and_importable() -> None:
    names = custseg.clv.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    ns: dict[str, object] = {}
    exec("from custseg.clv import *", ns)  # noqa: S102 - exactly what a user does
    assert all(n in ns for n in names)


def test_every_model_is_public() -> None:
    from custseg.clv._base import _REGISTRY

    assert set(_REGISTRY) <= set(custseg.clv.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
