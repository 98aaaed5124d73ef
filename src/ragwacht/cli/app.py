"""The typer application; user errors print what, where and how to fix, without a traceback."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ragwacht import __version__
from ragwacht.errors import ConfigError, Interrupted, RagwachtError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def render_error(exc: RagwachtError) -> None:
    """Print a ragwacht error for a person: every problem, where it is, how to fix it."""
    if isinstance(exc, ConfigError):
        n = len(exc.problems)
        err_console.print(f"[bold red]error[/]: {n} problem{'s' if n != 1 else ''} found")
        for p in exc.problems:
            err_console.print(f"  [bold]{p.location}[/]: {p.message}", markup=True)
            if p.hint:
                err_console.print(f"    [dim]fix:[/] {p.hint}")
    elif isinstance(exc, Interrupted):
        err_console.print(f"[bold yellow]interrupted[/]: {escape(str(exc))}")
    else:
        err_console.print(f"[bold red]error[/]: {escape(str(exc))}")


class _Group(TyperGroup):
    """Turns ragwacht errors raised by any subcommand into a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except RagwachtError as exc:
            render_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None


app = typer.Typer(
    cls=_Group,
    name="ragwacht",
    help="RAG evaluation and regression testing: golden sets, trustworthy scores, sound gates.",
    epilog="In pytest: pytest --ragwacht evals/SUITE.yaml (one item per case and gate check; "
    "see the README, section 'In pytest').",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ragwacht {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """ragwacht: RAG evaluation and regression testing.

    Exit codes: 0 pass, 1 crash, 2 usage or configuration error, 3 quality gate failed,
    4 error budget exceeded, 5 regression checks could not run (baseline unavailable).
    """


def _register() -> None:
    # Each command module stays thin and imports heavy libraries inside its function.
    from ragwacht.cli import commands

    commands.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    # Usage errors exit 2 (typer's own handling), matching ExitCode.CONFIG.
    app()
