"""``ragwacht run``: Run a suite: call the chatbot, score, record, log to MLflow, gate."""

from __future__ import annotations

import typer


def command() -> None:
    """Run a suite: call the chatbot, score, record, log to MLflow, gate."""
    typer.echo("not available yet")
    raise typer.Exit(2)
