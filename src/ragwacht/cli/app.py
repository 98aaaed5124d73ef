"""The typer application; user errors print what, where and how to fix, without a traceback."""

from __future__ import annotations

import errno
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ragwacht import __version__
from ragwacht.errors import ConfigError, Interrupted, RagwachtError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def render_error(exc: RagwachtError) -> None:
    """Print a ragwacht error for a person: every problem, where it is, how to fix it.

    Messages quote untrusted text (YAML keys, variant names, file names), so everything but
    our own styling is escaped: ``[/b]`` in a key prints as ``[/b]``.
    """
    if isinstance(exc, ConfigError):
        n = len(exc.problems)
        err_console.print(f"[bold red]error[/]: {n} problem{'s' if n != 1 else ''} found")
        for p in exc.problems:
            err_console.print(f"  [bold]{escape(str(p.location))}[/]: {escape(p.message)}")
            if p.hint:
                err_console.print(f"    [dim]fix:[/] {escape(p.hint)}")
    elif isinstance(exc, Interrupted):
        err_console.print(f"[bold yellow]interrupted[/]: {escape(str(exc))}")
    else:
        err_console.print(f"[bold red]error[/]: {escape(str(exc))}")


# File-system failures a user fixes (full disk, read-only folder, a file where a folder should
# be); any other OSError (a refused connection, say) stays a crash with its traceback.
_USER_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EEXIST,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
    }
)


def os_error(exc: OSError) -> ConfigError | None:
    """A file-system failure as a user error (which path, what happened, what is kept).

    None when ``exc`` is not one a user can fix by freeing space or choosing another folder.
    """
    if isinstance(exc, ConnectionError) or exc.errno not in _USER_ERRNOS:
        return None
    where = exc.filename if exc.filename is not None else None
    return ConfigError(
        f"cannot write: {exc.strerror or exc}",
        file=str(where) if where is not None else None,
        hint="free disk space or choose a writable --out folder; answers already received are "
        "kept in responses.jsonl there, so rerun with --resume to call only the missing cases",
    )


class _Group(TyperGroup):
    """Turns ragwacht errors raised by any subcommand into a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except RagwachtError as exc:
            render_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except OSError as exc:
            # Not a crash: the disk is full or the folder read-only. Say so, exit 2.
            error = os_error(exc)
            if error is None:
                raise
            render_error(error)
            raise typer.Exit(int(error.exit_code)) from None


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
    from ragwacht.cli import commands  # lazy: CLI start-up

    commands.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    # Usage errors exit 2 (typer's own handling), matching ExitCode.CONFIG.
    app()
