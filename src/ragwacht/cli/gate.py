"""``ragwacht gate RUN_RECORD``: gate an existing run record against a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ragwacht.errors import ConfigError


def _load_policy(policy: Path | None, record: object, record_file: Path) -> object:
    from ragwacht.ci.policy import load_policy, parse_policy  # lazy: CLI start-up

    metrics = list(getattr(record, "summary", {}) or {})
    if policy is not None:
        return load_policy(policy, metrics=metrics)
    from ragwacht.evals.baseline import suite_of_record  # lazy: CLI start-up

    spec = suite_of_record(record, near=record_file)  # type: ignore[arg-type]
    if spec is not None and spec.gate:
        return parse_policy(spec.gate, file=spec.path, metrics=metrics)
    raise ConfigError(
        "no gate policy: the record's suite file has no gate: section or cannot be found",
        field="--policy",
        hint="pass --policy ci/gate-policy.yaml (see ci/gate-policy.example.yaml)",
    )


def _load_baseline(
    choice: str | None, record: Any, tracking_uri: str | None, record_file: Path
) -> Any:
    """The baseline lookup for ``record``, by the same resolver as ``ragwacht run``.

    The record's suite, when its file can be found, roots the MLflow store and the baseline
    file at its project root and names the base branch. A file of another suite or variant is
    refused (exit 2), as ``ragwacht run`` refuses it; an MLflow that cannot be asked is an
    error in the lookup, so that the gate fails closed.
    """
    from ragwacht.evals.baseline import (  # lazy: CLI start-up
        resolve_baseline,
        suite_of_record,
    )

    if choice in (None, ""):
        choice = "none"
    spec = suite_of_record(record, near=record_file) if choice == "mlflow" else None
    lookup = resolve_baseline(
        record.suite,
        record.variant,
        choice,
        spec=spec,
        tracking_uri=tracking_uri,
        exclude_run_id=record.run_id,
    )
    if choice == "mlflow" and lookup.record is None and lookup.error is None:
        raise ConfigError(
            "no baseline run found in MLflow for this suite and variant",
            field="--baseline",
            hint="log a run on the base branch first, or pass --baseline FILE.json / none",
        )
    return lookup


def command(
    run_record: Path = typer.Argument(..., help="run.json written by `ragwacht run`."),
    baseline: str = typer.Option(
        "none", "--baseline", help="Baseline record JSON, 'mlflow' (newest on main) or 'none'."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="Gate policy YAML (default: the gate: section of the suite)."
    ),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML here."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Write a Markdown summary."),
    metrics_txt: Path | None = typer.Option(
        None, "--metrics-txt", help="Write OpenMetrics text (GitLab metrics report)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the gate result as JSON."),
    update_record: bool = typer.Option(
        False, "--update-record", help="Store the gate result in the run record file."
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow for --baseline mlflow."
    ),
) -> None:
    """Gate an existing run record against a baseline.

    Exit 0 pass, 2 configuration error (also: a baseline of another suite or variant), 3 fail,
    4 error budget, 5 the regression checks could not run (baseline unavailable or nothing
    comparable).
    """
    from rich.console import Console  # lazy: CLI start-up
    from rich.markup import escape  # lazy: CLI start-up

    from ragwacht.evals.finish import OutputPaths, finish_run  # lazy: CLI start-up
    from ragwacht.records import RunRecord  # lazy: CLI start-up

    record = RunRecord.load(run_record)
    pol = _load_policy(policy, record, run_record)
    lookup = _load_baseline(baseline, record, tracking_uri, run_record)
    done = finish_run(
        record,
        policy=pol,  # type: ignore[arg-type]
        lookup=lookup,
        record_path=run_record if update_record else None,
        paths=OutputPaths(
            junit=junit, markdown=markdown, metrics_txt=metrics_txt, gate_json=json_out
        ),
    )
    result = done.gate
    assert result is not None  # a policy was given
    console = Console(highlight=False)
    colour = "green" if result.passed else "red"
    # Messages quote case ids, metric names and exception texts: never Rich markup.
    console.print(
        f"[bold {colour}]{result.verdict.upper()}[/] gate for [bold]{escape(record.suite)}[/] / "
        f"{escape(record.variant)}: {escape(result.headline)}"
    )
    for r in result.rules:
        mark = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[dim]n/a[/]"}[r.passed]
        console.print(f"  {mark}  {escape(r.message)}", markup=True)
    for w in result.warnings:
        console.print(f"[yellow]warning[/]: {escape(w)}")
    if result.baseline_error:
        console.print(f"[red]baseline unavailable[/]: {escape(result.baseline_error)}")
    raise typer.Exit(int(result.exit_code))
