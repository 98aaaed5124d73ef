"""``ragwacht run SUITE``: call the chatbot, score, record, gate, report, log to MLflow."""

from __future__ import annotations

from pathlib import Path

import typer


def command(
    suite: Path = typer.Argument(..., help="Suite spec, e.g. evals/registers-demo.yaml."),
    variant: str | None = typer.Option(None, "--variant", "-v", help="Variant to run."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default reports/<suite>/<variant>)."
    ),
    gate: bool = typer.Option(
        False, "--gate", help="Exit 3/4/5 when the gate fails (for CI); see the exit codes below."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Baseline: a run record/baseline file, 'mlflow' or 'none'."
    ),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Do not log to MLflow."),
    lang: str | None = typer.Option(None, "--lang", help="Report language: nl or en."),
    resume: bool = typer.Option(
        False, "--resume", help="Keep finished responses, call only the missing ones."
    ),
    refresh: bool = typer.Option(False, "--refresh", help="Bypass the response cache."),
    cache: bool | None = typer.Option(
        None,
        "--cache/--no-cache",
        help="Serve answers from the response cache (default: on, but off with --gate; "
        "with --gate --cache its use is stated in every output).",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N cases."),
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="Run only part INDEX of COUNT (e.g. 2/3; by a hash of each case id) and write a "
        "shard record; `ragwacht merge` gates and reports the whole run.",
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Override the endpoint's base URL."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run a suite: call the chatbot for every case, score, write the record and outputs.

    Exit codes with --gate: 0 pass; 2 usage or configuration error; 3 quality gate failed (a
    real regression or a threshold crossed); 4 error budget exceeded (too many endpoint or
    judge failures); 5 the regression checks could not run (the configured baseline, in MLflow
    or a file, could not be obtained, or nothing could be compared with it): never a pass;
    130 interrupted (Ctrl-C; what was kept is printed, continue with --resume).
    """
    from ragwacht.cli.output import print_outcome  # lazy: CLI start-up
    from ragwacht.evals.run import RunOptions, run_suite  # lazy: CLI start-up
    from ragwacht.evals.shard import parse_shard  # lazy: CLI start-up

    if lang not in (None, "nl", "en"):
        raise typer.BadParameter("use nl or en", param_hint="--lang")
    outcome = run_suite(
        suite,
        RunOptions(
            variant=variant,
            out_dir=out,
            gate=gate,
            baseline=baseline,
            mlflow=not no_mlflow,
            lang=lang,
            resume=resume,
            refresh=refresh,
            use_cache=cache,
            progress=not quiet,
            limit=limit,
            base_url=base_url,
            shard=parse_shard(shard) if shard is not None else None,
        ),
    )
    print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)
