"""Errors of the CLV models: defined in :mod:`custseg.exceptions`, re-exported here.

Input problems use the general classes: :class:`~custseg.exceptions.SchemaError`
(a required column is missing or has the wrong type), :class:`~custseg.exceptions.DataError`
(values that break a model rule, such as ``recency > T``) and
:class:`~custseg.exceptions.UsageError` (a bad argument, such as a negative penalizer).
"""

from __future__ import annotations

from custseg.exceptions import ConvergenceError, NotFittedError

__all__ = ["ConvergenceError", "NotFittedError"]
