"""Helpers shared by the benchmarks in this folder.

* :func:`run_measured` runs a command as a separate process and measures its wall time and
  peak resident memory (RSS): the kernel's own high-water mark for that child
  (``ru_maxrss`` from ``wait4``) and, as a cross-check, ``psutil`` polling of the
  process tree every 50 ms (which also sees grandchildren).
* :func:`run_python` does the same for a Python snippet run by this interpreter.
* :func:`update_markdown_section` rewrites one benchmark's section of
  ``docs/benchmarks.md`` between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
  markers, leaving the other benchmarks' sections alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "DOCS",
    "REPO",
    "Measurement",
    "code_digest",
    "git_state",
    "machine_info",
    "md_table",
    "mib",
    "run_measured",
    "run_python",
    "update_markdown_section",
]

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"

DOCS_INTRO = """\
# Benchmarks

Scripts in `benchmarks/` measure custseg on generated data and write their results
here, each into its own section (between `<!-- NAME:start -->` / `<!-- NAME:end -->`
markers; a script only rewrites its own section). Every measured step runs as a
separate process; wall time is that process's whole life (interpreter start and
imports included) and peak memory is the kernel's peak resident set size of that
process (`ru_maxrss`, cross-checked by polling the process tree every 50 ms).

Run them from the repository root with the project's virtual environment, e.g.
`make bench` or `.venv/bin/python benchmarks/bench_ingest.py`. Generated data goes
to `bench-data/` (git-ignored) and is reused by later runs.
"""


@dataclass
class Measurement:
    """One measured process run."""

    seconds: float  #: wall time from start to exit
    peak_rss: int  #: bytes: max of the kernel high-water mark and the polled tree peak
    ru_maxrss: int  #: bytes: kernel high-water mark of the child (``wait4``)
    polled_rss: int  #: bytes: highest sum of RSS over the process tree seen by polling
    cpu_seconds: float  #: user + system CPU time of the child (``wait4``)
    load_before: float  #: 1-minute load average when the child started (other work on the machine)
    returncode: int
    stdout: str
    stderr: str
    payload: dict[str, Any] = field(default_factory=dict)  #: last stdout line, if JSON

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_measured(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    poll_interval: float = 0.05,
) -> Measurement:
    """Run ``args`` as a child process; return its wall time, peak RSS and output.

    The child is reaped with ``os.wait4`` so its own ``ru_maxrss`` is read (not the
    running maximum over every child of this process that ``RUSAGE_CHILDREN`` gives).
    """
    with tempfile.TemporaryFile("w+b") as out, tempfile.TemporaryFile("w+b") as err:
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=cwd)
        ps = psutil.Process(child.pid)
        polled = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                seconds = time.perf_counter() - t0
                break
            polled = max(polled, _tree_rss(ps))
            time.sleep(poll_interval)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    ru = usage.ru_maxrss * 1024  # KiB on Linux
    payload: dict[str, Any] = {}
    # the payload is the last line; "\r" also ends a line (progress bars redraw with it)
    # (DuckDB's progress bar ends without a newline, so the JSON starts at the last line's "{")
    lines = stdout.replace("\r", "\n").strip().splitlines()
    if lines:
        last = lines[-1]
        try:
            payload = json.loads(last[last.find("{") :] if "{" in last else last)
        except json.JSONDecodeError:
            payload = {}
    return Measurement(
        seconds=seconds,
        peak_rss=max(ru, polled),
        ru_maxrss=ru,
        polled_rss=polled,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load_before=load,
        returncode=child.returncode,
        stdout=stdout,
        stderr=stderr,
        payload=payload if isinstance(payload, dict) else {},
    )


def run_python(
    code: str, *argv: str, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> Measurement:
    """:func:`run_measured` on ``python -c CODE ARGV...`` with this interpreter."""
    return run_measured([sys.executable, "-c", code, *argv], env=env, cwd=cwd)


def code_digest(paths: tuple[str, ...] = ("src",)) -> str:
    """A digest of the Python files under ``paths`` (what a run measured, committed or not)."""
    h = hashlib.sha256()
    for root in paths:
        for f in sorted((REPO / root).rglob("*.py")):
            h.update(str(f.relative_to(REPO)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def git_state(paths: tuple[str, ...] = ("src",)) -> str:
    """The code measured, e.g. ``1e4d778`` or ``1e4d778 + uncommitted changes in src (3f2a9c0b1d)``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"unknown commit (digest of {', '.join(paths)}: {code_digest(paths)})"
    if dirty:
        return f"{head} + uncommitted changes in {', '.join(paths)} (digest {code_digest(paths)})"
    return head


def mib(n_bytes: float) -> float:
    return n_bytes / 2**20


def machine_info() -> dict[str, str]:
    """CPU, cores, memory and software versions, for the report."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(psutil.cpu_count(logical=True)),
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def md_table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column, l or r (default: l)."""
    align = align or "l" * len(headers)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def update_markdown_section(
    name: str, body: str, path: Path = DOCS, intro: str = DOCS_INTRO
) -> Path:
    """Replace (or append) the section of ``path`` between the markers of ``name``.

    The file is created with ``intro`` when it does not exist. Only the text
    between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` is touched.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else intro
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
