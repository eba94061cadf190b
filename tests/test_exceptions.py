"""custseg.exceptions: the tree, the builtin mixins and the exit codes."""

from __future__ import annotations

import pytest

import custseg.exceptions as exc_mod
from custseg.exceptions import (
    ConfigError,
    ConvergenceError,
    CustsegError,
    DataError,
    LoadError,
    MappingError,
    NotFittedError,
    PrivacyError,
    SchemaError,
    SourceReadError,
    UsageError,
    WorkspaceError,
)

#: class -> (direct parent, exit code, is a ValueError)
TREE = {
    UsageError: (CustsegError, 2, True),
    PrivacyError: (UsageError, 2, True),
    ConfigError: (CustsegError, 2, True),
    MappingError: (ConfigError, 2, True),
    WorkspaceError: (CustsegError, 2, False),
    DataError: (CustsegError, 1, True),
    SchemaError: (DataError, 1, True),
    SourceReadError: (DataError, 1, True),
    LoadError: (CustsegError, 1, False),
    NotFittedError: (CustsegError, 2, True),
    ConvergenceError: (CustsegError, 1, False),
}


def test_root() -> None:
    assert issubclass(CustsegError, Exception)
    assert not issubclass(CustsegError, ValueError)
    assert CustsegError.exit_code == 1
    assert CustsegError("x").exit_code == 1


@pytest.mark.parametrize("cls", list(TREE), ids=lambda c: c.__name__)
def test_place_in_the_tree(cls: type[CustsegError]) -> None:
    parent, _, _ = TREE[cls]
    assert cls.__bases__[0] is parent
    assert issubclass(cls, CustsegError)


@pytest.mark.parametrize("cls", list(TREE), ids=lambda c: c.__name__)
def test_value_error_mixin(cls: type[CustsegError]) -> None:
    _, _, is_value_error = TREE[cls]
    assert issubclass(cls, ValueError) is is_value_error
    if is_value_error:
        with pytest.raises(ValueError, match="boom"):
            raise cls("boom")


@pytest.mark.parametrize("cls", list(TREE), ids=lambda c: c.__name__)
def test_exit_code(cls: type[CustsegError]) -> None:
    _, code, _ = TREE[cls]
    assert cls.exit_code == code
    assert cls("message").exit_code == code


@pytest.mark.parametrize("cls", list(TREE), ids=lambda c: c.__name__)
def test_caught_as_custseg_error_with_its_message(cls: type[CustsegError]) -> None:
    with pytest.raises(CustsegError) as info:
        raise cls("what was seen; what to do")
    assert str(info.value) == "what was seen; what to do"
    assert type(info.value) is cls


def test_not_fitted_is_also_an_attribute_error_like_sklearns() -> None:
    assert issubclass(NotFittedError, AttributeError)


def test_siblings_are_distinct() -> None:
    assert not issubclass(DataError, ConfigError)
    assert not issubclass(ConfigError, DataError)
    assert not issubclass(WorkspaceError, ConfigError)
    assert not issubclass(LoadError, DataError)
    assert not issubclass(UsageError, ConfigError)


def test_all_lists_exactly_the_tree() -> None:
    assert set(exc_mod.__all__) == {c.__name__ for c in TREE} | {"CustsegError"}
    defined = {
        name
        for name, obj in vars(exc_mod).items()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == exc_mod.__name__
    }
    assert defined == set(exc_mod.__all__)
