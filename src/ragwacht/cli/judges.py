"""``ragwacht judges``: Serve, check and calibrate judges."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ragwacht.errors import ConfigError

app = typer.Typer(help="Serve, check and calibrate judges.", no_args_is_help=True)


@app.command("serve")
def serve(
    gguf: Path = typer.Option(..., "--gguf", help="GGUF model file to serve."),
    port: int = typer.Option(0, "--port", help="TCP port on 127.0.0.1 (0 = a free one)."),
    n_ctx: int = typer.Option(4096, "--n-ctx", help="Context window in tokens."),
    threads: int = typer.Option(2, "--threads", help="CPU threads."),
    log_level: int = typer.Option(
        -1, "--log-level", help="llama.cpp log threshold (-1 silent, 3 every request)."
    ),
) -> None:
    """Serve a GGUF model as an OpenAI-compatible judge on loopback until Ctrl-C.

    Prints the base URL; point a judge at it with ``type: llm`` and ``base_url``.
    """
    from ragwacht.metrics.judges.local_llm import LocalLLMServer  # lazy: CLI start-up

    if not gguf.is_file():
        raise ConfigError(f"GGUF file not found: {gguf}", field="--gguf", hint="give a .gguf path")
    listen_for_stop_signals()
    srv = LocalLLMServer(gguf, port=port, n_ctx=n_ctx, threads=threads, verbosity=log_level)
    url = srv.start()
    typer.echo(url, err=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if not finishes_within(srv.stop, STOP_TIMEOUT_S):
            # The native server did not shut down in time; nothing is left to save, so a
            # Ctrl-C must still end the process instead of leaving it hanging.
            typer.echo(f"judge server did not stop within {STOP_TIMEOUT_S:g} s; exiting", err=True)
            os._exit(0)


STOP_TIMEOUT_S = 15.0


def listen_for_stop_signals() -> None:
    """Make Ctrl-C (SIGINT) and SIGTERM stop the server, whatever the parent left behind.

    A process inherits blocked and ignored signals from whoever started it (a CI runner, a
    test harness, a background job); a server started that way would never see Ctrl-C.
    """

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)


def finishes_within(fn: Callable[[], object], seconds: float) -> bool:
    """Run ``fn`` in a daemon thread; True when it returned within ``seconds``."""
    worker = threading.Thread(target=fn, daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive()


@app.command("calibrate")
def calibrate(
    data: Path = typer.Option(..., "--data", help="Labelled JSONL (hallucinated true/false)."),
    judge: str = typer.Option(
        "lexical",
        "--judge",
        help="'lexical', 'learned', 'learned:<model.json>', 'nli:<model>', or a YAML file with a "
        "judge/suite.",
    ),
    judge_name: str | None = typer.Option(
        None, "--judge-name", help="Which judge of a suite's judges: to calibrate."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most N items (sampled)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the bootstrap."),
    balanced: bool = typer.Option(False, "--balanced", help="Equal hallucinated and faithful."),
    out: Path | None = typer.Option(
        None, "--out", help="Result JSON (default: metrics/calibration/<judge_id>.json)."
    ),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="Items judged at once."),
    language: str = typer.Option(
        "en", "--language", help="Language of the labelled items (recorded with the result)."
    ),
    cache_dir: Path | None = typer.Option(
        Path(".ragwacht/judge-cache"), "--cache-dir", help="Judge cache folder."
    ),
) -> None:
    """Score a judge against human labels: balanced accuracy, kappa, agreement table."""
    from ragwacht.metrics.calibration import (  # lazy: CLI start-up
        DatasetCalibration,
        save_calibration,
    )
    from ragwacht.metrics.calibration import calibrate as run_calibration  # lazy: CLI start-up
    from ragwacht.metrics.judges.factory import (  # lazy: CLI start-up
        load_judge_file,
        make_verifier,
        parse_judge_config,
    )

    if judge == "lexical":
        cfg = parse_judge_config({"type": "lexical"}, field="--judge")
    elif judge == "learned" or judge.startswith("learned:"):
        raw = {"type": "learned", "model": judge.split(":", 1)[1] if ":" in judge else None}
        cfg = parse_judge_config(raw, field="--judge")
    elif judge.startswith("nli:"):
        cfg = parse_judge_config({"type": "nli", "model": judge[4:]}, field="--judge")
    else:
        cfg = load_judge_file(judge, name=judge_name)
    verifier = make_verifier(cfg, cache_dir=cache_dir)

    async def go() -> DatasetCalibration:
        try:
            return await run_calibration(
                verifier,
                data,
                limit=limit,
                seed=seed,
                balanced=balanced,
                concurrency=concurrency,
                language=language,
            )
        finally:
            await verifier.aclose()

    result = asyncio.run(go())
    path = save_calibration(result, verifier, out=out)
    r = result
    con = Console()

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    t = Table(title=f"{verifier.id} on {r.dataset}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    ci = r.balanced_accuracy_ci
    rows = [
        ("scored / items", f"{r.n_scored}/{r.n_items} ({r.scored_fraction:.0%})"),
        ("judge failures", f"{r.n_failed} {dict(r.failure_reasons) or ''}"),
        (
            "balanced accuracy (95% CI)",
            f(r.balanced_accuracy) + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""),
        ),
        ("Cohen's kappa", f(r.cohen_kappa)),
        ("precision (hallucinated)", f(r.precision)),
        ("recall (hallucinated)", f(r.recall)),
    ]
    if r.score_auc is not None:
        rows.append(("claim-score ROC-AUC", f(r.score_auc)))
    if r.threshold_sweep:
        best = max(r.threshold_sweep.items(), key=lambda kv: kv[1])
        rows.append(
            (
                "best support threshold (in-sample)",
                f"{best[0]} gives {best[1]:.3f}",
            )
        )
    for k, v in rows:
        t.add_row(k, v)
    con.print(t)
    c = r.confusion
    a = Table(title="agreement (rows: label, columns: judge)")
    a.add_column("")
    a.add_column("judge: hallucinated", justify="right")
    a.add_column("judge: faithful", justify="right")
    a.add_row("label: hallucinated", str(c.tp), str(c.fn))
    a.add_row("label: faithful", str(c.fp), str(c.tn))
    con.print(a)
    con.print(f"written: {path}")


@app.command("train")
def train(
    data: list[Path] = typer.Option(
        ..., "--data", help="Labelled JSONL (as for calibrate); repeat for several data sets."
    ),
    out: Path = typer.Option(..., "--out", help="Model JSON to write."),
    language: str = typer.Option("nl", "--language", help="Language of the answers (nl, en)."),
    embeddings: bool = typer.Option(
        False, "--embeddings/--no-embeddings", help="Also fit the variant with e5 similarity."
    ),
    limit: int | None = typer.Option(None, "--limit", min=2, help="At most N items per file."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample."),
    balanced: bool = typer.Option(False, "--balanced", help="Equal hallucinated and faithful."),
) -> None:
    """Fit the learned judge on your own labels; prints in-sample and left-out figures.

    With two or more files, each is also left out in turn (trained on the others): read that
    figure, not the in-sample one, before trusting the model on new data. Use the result with
    ``type: learned`` and ``model: <out>``.
    """
    from ragwacht.metrics.calibration import file_sha256, load_labelled  # lazy: CLI start-up
    from ragwacht.metrics.judges.learned import (  # lazy: CLI start-up
        ALL_VARIANTS,
        VARIANT_EMBEDDINGS,
        VARIANT_WORDS,
        Featurizer,
        TrainingData,
        build_model_file,
        featurize,
        fit,
        item_scores,
        write_model_file,
    )

    con = Console()
    names = [VARIANT_WORDS, VARIANT_EMBEDDINGS] if embeddings else [VARIANT_WORDS]
    fz = Featurizer(embeddings=embeddings)
    sets = {}
    for path in data:
        items = load_labelled(path, limit=limit, seed=seed, balanced=balanced)
        feats = featurize(fz, items, dataset=path.stem, language=language)
        sets[path.stem] = (path, feats)
    fz.save()
    every = [t for _, feats in sets.values() for t in feats]
    models = {v: fit(every, ALL_VARIANTS[v]) for v in names}

    def ba(model, items) -> float:  # type: ignore[no-untyped-def]
        pred = [s < model.threshold for s in item_scores(model, items)]
        parts = []
        for cls in (True, False):
            sub = [p == t.label for p, t in zip(pred, items, strict=True) if t.label == cls]
            if sub:
                parts.append(sum(sub) / len(sub))
        return sum(parts) / len(parts)

    for v in names:
        for name, (_, feats) in sets.items():
            line = f"{v} on {name} ({len(feats)} items): in-sample {ba(models[v], feats):.3f}"
            if len(sets) > 1:
                others = [t for n, (_, f) in sets.items() if n != name for t in f]
                line += f", left out {ba(fit(others, ALL_VARIANTS[v]), feats):.3f}"
            con.print(line)
    tds = [
        TrainingData(
            dataset=name,
            file=path.name,
            sha256=file_sha256(path),
            n_items=len(feats),
            n_claims=sum(len(t.claims) for t in feats),
        )
        for name, (path, feats) in sets.items()
    ]
    write_model_file(build_model_file(models, tds, version="learned-v1"), out)
    con.print(f"written: {out}")
