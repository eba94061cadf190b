"""The exceptions custseg raises.

Every message says what was seen, what was expected, and what to do next. The
CLI turns them into a one-paragraph message and an exit code, never a
traceback: :class:`UsageError` and :class:`ConfigError` exit with 2,
:class:`DataError` and the rest with 1.

Tree::

    CustsegError
    ├── UsageError (ValueError)          bad command-line or API arguments     exit 2
    │   └── PrivacyError                 refused by a privacy rule (PII allow-list, minimum size)
    ├── ConfigError (ValueError)         bad custseg.toml or mapping           exit 2
    │   └── MappingError                 a column mapping that cannot work
    ├── WorkspaceError                   missing or unusable workspace         exit 2
    ├── DataError (ValueError)           input data that cannot be loaded      exit 1
    │   ├── SchemaError                  required columns missing, wrong shape
    │   └── SourceReadError              the file or database cannot be read
    ├── LoadError                        a load failed; the previous state is kept   exit 1
    ├── NotFittedError (ValueError, AttributeError)   a model used before fit/load  exit 2
    └── ConvergenceError                 a model fit did not converge; says what to try
"""

from __future__ import annotations

__all__ = [
    "CustsegError",
    "UsageError",
    "PrivacyError",
    "ConfigError",
    "MappingError",
    "WorkspaceError",
    "DataError",
    "SchemaError",
    "SourceReadError",
    "LoadError",
    "NotFittedError",
    "ConvergenceError",
]


class CustsegError(Exception):
    """Root of every error custseg raises on purpose."""

    exit_code: int = 1


class UsageError(CustsegError, ValueError):
    """A command or function was called with arguments that cannot work."""

    exit_code = 2


class PrivacyError(UsageError):
    """An export or request refused by a privacy rule: a PII column the destination may
    not receive, or a segment below the minimum export size."""


class ConfigError(CustsegError, ValueError):
    """The workspace configuration is invalid (unknown key, wrong type, bad syntax)."""

    exit_code = 2


class MappingError(ConfigError):
    """A column mapping refers to missing columns, unknown targets or unsafe expressions."""


class WorkspaceError(CustsegError):
    """The workspace folder or its database cannot be found or opened."""

    exit_code = 2


class DataError(CustsegError, ValueError):
    """Input data cannot be loaded as a whole (rows that can't be loaded are quarantined instead)."""


class SchemaError(DataError):
    """The input lacks required columns or has an unusable shape."""


class SourceReadError(DataError):
    """The file, archive or database behind a source cannot be read."""


class LoadError(CustsegError):
    """A load failed part way; the workspace keeps its previous state."""


class NotFittedError(CustsegError, ValueError, AttributeError):
    """A model was used for prediction before it was fitted (or loaded).

    It also inherits :class:`ValueError` and :class:`AttributeError`, like
    scikit-learn's ``NotFittedError``, so code that catches those keeps working.
    """

    exit_code = 2


class ConvergenceError(CustsegError):
    """Maximum likelihood did not converge; the message says what to try."""
