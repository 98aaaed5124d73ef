"""Command-line interface: one module per command, each thin (parse, call, exit code)."""

from __future__ import annotations

from ragwacht.cli.app import app, main

__all__ = ["app", "main"]
