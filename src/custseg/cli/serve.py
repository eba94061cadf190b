"""`custseg serve`: the REST API on one workspace, with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from custseg.cli._common import WorkspaceOpt, err_console, handle_errors, open_ws

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main app."""

    @app.command()
    @handle_errors
    def serve(
        workspace: WorkspaceOpt = None,
        *,
        host: Annotated[
            str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
        log_level: Annotated[
            str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")
        ] = "info",
    ) -> None:
        """Serve the REST API (docs at /docs) and the dashboard (/ui/). Routes need a token.

        The server keeps the workspace database open, so other custseg commands cannot
        write to it meanwhile; create tokens first ('custseg tokens create --scope read')
        or through POST /tokens with an admin token.
        """
        import uvicorn

        from custseg.api import create_app

        ws = open_ws(workspace)
        ws.connect()  # fails here, with a clear message, when another process holds it
        app = create_app(ws)
        err_console.print(
            f"Serving workspace [bold]{ws.root}[/] at http://{host}:{port} "
            f"(API docs at http://{host}:{port}/docs). Ctrl+C stops it.\n"
            f"Dashboard: http://{host}:{port}/ui/ (log in with a token).",
            highlight=False,
        )
        try:
            uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        finally:
            ws.close()
