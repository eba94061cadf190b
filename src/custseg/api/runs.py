"""Pipeline runs started by ``POST /runs``: one at a time, in a background thread.

The thread holds the app's write lock for the whole run and the refresh of the customer
lookup, so exports wait and a second run is refused (409) meanwhile; reads go on, each on
its own cursor, and see the tables as of their own query. The status is kept in memory
from the moment the run is accepted (the ``runs`` table only gets its row once the
pipeline starts), with the stage being run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from custseg import pipeline

__all__ = ["RunManager", "RunStatus"]

log = logging.getLogger(__name__)


@dataclass
class RunStatus:
    """What ``GET /runs/{id}`` reports."""

    run_id: str
    status: str  # queued | running | succeeded | failed | interrupted
    as_of: date | None = None
    stage: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stages: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_result(cls, r: pipeline.RunResult) -> RunStatus:
        return cls(
            run_id=r.run_id,
            status=r.status,
            as_of=r.as_of,
            started_at=r.started_at,
            finished_at=r.finished_at,
            stages=dict(r.stages),
            error=r.error,
        )

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "stage": self.stage,
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "stages": dict(self.stages),
            "error": self.error,
        }


class RunManager:
    """Starts runs in a thread and remembers their status.

    Parameters
    ----------
    write_lock : threading.Lock
        The app's write lock; a run holds it from :meth:`start` until it ends.
    open_workspace : callable
        Returns a workspace on its own cursor (closed by the run when it ends).
    after_run : callable
        Called (still under the lock) after a successful run: refreshes the lookup.
    """

    def __init__(
        self,
        write_lock: threading.Lock,
        open_workspace: Callable[[], Any],
        after_run: Callable[[], Any],
    ) -> None:
        self._lock = write_lock
        self._open = open_workspace
        self._after = after_run
        self._runs: dict[str, RunStatus] = {}
        self._thread: threading.Thread | None = None

    def start(self, *, as_of: date | None = None) -> RunStatus | None:
        """Start a run; None when another run (or an export) holds the write lock."""
        if not self._lock.acquire(blocking=False):
            return None
        status = RunStatus(run_id=pipeline.new_run_id(), status="queued", as_of=as_of)
        self._runs[status.run_id] = status
        try:
            self._thread = threading.Thread(
                target=self._run, args=(status,), name=f"custseg-{status.run_id}", daemon=True
            )
            self._thread.start()
        except BaseException:
            self._lock.release()
            raise
        return status

    def _run(self, status: RunStatus) -> None:
        ws = None
        try:
            status.status, status.started_at = "running", datetime.now(UTC)

            def on_stage(stage: str, state: str) -> None:
                if state == "start":
                    status.stage = stage

            ws = self._open()
            result = pipeline.run(ws, as_of=status.as_of, run_id=status.run_id, on_stage=on_stage)
            done = RunStatus.from_result(result)
            status.stage = "lookup"
            try:
                self._after()
            except Exception as exc:  # noqa: BLE001 - reported in the status
                log.exception("run %s: the customer lookup was not refreshed", status.run_id)
                done.status = "failed"
                done.error = (
                    "the pipeline succeeded but the customer lookup could not be refreshed "
                    f"(GET /customers serves the previous run): {type(exc).__name__}: {exc}"
                )
            self._runs[status.run_id] = done
        except Exception as exc:  # noqa: BLE001 - the status carries the error
            log.exception("run %s failed", status.run_id)
            status.status = "failed"
            status.error = f"{type(exc).__name__}: {exc}"
            status.finished_at = datetime.now(UTC)
        finally:
            if ws is not None:
                ws.close()
            self._lock.release()

    def get(self, run_id: str) -> RunStatus | None:
        """A run started by this process (None for others)."""
        return self._runs.get(run_id)

    @property
    def running(self) -> bool:
        """Whether a run's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the current run to end (at shutdown, and in tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
