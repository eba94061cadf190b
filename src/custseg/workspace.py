"""Opening a workspace: its folder, its config and its backend connection.

A workspace is a folder holding ``custseg.toml``, the DuckDB file (by
default) and run artefacts. Commands find it by ``--workspace DIR``, then the
``CUSTSEG_WORKSPACE`` environment variable, then the current folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import ibis

from custseg.config import CONFIG_FILE, Config, resolve
from custseg.exceptions import ConfigError, UsageError, WorkspaceError

__all__ = ["Workspace", "find_workspace", "init_workspace", "open_workspace", "transaction"]

log = logging.getLogger(__name__)


def find_workspace(
    directory: str | Path | None = None, *, env: dict[str, str] | None = None
) -> Path:
    """Locate the workspace folder: the argument, then ``CUSTSEG_WORKSPACE``, then the cwd.

    Raises
    ------
    WorkspaceError
        If the chosen folder has no ``custseg.toml``.
    """
    env = os.environ if env is None else env
    if directory is not None:
        chosen, how = Path(directory), "--workspace"
    elif env.get("CUSTSEG_WORKSPACE"):
        chosen, how = Path(env["CUSTSEG_WORKSPACE"]), "CUSTSEG_WORKSPACE"
    else:
        chosen, how = Path.cwd(), "the current folder"
    if not (chosen / CONFIG_FILE).is_file():
        raise WorkspaceError(
            f"no workspace at {str(chosen)!r} (from {how}): it has no {CONFIG_FILE}. "
            f"Run 'custseg init {chosen}' to create one, 'custseg demo' for a demo workspace, "
            "or pass --workspace DIR."
        )
    return chosen.resolve()


def init_workspace(directory: str | Path, *, force: bool = False) -> Path:
    """Create a workspace: a commented ``custseg.toml`` and an empty DuckDB file.

    Parameters
    ----------
    directory
        Folder to create (it may exist, but must not already hold a config).
    force
        Overwrite an existing ``custseg.toml``.
    """
    d = Path(directory)
    cfg = d / CONFIG_FILE
    if cfg.exists() and not force:
        raise UsageError(
            f"{cfg} already exists; refusing to overwrite it. Use --force to replace it."
        )
    d.mkdir(parents=True, exist_ok=True)
    template = resources.files("custseg").joinpath("templates/custseg.toml").read_text("utf-8")
    cfg.write_text(template, encoding="utf-8")
    ws = open_workspace(d)
    ws.connect()  # creates the empty database file
    ws.close()
    return d.resolve()


@dataclass
class Workspace:
    """An opened workspace.

    Attributes
    ----------
    root
        The workspace folder.
    config
        The resolved configuration.
    """

    root: Path
    config: Config
    _con: Any = field(default=None, repr=False)

    @property
    def backend_url(self) -> str:
        """The backend URL, with a relative DuckDB path made absolute inside the workspace."""
        url = self.config.workspace.backend
        if url.startswith("duckdb://"):
            p = url[len("duckdb://") :]
            if p in ("", ":memory:"):
                return url
            path = Path(p)
            if not path.is_absolute():
                path = self.root / path
            return f"duckdb://{path}"
        return url

    @property
    def is_duckdb(self) -> bool:
        return self.backend_url.startswith("duckdb://")

    @property
    def database_path(self) -> Path | None:
        """The DuckDB file, when the backend is DuckDB."""
        if not self.is_duckdb:
            return None
        p = self.backend_url[len("duckdb://") :]
        return None if p in ("", ":memory:") else Path(p)

    def connect(self, *, read_only: bool = False) -> Any:
        """The Ibis connection to the backend (opened once, then reused)."""
        if self._con is None:
            url = self.backend_url
            try:
                if self.is_duckdb:
                    path = self.database_path
                    self._con = ibis.duckdb.connect(
                        str(path) if path else ":memory:", read_only=read_only
                    )
                    self._con.raw_sql("SET TimeZone = 'UTC'")
                else:
                    self._con = ibis.connect(url)
            except Exception as e:  # noqa: BLE001 - any driver error becomes one message
                raise WorkspaceError(
                    f"cannot open the backend {url!r}: {str(e).splitlines()[0]}. "
                    "Check [workspace].backend in custseg.toml; a DuckDB file can only be "
                    "opened by one writing process at a time."
                ) from None
        return self._con

    def close(self) -> None:
        """Close the backend connection."""
        if self._con is not None:
            try:
                self._con.disconnect()
            finally:
                self._con = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve_path(self, p: str | Path) -> Path:
        """A path from the config, relative to the workspace folder."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else self.root / path

    def tables(self) -> list[str]:
        """Names of the tables in the backend."""
        return sorted(self.connect().list_tables())


def open_workspace(
    directory: str | Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Workspace:
    """Open the workspace found by :func:`find_workspace` with its resolved config."""
    root = find_workspace(directory, env=env)
    try:
        cfg = resolve(root / CONFIG_FILE, env=env, overrides=overrides)
    except ConfigError:
        raise
    log.debug("opened workspace %s", root)
    return Workspace(root=root, config=cfg)


def _raw_connection(target: Any) -> Any | None:
    """The raw DuckDB connection behind a workspace or an Ibis DuckDB backend (else None)."""
    if isinstance(target, Workspace):
        return target.connect().con if target.is_duckdb else None
    if getattr(target, "name", None) == "duckdb" and hasattr(target, "con"):
        return target.con  # an Ibis DuckDB backend
    if hasattr(target, "execute") and type(target).__module__.lstrip("_").startswith("duckdb"):
        return target  # already a raw DuckDB connection
    return None


@contextmanager
def transaction(target: Any) -> Iterator[bool]:
    """One DuckDB transaction around a block: COMMIT on success, ROLLBACK on any error.

    Nest-aware: DuckDB has no savepoints and refuses a nested ``BEGIN``, so when the
    connection is already inside a transaction the block simply joins it (the outer
    owner commits or rolls back). Non-DuckDB backends (Spark) have no transactions: the
    block runs as it is and each statement takes effect on its own.

    Parameters
    ----------
    target : Workspace, Ibis DuckDB backend or duckdb connection
        Where to open the transaction (a workspace's is ``ws.connect().con``).

    Yields
    ------
    bool
        True when this call opened (and will end) the transaction; False when it joined
        an outer one or the backend has no transactions.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> with transaction(con) as outer:
    ...     with transaction(con) as inner:
    ...         _ = con.execute("CREATE TABLE t AS SELECT 1 AS x")
    >>> (outer, inner)
    (True, False)
    """
    raw = _raw_connection(target)
    if raw is None or _in_transaction(raw):
        yield False  # no transactions here, or an outer block owns this one
        return
    raw.execute("BEGIN TRANSACTION")
    try:
        yield True
    except BaseException:
        try:
            raw.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the original error matters more
            log.debug("rollback failed", exc_info=True)
        raise
    raw.execute("COMMIT")


def _in_transaction(raw: Any) -> bool:
    """Whether a DuckDB connection is inside an explicit transaction.

    In auto-commit mode every statement is its own transaction, so two queries get two
    transaction ids; inside ``BEGIN ... COMMIT`` they share one. (A failed ``BEGIN``
    cannot be the probe: it aborts the open transaction.)
    """
    try:
        first = raw.execute("SELECT txid_current()").fetchone()[0]
        second = raw.execute("SELECT txid_current()").fetchone()[0]
    except Exception:  # noqa: BLE001 - "current transaction is aborted": we are in one
        return True
    return bool(first == second)
