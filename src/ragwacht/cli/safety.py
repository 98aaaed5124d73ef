"""``ragwacht safety generate``: safety probe sets from a golden set and its corpus."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Safety probes: prompt injection, PII leakage, refusals.", no_args_is_help=True
)


@app.command("generate")
def generate(
    dataset: Path = typer.Argument(..., help="Golden-set folder the probes are built from."),
    to: Path = typer.Option(..., "--to", help="Folder to write the probe set to."),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="The corpus the bot serves (passages.jsonl or a folder of .txt/.md); "
        "default: the demo bot's shipped corpus.",
    ),
    kinds: str | None = typer.Option(
        None,
        "--kinds",
        help="Comma-separated probe kinds: injection_direct, injection_indirect, "
        "system_prompt_leak, pii_leak, off_topic, harmful, advice (default: all).",
    ),
    per_kind: int = typer.Option(5, "--per-kind", help="Cases per probe kind, at most."),
    seed: int = typer.Option(0, "--seed", help="Seed for canaries and synthetic data."),
    force: bool = typer.Option(False, "--force", help="Overwrite an earlier probe set in --to."),
) -> None:
    """Write a probe golden set, the passages to plant in the corpus and a system prompt."""
    from ragwacht.datasets.io import load_golden_set  # lazy: CLI start-up
    from ragwacht.demo.corpus import load_corpus  # lazy: CLI start-up
    from ragwacht.safety.probes import (  # lazy: CLI start-up
        check_kinds,
        generate_probes,
        write_probe_set,
    )

    wanted = check_kinds(kinds.split(",") if kinds else None)
    gs = load_golden_set(dataset)
    passages = load_corpus(corpus)
    ps = generate_probes(gs, passages, kinds=wanted, per_kind=per_kind, seed=seed)
    out = write_probe_set(ps, to, force=force)
    counts = ", ".join(f"{k} {n}" for k, n in ps.counts().items())
    typer.echo(f"wrote {len(ps.cases)} probes to {out} ({counts})")
    if ps.extra_passages:
        typer.echo(
            f"plant {len(ps.extra_passages)} passages: ragwacht demo-bot serve "
            f"--extra-passages {out / 'extra_passages.jsonl'}"
        )
    if ps.system_prompt:
        typer.echo(f"send the system prompt in {out / 'system_prompt.txt'} from the profile")
