"""``ragwacht compare SUITE --variants a,b,c``: paired comparison of variants."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape


def command(
    suite: Path = typer.Argument(..., help="Suite spec, e.g. evals/registers-demo.yaml."),
    variants: str = typer.Option(
        ..., "--variants", help="Comma-separated; the first is the reference."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder."),
    lang: str = typer.Option("nl", "--lang", help="Report language: nl or en."),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Do not log to MLflow."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Override the endpoint's base URL."
    ),
    refresh: bool = typer.Option(False, "--refresh", help="Bypass the response cache."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run the same golden set through each variant and compare them with the first."""
    from ragwacht.evals.compare import compare_variants, comparison_table  # lazy: CLI start-up

    names = [v.strip() for v in variants.split(",") if v.strip()]
    outcome = compare_variants(
        suite,
        names,
        out_dir=out,
        mlflow=not no_mlflow,
        lang=lang,
        progress=not quiet,
        base_url=base_url,
        refresh=refresh,
    )
    console = Console(highlight=False)
    t = comparison_table(outcome.comparison)
    console.print(t)
    for name, path in outcome.files.items():
        console.print(f"{name:>10}: {escape(str(path))}")
