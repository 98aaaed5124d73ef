"""One-screen summaries of a run for the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False)


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "–"
    if unit == "ms":
        return f"{v:,.0f} ms"
    return f"{v:.3f}"


def print_outcome(outcome: Any) -> None:
    """Print the verdict, a table of metrics and where the outputs are."""
    rec = outcome.record
    g = outcome.gate
    if g is not None:
        ok = g.verdict == "pass"
        colour = "green" if ok else "red"
        console.print(
            f"[bold {colour}]{'PASS' if ok else 'FAIL'}[/] gate for "
            f"[bold]{escape(rec.suite)}[/] / {escape(rec.variant)}: {escape(g.headline)}"
        )
        for note in getattr(g, "notes", []):
            console.print(f"  {escape(note)}")
    elif rec.shard is not None:
        console.print(
            f"[bold]{escape(rec.suite)}[/] / {escape(rec.variant)}: shard "
            f"{rec.shard.index}/{rec.shard.count}, {len(rec.cases)} of the run's cases; "
            "gate and report the run with `ragwacht merge` once every shard is done"
        )
    else:
        console.print(f"[bold]{escape(rec.suite)}[/] / {escape(rec.variant)}: no gate policy")
    t = Table(show_edge=False, header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("95% CI", justify="right")
    t.add_column("scored", justify="right")
    t.add_column("judge")
    for s in rec.summary.values():
        ci = "" if s.ci_low is None else f"{_fmt(s.ci_low, s.unit)} – {_fmt(s.ci_high, s.unit)}"
        value = _fmt(s.mean, s.unit)
        if s.kind == "measure" and s.p95 is not None:
            value = f"{value} (p95 {_fmt(s.p95, s.unit)})"
        judge = (s.judge or "") + (" (weak)" if s.weak else "")
        # Table cells are markup too; metric and judge names come from the suite file.
        t.add_row(escape(s.metric), value, ci, f"{s.scored}/{s.total}", escape(judge))
    console.print(t)
    if rec.endpoint_errors:
        console.print(f"[yellow]{rec.endpoint_errors} endpoint error(s)[/] (recorded, not scored)")
    if rec.judge_errors:
        console.print(f"[yellow]{rec.judge_errors} case(s) with judge failures[/] (not scored)")
    for w in rec.warnings:
        console.print(f"[yellow]warning[/]: {escape(w)}")
    # The report comes last: it is what a person opens next.
    for name in ("record", "junit", "markdown", "report"):
        if name in outcome.files:
            console.print(f"{name:>8}: {escape(str(outcome.files[name]))}")
