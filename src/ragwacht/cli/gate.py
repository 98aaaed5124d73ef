"""``ragwacht gate RUN_RECORD``: gate an existing run record against a baseline."""

from __future__ import annotations

from pathlib import Path

import typer

from ragwacht.errors import ConfigError


def _load_policy(policy: Path | None, record: object) -> object:
    from ragwacht.ci.policy import load_policy, parse_policy  # lazy: CLI start-up

    metrics = list(getattr(record, "summary", {}) or {})
    if policy is not None:
        return load_policy(policy, metrics=metrics)
    suite_path = getattr(getattr(record, "manifest", None), "suite_path", None)
    if suite_path and Path(suite_path).is_file():
        from ragwacht.evals.spec import load_suite  # lazy: CLI start-up

        spec = load_suite(suite_path)
        if spec.gate:
            return parse_policy(spec.gate, file=spec.path, metrics=metrics)
    raise ConfigError(
        "no gate policy: the record's suite file has no gate: section or cannot be found",
        field="--policy",
        hint="pass --policy ci/gate-policy.yaml (see ci/gate-policy.example.yaml)",
    )


def _load_baseline(
    choice: str | None, record: object, tracking_uri: str | None
) -> tuple[object, str | None, str | None]:
    """The baseline record, where it came from, and why it could not be obtained (or None).

    A file of another suite or variant is refused (exit 2), as ``ragwacht run`` refuses it;
    an MLflow that cannot be asked is returned as an error so that the gate fails closed.
    """
    from ragwacht.evals.run import check_baseline_matches, scrub_uri  # lazy: CLI start-up
    from ragwacht.records import RunRecord  # lazy: CLI start-up

    rec = record
    if choice in (None, "", "none"):
        return None, None, None
    if choice != "mlflow":
        base = RunRecord.load(Path(choice))
        check_baseline_matches(base, rec.suite, rec.variant, choice)  # type: ignore[attr-defined]
        return base, f"file {choice}", None
    try:
        from ragwacht.tracking import find_baseline  # lazy: CLI start-up
    except ImportError as exc:
        raise ConfigError(
            "baseline lookup in MLflow is not available in this installation",
            field="--baseline",
            hint="pass a baseline file instead: --baseline ci/baselines/<suite>.json",
        ) from exc
    try:
        found = find_baseline(
            rec.suite,  # type: ignore[attr-defined]
            rec.variant,  # type: ignore[attr-defined]
            tracking_uri=tracking_uri,
            exclude_run_id=rec.run_id,  # type: ignore[attr-defined]
        )
    except Exception as exc:  # an outage must not switch the regression checks off
        msg = scrub_uri(f"baseline lookup in MLflow failed ({type(exc).__name__}: {exc})")
        return None, None, msg + "; fix the tracking server or MLFLOW_TRACKING_URI and rerun"
    if found is None:
        raise ConfigError(
            "no baseline run found in MLflow for this suite and variant",
            field="--baseline",
            hint="log a run on the base branch first, or pass --baseline FILE.json / none",
        )
    return found, f"MLflow run {found.mlflow_run_id or found.run_id}", None


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

    from ragwacht._io import write_atomic  # lazy: CLI start-up
    from ragwacht.ci.gate import gate  # lazy: CLI start-up
    from ragwacht.records import RunRecord  # lazy: CLI start-up
    from ragwacht.reports.annotations import emit_annotations  # lazy: CLI start-up
    from ragwacht.reports.junit import write_junit  # lazy: CLI start-up
    from ragwacht.reports.markdown import append_step_summary, render_markdown  # lazy: CLI start-up
    from ragwacht.reports.openmetrics import render_openmetrics  # lazy: CLI start-up

    record = RunRecord.load(run_record)
    pol = _load_policy(policy, record)
    base, source, error = _load_baseline(baseline, record, tracking_uri)
    result = gate(
        record,
        base,  # type: ignore[arg-type]
        pol,  # type: ignore[arg-type]
        baseline_error=error,
        baseline_source=source,
    )
    record.gate = result.model_dump(mode="json")
    if update_record:
        record.save(run_record)
    if junit is not None:
        write_junit(record, result, junit)
    md = render_markdown(record, result)
    if markdown is not None:
        write_atomic(markdown, md)
    append_step_summary(md)
    if metrics_txt is not None:
        write_atomic(metrics_txt, render_openmetrics(record))
    if json_out is not None:
        write_atomic(json_out, result.model_dump_json(indent=1))
    emit_annotations(record, result)
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
