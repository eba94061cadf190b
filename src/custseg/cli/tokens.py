"""`custseg tokens create|list|revoke`: API tokens for `custseg serve`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, err_console, handle_errors, open_ws

__all__ = ["app", "register"]

app = typer.Typer(
    name="tokens",
    help="API tokens for 'custseg serve' (stored hashed; shown once).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(parent: typer.Typer) -> None:
    """Add the ``tokens`` sub-app to the main app."""
    parent.add_typer(app, name="tokens")


@app.command()
@handle_errors
def create(
    workspace: WorkspaceOpt = None,
    *,
    scope: Annotated[
        str, typer.Option(help="read, write (includes read) or admin (includes write).")
    ] = "read",
    name: Annotated[str | None, typer.Option(help="A label, e.g. 'storefront'.")] = None,
) -> None:
    """Create a token and print it once (on stdout, alone, for scripts)."""
    from custseg.api.tokens import create_token

    with open_ws(workspace) as ws:
        info, token = create_token(ws.connect(), scope=scope, name=name)
    err_console.print(
        f"Created {info.scope} token [bold]{info.id}[/] ({escape(info.name)}). It is shown "
        "once and stored only as a hash: keep it now.",
        highlight=False,
    )
    typer.echo(token)


@app.command("list")
@handle_errors
def list_(
    workspace: WorkspaceOpt = None,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The tokens: id, name, scope, creation time, revoked (never the secret)."""
    from custseg.api.tokens import list_tokens

    with open_ws(workspace) as ws:
        tokens = list_tokens(ws.connect())
    if as_json:
        console.print_json(json.dumps([t.to_dict() for t in tokens]))
        return
    t = Table(title="API tokens", title_justify="left")
    for col in ("id", "name", "scope", "created (UTC)", "revoked"):
        t.add_column(col)
    for tok in tokens:
        t.add_row(
            tok.id,
            escape(tok.name),
            tok.scope,
            tok.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "yes" if tok.revoked else "",
        )
    console.print(t)


@app.command()
@handle_errors
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see 'custseg tokens list').")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke a token. While the server runs it holds the database: use DELETE /tokens/ID."""
    from custseg.api.tokens import revoke_token

    with open_ws(workspace) as ws:
        info = revoke_token(ws.connect(), token_id)
    console.print(f"Revoked {info.scope} token [bold]{info.id}[/] ({escape(info.name)}).")
