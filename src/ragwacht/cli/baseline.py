"""``ragwacht baseline``: save and show baseline files for teams without an MLflow server."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    help="Save and show baseline files for teams without an MLflow server.",
    no_args_is_help=True,
)


@app.command("save")
def save(
    run_record: Path = typer.Argument(..., help="run.json written by `ragwacht run`."),
    to: Path | None = typer.Option(
        None,
        "--to",
        help="Target file (default: where the suite's gate looks: its baseline.file, else "
        "ci/baselines/<suite>.json under its project root).",
    ),
    full: bool = typer.Option(
        False, "--full", help="Keep answers, contexts and claim details (larger file)."
    ),
) -> None:
    """Save a run record as the baseline file the gate compares with."""
    from ragwacht.ci.baseline import save_baseline  # lazy: CLI start-up
    from ragwacht.evals.baseline import baseline_file, suite_of_record  # lazy: CLI start-up
    from ragwacht.records import RunRecord  # lazy: CLI start-up

    record = RunRecord.load(run_record)
    if to is None:
        # The file `ragwacht run` will read, rooted at the suite's project, not the cwd.
        spec = suite_of_record(record, near=run_record)
        to = baseline_file(spec, record.variant) if spec is not None else None
    path = save_baseline(record, to, slim=not full)
    typer.echo(f"baseline for {record.suite}/{record.variant} written to {path}")


@app.command("show")
def show(
    baseline_file: Path = typer.Argument(..., help="A baseline (or run record) JSON file."),
) -> None:
    """Show what a baseline file holds: run, commit, dataset and metric means."""
    from ragwacht.ci.cases import format_value  # lazy: CLI start-up
    from ragwacht.records import RunRecord  # lazy: CLI start-up

    rec = RunRecord.load(baseline_file)
    m = rec.manifest
    console = Console(highlight=False)
    console.print(f"[bold]{escape(rec.suite)}[/] / {escape(rec.variant)}  run {rec.run_id}")
    console.print(
        f"commit {m.git_sha or '–'} on {m.git_branch or '–'}, started {m.started_at:%Y-%m-%d %H:%M}"
    )
    console.print(
        f"dataset {m.dataset_name} v{m.dataset_version} {m.dataset_digest}, {len(rec.cases)} cases"
    )
    t = Table(show_edge=False, header_style="bold")
    for col in ("metric", "mean", "p95", "scored", "direction"):
        t.add_column(col)
    for s in rec.summary.values():
        t.add_row(
            s.metric,
            format_value(s.mean, s.unit),
            format_value(s.p95, s.unit) if s.kind == "measure" else "",
            f"{s.scored}/{s.total}",
            "higher is better" if s.higher_is_better else "lower is better",
        )
    console.print(t)
