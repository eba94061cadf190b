"""The package's public names: custseg.__all__."""

from __future__ import annotations

import importlib

import pytest


def _package_all() -> list[str]:
    mod = importlib.import_module("custseg")
    names = getattr(mod, "__all__", None)
    if names is None:
        pytest.skip("custseg/__init__.py does not define __all__ yet")
    return list(names)


def test_all_is_sorted_and_unique() -> None:
    names = _package_all()
    assert names, "custseg.__all__ is empty"
    assert len(names) == len(set(names)), "duplicates in custseg.__all__"
    assert names == sorted(names), "custseg.__all__ is not sorted"


def test_every_public_name_is_importable() -> None:
    names = _package_all()
    ns: dict[str, object] = {}
    exec("from custseg import *", ns)  # noqa: S102 - exactly what a user does
    missing = [n for n in names if n not in ns]
    assert not missing, f"listed in __all__ but not importable: {missing}"
    for n in names:
        assert ns[n] is not None, n


def test_public_names_are_the_real_objects() -> None:
    custseg = importlib.import_module("custseg")
    _package_all()
    from custseg.config import load_config, resolve
    from custseg.exceptions import CustsegError
    from custseg.workspace import init_workspace, open_workspace

    expected = {
        "CustsegError": CustsegError,
        "load_config": load_config,
        "resolve": resolve,
        "init_workspace": init_workspace,
        "open_workspace": open_workspace,
    }
    for name, obj in expected.items():
        if name in custseg.__all__:
            assert getattr(custseg, name) is obj, name


def test_every_exception_is_public() -> None:
    names = set(_package_all())
    import custseg.exceptions as exc_mod

    assert set(exc_mod.__all__) <= names


def test_version() -> None:
    custseg = importlib.import_module("custseg")
    from importlib.metadata import version

    assert custseg.__version__ == version("custseg")
