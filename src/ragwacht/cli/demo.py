"""``ragwacht demo``: Run the whole job offline on the embedded demo chatbot."""

from __future__ import annotations

import typer


def command() -> None:
    """Run the whole job offline on the embedded demo chatbot."""
    typer.echo("not available yet")
    raise typer.Exit(2)
