"""Shared CLI pieces: the console, the --workspace option, and error handling."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from custseg.exceptions import CustsegError
from custseg.workspace import Workspace, open_workspace

__all__ = ["console", "err_console", "WorkspaceOpt", "handle_errors", "open_ws"]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $CUSTSEG_WORKSPACE, then the current folder).",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn custseg errors into one paragraph on stderr and an exit code (2 usage/config, 1 data)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CustsegError as e:
            err_console.print(
                f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=e.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted; the workspace keeps its previous state.")
            raise typer.Exit(code=130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as e:  # noqa: BLE001 - last resort: never a traceback
            if os.environ.get("CUSTSEG_DEBUG"):
                raise
            logging.getLogger("custseg").debug("internal error", exc_info=True)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            err_console.print(
                f"[bold red]internal error:[/] {type(e).__name__}: {escape(first)}. This is a bug in "
                "custseg; the workspace keeps its previous state. Set CUSTSEG_DEBUG=1 to see "
                "the traceback and please report it.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def open_ws(workspace: Path | None) -> Workspace:
    """Open the workspace chosen by --workspace / CUSTSEG_WORKSPACE / cwd."""
    return open_workspace(workspace)
