"""What the app holds while it runs: the workspace, its one connection, tokens, lookup, runs.

DuckDB and threads: the process opens the workspace database once
(:attr:`ApiState.ws`); every request and every background run works on its own cursor of
that connection (:meth:`ApiState.cursor_workspace`), which DuckDB allows from any thread,
and transactions keep readers and the writer apart. Writes that must not overlap (a
pipeline run, an export, a token change) take :attr:`ApiState.write_lock`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
from starlette.requests import Request

from custseg.api.lookup import CACHE_FILE, CustomerLookup
from custseg.api.runs import RunManager
from custseg.api.settings import ApiSettings
from custseg.api.tokens import TokenVerifier
from custseg.exceptions import WorkspaceError
from custseg.workspace import Workspace

__all__ = ["ApiState", "CredentialSource"]

log = logging.getLogger(__name__)

#: Finds a token in a request other than in the ``Authorization`` header (e.g. the
#: dashboard's session cookie); returns None when the request has none.
CredentialSource = Callable[[Request], str | None]


@dataclass
class ApiState:
    """The server's state, at ``app.state.api``.

    Attributes
    ----------
    ws : Workspace
        The opened workspace; its connection is the process's one DuckDB connection.
    settings : ApiSettings
        Limits and knobs.
    tokens : TokenVerifier
        The in-memory copy of ``_api_tokens``.
    lookup : CustomerLookup
        The ``GET /customers/{id}`` cache.
    runs : RunManager
        Runs started through the API.
    write_lock : threading.Lock
        Held by writes that must not overlap.
    credential_sources : list of CredentialSource
        Where else to look for a token when there is no bearer header.
    """

    ws: Workspace
    settings: ApiSettings
    tokens: TokenVerifier = field(default_factory=TokenVerifier)
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    credential_sources: list[CredentialSource] = field(default_factory=list)
    lookup: CustomerLookup = field(init=False)
    runs: RunManager = field(init=False)

    def __post_init__(self) -> None:
        if not self.ws.is_duckdb:
            raise WorkspaceError(
                f"the REST API serves DuckDB workspaces; this one uses {self.ws.backend_url!r}."
            )
        self.lookup = CustomerLookup(
            self.raw,
            self.ws.resolve_path(CACHE_FILE),
            recommendations=self.settings.recommendations,
        )
        self.runs = RunManager(self.write_lock, self.cursor_workspace, self.refresh_lookup)

    @property
    def raw(self) -> Any:
        """The process's raw DuckDB connection."""
        return self.ws.connect().con

    def cursor_workspace(self) -> Workspace:
        """A :class:`Workspace` on a new cursor: Ibis work from any thread. Close it after."""
        cur = self.raw.cursor()
        cur.execute("SET enable_progress_bar = false")
        return Workspace(
            root=self.ws.root, config=self.ws.config, _con=ibis.duckdb.from_connection(cur)
        )

    @contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[bool]:
        """Hold the write lock; yields False when it could not be had within ``timeout``."""
        wait = self.settings.write_wait_seconds if timeout is None else timeout
        got = self.write_lock.acquire(timeout=wait)
        try:
            yield got
        finally:
            if got:
                self.write_lock.release()

    def refresh_lookup(self, *, force: bool = True) -> None:
        """Rebuild the customer lookup (the caller holds the write lock)."""
        self.lookup.refresh(force=force)

    def start(self) -> None:
        """Load the tokens and bring the customer lookup up to date."""
        if self.settings.duckdb_threads:
            self.raw.execute(f"SET threads = {int(self.settings.duckdb_threads)}")
        with self.writing(timeout=-1):
            ws = self.cursor_workspace()
            try:
                self.tokens.reload(ws.connect())
            finally:
                ws.close()
            self.lookup.refresh(force=False)

    def stop(self, timeout: float = 30.0) -> None:
        """Wait for a running run (up to ``timeout`` seconds)."""
        self.runs.wait(timeout)
