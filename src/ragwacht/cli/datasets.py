"""``ragwacht datasets ...``: validate, stats, diff, import, export golden sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragwacht.errors import ConfigError

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
    from ragwacht.datasets.validation import validate_golden_set  # lazy: CLI start-up

    report = validate_golden_set(path, corpus=corpus)
    for w in report.warnings:
        # Case ids and file names in messages are untrusted text, never markup.
        err_console.print(f"[yellow]warning[/]: {escape(str(w.location))}: {escape(w.message)}")
        if w.hint:
            err_console.print(f"    [dim]fix:[/] {escape(w.hint)}")
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
        # Tag values come from the data set: cells are markup, so escape them.
        table.add_row(escape(str(key)) or "(empty)", str(n), f"{n / total:.0%}" if total else "-")
    return table


def _print_stats(s: DatasetStats) -> None:
    console.print(
        f"[bold]{escape(str(s.name))}[/] version {escape(str(s.version))}: {s.n_cases} cases, "
        f"{s.digest}"
    )
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
    from ragwacht.datasets.io import load_golden_set  # lazy: CLI start-up
    from ragwacht.datasets.summary import stats  # lazy: CLI start-up

    result = stats(load_golden_set(path))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        _print_stats(result)


def _print_diff(d: DatasetDiff) -> None:
    same = d.old_digest == d.new_digest
    console.print(f"old {escape(str(d.old_name))}: {d.old_digest}")
    console.print(
        f"new {escape(str(d.new_name))}: {d.new_digest}" + ("  (same cases)" if same else "")
    )
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
            table.add_row("[green]added[/]", escape(i), "")
        for i in d.removed:
            table.add_row("[red]removed[/]", escape(i), "")
        for c in d.changed:
            table.add_row("[yellow]changed[/]", escape(c.id), escape(", ".join(c.fields)))
        console.print(table)
    if d.manifest_changes:
        table = Table(title="dataset.yaml", title_justify="left")
        table.add_column("field")
        table.add_column("old")
        table.add_column("new")
        for m in d.manifest_changes:
            table.add_row(escape(m.field), escape(str(m.old)), escape(str(m.new)))
        console.print(table)


@app.command("diff")
def diff_cmd(
    old: Path = typer.Argument(..., help="Earlier golden set (folder or cases file)."),
    new: Path = typer.Argument(..., help="Later golden set (folder or cases file)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show added, removed and changed cases (by id), both digests, manifest changes."""
    from ragwacht.datasets.compare import diff  # lazy: CLI start-up
    from ragwacht.datasets.io import load_golden_set  # lazy: CLI start-up

    result = diff(load_golden_set(old), load_golden_set(new))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        _print_diff(result)


def _parse_map(text: str | None) -> dict[str, str]:

    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        source, sep, target = part.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(
                f"cannot read the mapping '{part.strip()}'",
                field="--map",
                hint="write source=field pairs, e.g. --map query=question,passages=gold_contexts",
            )
        out[source.strip()] = target.strip()
    return out


@app.command("import")
def import_cmd(
    src: Path = typer.Argument(..., help="Cases file (csv, xlsx, jsonl, yaml) or golden set."),
    to: Path = typer.Option(..., "--to", help="New golden-set folder to create."),
    name: str | None = typer.Option(None, "--name", help="Set name (default: folder name)."),
    force: bool = typer.Option(False, "--force", help="Replace a golden set already there."),
    mapping: str | None = typer.Option(
        None,
        "--map",
        help="source=field pairs (query=question,...); common names are mapped without it.",
    ),
    description: str | None = typer.Option(None, "--description", help="Manifest description."),
    owner: str | None = typer.Option(None, "--owner", help="Manifest owner (team or person)."),
    language: str | None = typer.Option(None, "--language", help="Language of the cases (nl)."),
    licence: str | None = typer.Option(None, "--licence", help="Licence, e.g. CC-BY-4.0."),
    version: str | None = typer.Option(None, "--version", help="Set version (default 1)."),
) -> None:
    """Make a golden-set folder (dataset.yaml + cases.jsonl) from a cases file."""
    from ragwacht.datasets.io import import_golden_set, import_mapping  # lazy: CLI start-up

    columns = import_mapping(src, _parse_map(mapping))
    if columns:
        used = ", ".join(f"{k} → {v}" for k, v in columns.items())
        err_console.print(f"columns mapped: {used} (change with --map source=field)")
    fields = {
        "description": description,
        "owner": owner,
        "language": language,
        "licence": licence,
        "version": version,
    }
    golden = import_golden_set(
        src, to, name=name, overwrite=force, columns=columns, manifest=fields
    )
    console.print(
        f"imported {len(golden.cases)} cases into {to} as '{golden.manifest.name}', {golden.digest}"
    )
    m = golden.manifest
    missing = [k for k in ("description", "owner", "licence") if not getattr(m, k)]
    if missing:
        err_console.print(
            f"dataset.yaml has no {', '.join(missing)}: set them with "
            + " ".join(f"--{k} ..." for k in missing)
            + f" or edit {to / 'dataset.yaml'}"
        )


@app.command("export")
def export_cmd(
    src: Path = typer.Argument(..., help="Golden-set folder or cases file."),
    to: Path = typer.Option(..., "--to", help="Target file: .csv, .xlsx, .jsonl or .yaml."),
) -> None:
    """Write a golden set's cases to a CSV, XLSX, JSONL or YAML file."""
    from ragwacht.datasets.io import export_golden_set  # lazy: CLI start-up

    golden = export_golden_set(src, to)
    console.print(f"exported {len(golden.cases)} cases to {escape(str(to))}, {golden.digest}")


def _register_generate() -> None:
    from ragwacht.cli.generate import generate  # lazy: CLI start-up

    app.command("generate")(generate)


_register_generate()
