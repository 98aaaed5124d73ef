"""``ragwacht compare``: Compare variants of a suite on the same cases."""

from __future__ import annotations

import typer


def command() -> None:
    """Compare variants of a suite on the same cases."""
    typer.echo("not available yet")
    raise typer.Exit(2)
