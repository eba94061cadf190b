"""The custseg command line: one module per command group, joined here."""

from __future__ import annotations

import logging
import os

import typer

from custseg.cli import actions as _actions
from custseg.cli import features as _features
from custseg.cli import ingest as _ingest
from custseg.cli import measure as _measure
from custseg.cli import monitor as _monitor
from custseg.cli import profiles as _profiles
from custseg.cli import runs as _runs
from custseg.cli import segments as _segments
from custseg.cli import serve as _serve
from custseg.cli import synth as _synth
from custseg.cli import tokens as _tokens
from custseg.cli import workspace as _workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="custseg",
    help="Customer segmentation for e-commerce: collect, analyze, segment, act, measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _mod in (
    _workspace,
    _ingest,
    _features,
    _synth,
    _segments,
    _profiles,
    _actions,
    _runs,
    _measure,
    _monitor,
    _serve,
    _tokens,
):
    _mod.register(app)


def main() -> None:
    """Entry point of the ``custseg`` command."""
    level = os.environ.get("CUSTSEG_LOG", "WARNING").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )
    app()
