"""Registers every command module on the app (one place, so modules stay independent)."""

from __future__ import annotations

import importlib

import typer

# (module, name, kind): kind "group" adds a sub-app (module.app), "command" adds module.command.
COMMANDS: list[tuple[str, str, str]] = [
    ("ragwacht.cli.datasets", "datasets", "group"),
    ("ragwacht.cli.corpus", "corpus", "group"),
    ("ragwacht.cli.run", "run", "command"),
    ("ragwacht.cli.gate", "gate", "command"),
    ("ragwacht.cli.merge", "merge", "command"),
    ("ragwacht.cli.baseline", "baseline", "group"),
    ("ragwacht.cli.report", "report", "command"),
    ("ragwacht.cli.compare", "compare", "command"),
    ("ragwacht.cli.demo", "demo", "command"),
    ("ragwacht.cli.demo_bot", "demo-bot", "group"),
    ("ragwacht.cli.judges", "judges", "group"),
    ("ragwacht.cli.safety", "safety", "group"),
    ("ragwacht.cli.review", "review", "group"),
    ("ragwacht.cli.monitor", "monitor", "command"),
]


def register(app: typer.Typer) -> None:
    """Attach each command module to ``app``."""
    for module_name, name, kind in COMMANDS:
        module = importlib.import_module(module_name)
        if kind == "group":
            app.add_typer(module.app, name=name)
        else:
            app.command(name=name)(module.command)
