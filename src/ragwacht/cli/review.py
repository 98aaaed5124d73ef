"""``ragwacht review``: people review candidates and label answers, without a server."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ragwacht.errors import ConfigError

app = typer.Typer(
    help="Review candidate cases and label answers in a self-contained page.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)


@app.command("export")
def export(
    source: Path = typer.Argument(
        ..., help="Candidate golden set, or a run folder (--mode label)."
    ),
    to: Path = typer.Option(..., "--to", help="review.html (a page) or review.xlsx (a workbook)."),
    mode: str = typer.Option("review", "--mode", help="review (candidates) or label (answers)."),
    lang: str = typer.Option("nl", "--lang", help="Page language: nl or en."),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Documents or passages JSONL for the passage texts."
    ),
) -> None:
    """Write one self-contained review page (works from file://, no network) or workbook.

    In the page: j/k or arrows move, a/e/r accept, edit or reject (label mode: s/n for
    supported / not supported); "save" downloads the decisions as a JSON file for
    `ragwacht review import`.
    """
    from ragwacht.curation.review import export_review  # lazy: CLI start-up

    if mode not in ("review", "label"):
        raise ConfigError(f"--mode must be review or label, not {mode!r}", field="--mode")
    data = export_review(source, to, mode=mode, lang=lang, corpus=corpus)  # type: ignore[arg-type]
    n = len(data["items"] if mode == "label" else data["cases"])
    what = "answers" if mode == "label" else "candidates"
    console.print(f"wrote {escape(str(to))}: {n} {what} to review")


@app.command("import")
def import_(
    decisions: Path = typer.Argument(..., help="The saved decisions (.json or .xlsx) or labels."),
    into: Path | None = typer.Option(None, "--into", help="Golden-set folder to merge into."),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="The candidate set (default: the one the file names)."
    ),
    labels_out: Path | None = typer.Option(
        None, "--labels-out", help="Labels: the calibration JSONL to write."
    ),
    run: Path | None = typer.Option(None, "--run", help="Labels: the run (default: as saved)."),
) -> None:
    """Merge review decisions into a golden set, or write labels as calibration data."""
    from ragwacht.curation.review import (  # lazy: CLI start-up
        file_kind,
        import_decisions,
        import_labels,
    )

    kind = file_kind(decisions)
    if kind == "labels":
        if labels_out is None:
            raise ConfigError(
                "a labels file needs --labels-out FILE.jsonl", field="--labels-out", file=decisions
            )
        lab = import_labels(decisions, labels_out, run=run)
        console.print(
            f"wrote {lab.written} labels to {escape(lab.out)} ({lab.supported} supported, "
            f"{lab.not_supported} not supported)"
        )
        if lab.skipped:
            console.print(f"[yellow]skipped {len(lab.skipped)}[/] not in the run or unanswered")
        console.print(f"calibrate: ragwacht judges calibrate --data {escape(lab.out)} --judge ...")
        return
    if into is None:
        raise ConfigError("review decisions need --into SET", field="--into", file=decisions)
    res = import_decisions(decisions, into, candidates=candidates)
    for w in res.warnings:
        console.print(f"[yellow]warning[/]: {escape(w)}")
    d = res.diff
    console.print(
        f"reviewed by {escape(res.reviewer)} at {res.reviewed_at}: {len(res.accepted)} accepted, "
        f"{len(res.edited)} edited, {len(res.rejected)} rejected, {res.undecided} undecided"
    )
    console.print(
        f"{escape(res.target)}: version {escape(str(res.old_version or '-'))} → "
        f"{escape(res.new_version)}"
    )
    for case_id in d.added:
        console.print(f"  + {escape(case_id)}")
    for ch in d.changed:
        console.print(f"  ~ {escape(ch.id)} ({', '.join(ch.fields)})")
    console.print(f"digest {d.old_digest} → {d.new_digest}")


@app.command("agreement")
def agreement(
    a: Path = typer.Argument(..., help="Labels saved by one reviewer."),
    b: Path = typer.Argument(..., help="Labels saved by another reviewer on the same run."),
) -> None:
    """Cohen's kappa between two people's labels, next to the judge's agreement with each."""
    from ragwacht.curation.review import agreement as compute  # lazy: CLI start-up

    res = compute(a, b)

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    ra, rb = (escape(x) for x in res.reviewers)
    console.print(
        f"{ra} vs {rb}: {res.n_common} answers in common, agreement "
        f"{fmt(res.observed_agreement)}, Cohen's kappa {fmt(res.cohen_kappa)}"
    )
    for who, k in res.judge_kappa.items():
        console.print(
            f"judge {escape(res.judge or '?')} vs {escape(who)}: Cohen's kappa {fmt(k)} "
            f"({res.judge_n} answers)"
        )
    if res.cohen_kappa is not None and any(
        k is not None and k > res.cohen_kappa for k in res.judge_kappa.values()
    ):
        console.print("[dim]the judge cannot be trusted more than people agree with each other[/]")
