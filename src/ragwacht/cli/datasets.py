"""``ragwacht datasets ...``: validate, stats, diff, import, export golden sets."""

from __future__ import annotations

import typer

app = typer.Typer(help="Work with golden sets: validate, stats, diff, import, export.", no_args_is_help=True)
