"""``ragwacht report RUN_RECORD``: write the self-contained HTML report of a run record."""

from __future__ import annotations

from pathlib import Path

import typer


def command(
    record: Path = typer.Argument(..., help="Run record JSON written by 'ragwacht run'."),
    lang: str = typer.Option("nl", "--lang", help="Report language: nl or en."),
    out: Path | None = typer.Option(
        None, "--out", help="Output HTML file (default: report.html beside the record)."
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="Baseline run record, for changes where the gate gives none."
    ),
) -> None:
    """Write the HTML report of a run record and print its path."""
    from ragwacht.records import RunRecord  # lazy: CLI start-up
    from ragwacht.reports.html import write_run_report  # lazy: CLI start-up
    from ragwacht.reports.i18n import check_lang  # lazy: CLI start-up

    check_lang(lang)
    run = RunRecord.load(record)
    base = RunRecord.load(baseline) if baseline is not None else None
    path = write_run_report(
        run, out if out is not None else record.with_name("report.html"), lang=lang, baseline=base
    )
    # Absolute, so the path can be opened from wherever the log is read.
    typer.echo(str(path.resolve()))
