"""``ragwacht baseline``: Save and show baseline files for teams without an MLflow server."""

from __future__ import annotations

import typer

app = typer.Typer(help="Save and show baseline files for teams without an MLflow server.", no_args_is_help=True)
