"""``ragwacht report``: Write the HTML report of a run record."""

from __future__ import annotations

import typer


def command() -> None:
    """Write the HTML report of a run record."""
    typer.echo("not available yet")
    raise typer.Exit(2)
