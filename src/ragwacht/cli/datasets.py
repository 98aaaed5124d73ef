"""``ragwacht datasets ...``: validate, stats, diff, import, export golden sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ragwacht.datasets.compare import DatasetDiff
    from ragwacht.datasets.summary import DatasetStats

app = typer.Typer(
    help="Work with golden sets: validate, stats, diff, import, export.", no_args_is_help=True
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="Golden-set folder, its dataset.yaml, or a cases file."),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="JSONL corpus; every gold doc_id must be in it."
    ),
) -> None:
    """Check a golden set; print every problem (exit 2) or one OK line with its digest."""
    from ragwacht.datasets.validation import validate_golden_set
    from ragwacht.errors import ConfigError

    report = validate_golden_set(path, corpus=corpus)
    for w in report.warnings:
        err_console.print(f"[yellow]warning[/]: {w.location}: {w.message}", markup=True)
        if w.hint:
            err_console.print(f"    [dim]fix:[/] {w.hint}")
    if report.problems:
        raise ConfigError(problems=report.problems)
    n_warn = len(report.warnings)
    console.print(
        f"OK {report.name}: {report.n_cases} cases, {report.digest}"
        + (f" ({n_warn} warning{'s' if n_warn != 1 else ''})" if n_warn else "")
    )


def _count_table(title: str, counts: dict[str, int], total: int, label: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column("cases", justify="right")
    table.add_column("share", justify="right")
    for key, n in counts.items():
        table.add_row(key or "(empty)", str(n), f"{n / total:.0%}" if total else "-")
    return table


def _print_stats(s: DatasetStats) -> None:
    console.print(f"[bold]{s.name}[/] version {s.version}: {s.n_cases} cases, {s.digest}")
    overview = Table(title="Coverage", title_justify="left")
    overview.add_column("what")
    overview.add_column("cases", justify="right")
    for what, n in (
        ("with gold contexts", s.with_gold_contexts),
        ("without gold contexts", s.without_gold_contexts),
        ("with reference answer", s.with_reference_answer),
        ("without reference answer", s.without_reference_answer),
        ("with conversation history", s.with_history),
        ("without tags", s.untagged),
    ):
        overview.add_row(what, str(n))
    overview.add_row("gold contexts in total", str(s.gold_contexts_total))
    console.print(overview)
    console.print(_count_table("Expected behaviour", s.expected_behavior, s.n_cases, "behaviour"))
    console.print(_count_table("Language", s.languages, s.n_cases, "language"))
    for key, values in s.tags.items():
        console.print(_count_table(f"Tag {key}:", values, s.n_cases, key))
    if s.plain_tags:
        console.print(_count_table("Other tags", s.plain_tags, s.n_cases, "tag"))
    lengths = Table(title="Question length", title_justify="left")
    for col in ("unit", "min", "median", "mean", "p90", "max"):
        lengths.add_column(col, justify="right" if col != "unit" else "left")
    for unit, q in (("characters", s.question_chars), ("words", s.question_words)):
        lengths.add_row(unit, str(q.min), f"{q.median:g}", f"{q.mean:g}", f"{q.p90:g}", str(q.max))
    console.print(lengths)


@app.command("stats")
def stats_cmd(
    path: Path = typer.Argument(..., help="Golden-set folder or cases file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Count cases per tag, language and expected behaviour; coverage; question lengths."""
    from ragwacht.datasets.io import load_golden_set
    from ragwacht.datasets.summary import stats

    result = stats(load_golden_set(path))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        _print_stats(result)


def _print_diff(d: DatasetDiff) -> None:
    same = d.old_digest == d.new_digest
    console.print(f"old {d.old_name}: {d.old_digest}")
    console.print(f"new {d.new_name}: {d.new_digest}" + ("  (same cases)" if same else ""))
    console.print(
        f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed, "
        f"{d.unchanged} unchanged"
    )
    if d.added or d.removed or d.changed:
        table = Table(title="Cases", title_justify="left")
        table.add_column("change")
        table.add_column("id")
        table.add_column("fields")
        for i in d.added:
            table.add_row("[green]added[/]", i, "")
        for i in d.removed:
            table.add_row("[red]removed[/]", i, "")
        for c in d.changed:
            table.add_row("[yellow]changed[/]", c.id, ", ".join(c.fields))
        console.print(table)
    if d.manifest_changes:
        table = Table(title="dataset.yaml", title_justify="left")
        table.add_column("field")
        table.add_column("old")
        table.add_column("new")
        for m in d.manifest_changes:
            table.add_row(m.field, str(m.old), str(m.new))
        console.print(table)


@app.command("diff")
def diff_cmd(
    old: Path = typer.Argument(..., help="Earlier golden set (folder or cases file)."),
    new: Path = typer.Argument(..., help="Later golden set (folder or cases file)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show added, removed and changed cases (by id), both digests, manifest changes."""
    from ragwacht.datasets.compare import diff
    from ragwacht.datasets.io import load_golden_set

    result = diff(load_golden_set(old), load_golden_set(new))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        _print_diff(result)


@app.command("import")
def import_cmd(
    src: Path = typer.Argument(..., help="Cases file (csv, xlsx, jsonl, yaml) or golden set."),
    to: Path = typer.Option(..., "--to", help="New golden-set folder to create."),
    name: str | None = typer.Option(None, "--name", help="Set name (default: folder name)."),
    force: bool = typer.Option(False, "--force", help="Replace a golden set already there."),
) -> None:
    """Make a golden-set folder (dataset.yaml + cases.jsonl) from a cases file."""
    from ragwacht.datasets.io import import_golden_set

    golden = import_golden_set(src, to, name=name, overwrite=force)
    console.print(
        f"imported {len(golden.cases)} cases into {to} as '{golden.manifest.name}', {golden.digest}"
    )


@app.command("export")
def export_cmd(
    src: Path = typer.Argument(..., help="Golden-set folder or cases file."),
    to: Path = typer.Option(..., "--to", help="Target file: .csv, .xlsx, .jsonl or .yaml."),
) -> None:
    """Write a golden set's cases to a CSV, XLSX, JSONL or YAML file."""
    from ragwacht.datasets.io import export_golden_set

    golden = export_golden_set(src, to)
    console.print(f"exported {len(golden.cases)} cases to {to}, {golden.digest}")


def _register_generate() -> None:
    from ragwacht.cli.generate import generate

    app.command("generate")(generate)


_register_generate()
