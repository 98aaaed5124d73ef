"""``ragwacht demo-bot``: Serve the embedded demo RAG chatbot."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serve the embedded demo RAG chatbot.", no_args_is_help=True)
