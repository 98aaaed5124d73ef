"""``ragwacht gate``: Gate an existing run record against a baseline."""

from __future__ import annotations

import typer


def command() -> None:
    """Gate an existing run record against a baseline."""
    typer.echo("not available yet")
    raise typer.Exit(2)
