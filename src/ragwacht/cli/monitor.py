"""``ragwacht monitor``: live traffic without gold answers, scored, windowed and alerted."""

from __future__ import annotations

from pathlib import Path

import typer

from ragwacht.errors import ExitCode


def command(
    logs: list[Path] = typer.Argument(..., help="Log files or folders (JSONL, OTLP JSON)."),
    suite: Path = typer.Option(..., "--suite", help="Suite YAML; its golden set is the reference."),
    out: Path = typer.Option(Path("reports/monitor"), "--out", help="Folder for the outputs."),
    config: Path | None = typer.Option(
        None, "--config", help="Monitor settings YAML (thresholds, budget, alpha, horizon)."
    ),
    mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log windows to MLflow."),
    fail_on_alert: bool = typer.Option(
        True, "--fail-on-alert/--no-fail-on-alert", help="Exit 3 when an alert was raised."
    ),
) -> None:
    """Scrub, sample, score and alert on logged production traffic; write the dashboards."""
    from ragwacht.monitor.run import load_config, run_monitor  # lazy: CLI start-up

    outcome = run_monitor(logs, suite, out, config=load_config(config), mlflow=mlflow)
    ing, res = outcome.ingest, outcome.result
    typer.echo(
        f"read {len(ing.interactions)} interactions from {ing.lines_read} lines; "
        f"{len(ing.bad_lines)} bad lines; scrubbed {sum(ing.scrubbed.values())} identifiers"
    )
    for b in ing.bad_lines[:20]:
        typer.echo(f"  bad line: {b}", err=True)
    if len(ing.bad_lines) > 20:
        typer.echo(f"  ... {len(ing.bad_lines) - 20} more in {out / 'monitor.json'}", err=True)
    for w in res.days:
        flag = ", ".join(a.metric for a in w.alerts) or "ok"
        typer.echo(f"{w.key}: {w.n} interactions, {w.judged} judged: {flag}")
    typer.echo(
        f"outputs in {out}"
        + (f"; MLflow run {outcome.mlflow_run_id}" if outcome.mlflow_run_id else "")
    )
    if res.alerts and fail_on_alert:
        typer.echo(f"{len(res.alerts)} alert(s) raised", err=True)
        raise typer.Exit(int(ExitCode.GATE_FAILED))
