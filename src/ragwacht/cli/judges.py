"""``ragwacht judges``: Serve, check and calibrate judges."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serve, check and calibrate judges.", no_args_is_help=True)
