"""``ragwacht demo``: the whole main job offline on the embedded demo chatbot."""

from __future__ import annotations

from pathlib import Path

import typer


def command(
    suite: Path | None = typer.Option(
        None, "--suite", help="Suite to run (default: evals/registers-demo.yaml in this project)."
    ),
    variant: str | None = typer.Option(None, "--variant", "-v", help="Variant to run."),
    out: Path | None = typer.Option(None, "--out", help="Output folder."),
    lang: str = typer.Option("nl", "--lang", help="Report language: nl or en."),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Do not log to MLflow."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Serve the demo bot on loopback, run the demo suite, gate, report."""
    from ragwacht.cli.output import print_outcome  # lazy: CLI start-up
    from ragwacht.demo.job import run_demo  # lazy: CLI start-up

    if lang not in ("nl", "en"):
        raise typer.BadParameter("use nl or en", param_hint="--lang")
    outcome = run_demo(
        suite=suite,
        variant=variant,
        out_dir=out,
        lang=lang,
        mlflow=not no_mlflow,
        progress=not quiet,
    )
    print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)
