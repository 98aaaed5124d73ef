"""``ragwacht merge SHARD.json...``: the shards of one run -> one record, gate, reports, MLflow."""

from __future__ import annotations

from pathlib import Path

import typer


def command(
    shards: list[Path] = typer.Argument(
        ..., help="Every shard's run.json (written by `ragwacht run --shard I/N`)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default reports/<suite>/<variant>)."
    ),
    suite: Path | None = typer.Option(
        None, "--suite", help="The suite file (default: found from the shards' manifest)."
    ),
    gate: bool = typer.Option(
        False, "--gate", help="Exit 3/4/5 when the gate fails (for CI), as `ragwacht run --gate`."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Baseline: a run record/baseline file, 'mlflow' or 'none'."
    ),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Do not log to MLflow."),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow tracking URI."
    ),
    lang: str | None = typer.Option(None, "--lang", help="Report language: nl or en."),
) -> None:
    """Merge the shard records of one run and finish it as `ragwacht run` does.

    Every shard 1..COUNT must be given once, all of one suite, dataset and variant. Exit codes
    as `ragwacht run`: 0 pass; 2 configuration error (also: a shard missing, given twice, or of
    another run); with --gate 3 quality gate failed, 4 error budget exceeded, 5 the regression
    checks could not run.
    """
    from ragwacht.cli.output import print_outcome  # lazy: CLI start-up
    from ragwacht.evals.merge import merge_shards  # lazy: CLI start-up
    from ragwacht.evals.run import RunOptions  # lazy: CLI start-up

    if lang not in (None, "nl", "en"):
        raise typer.BadParameter("use nl or en", param_hint="--lang")
    outcome = merge_shards(
        shards,
        RunOptions(
            out_dir=out,
            gate=gate,
            baseline=baseline,
            mlflow=not no_mlflow,
            tracking_uri=tracking_uri,
            lang=lang,
            progress=False,
        ),
        suite=suite,
    )
    print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)
