"""An in-memory cache of per-run page data (profiles, alerts, campaign measurements).

Everything cached is a function of the last evaluation, so entries are keyed by the run
id of ``memberships``: when a new run lands, the whole cache is dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["RunCache"]

T = TypeVar("T")


class RunCache:
    """Values computed for one run, least recently used dropped past ``max_entries``.

    Parameters
    ----------
    max_entries : int, default 128
        Entries kept for the current run.
    """

    def __init__(self, max_entries: int = 128) -> None:
        self.max_entries = max_entries
        self._run: str | None = None
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: str | None, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key`` for ``run_id``, computing it on a miss.

        Two requests missing at once both compute; the value is the same.
        """
        with self._lock:
            if run_id != self._run:
                self._values.clear()
                self._run = run_id
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            if run_id == self._run:
                self._values[key] = value
                while len(self._values) > self.max_entries:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._values.clear()
