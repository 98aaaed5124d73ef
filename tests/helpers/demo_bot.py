"""The demo chatbot as a real HTTP server on loopback, for integration tests.

Usage::

    from tests.helpers.demo_bot import running_demo_bot

    with running_demo_bot() as base_url:          # the shipped BAG/WOZ/BGT/BRK corpus
        httpx.post(f"{base_url}/chat", json={"question": "..."})

    with running_demo_bot(corpus=tmp_path / "docs", refusal_threshold=0.9) as base_url:
        ...

``base_url`` has no trailing slash: ``/chat``, ``/v1/chat/completions`` (OpenAI clients take
``base_url + "/v1"``), ``/v1/models`` and ``/health`` live under it. Each call starts its own
server on a free port (in a background thread) and stops it on exit; the bot behind it (corpus
index and embeddings, ~0.3 s to build from the shipped cache) is built once per distinct
``(corpus, settings)`` and reused across tests in the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragwacht.demo import BotServer, DemoBot

_BOTS: dict[tuple[str | None, tuple[tuple[str, str], ...]], DemoBot] = {}
_LOCK = threading.Lock()


def demo_bot(corpus: str | Path | None = None, **settings: Any) -> DemoBot:
    """A :class:`DemoBot` for ``corpus`` and ``settings``, shared within the test process."""
    key = (
        str(Path(corpus).resolve()) if corpus is not None else None,
        tuple(sorted((k, repr(v)) for k, v in settings.items())),
    )
    with _LOCK:
        bot = _BOTS.get(key)
        if bot is None:
            bot = DemoBot(corpus, **settings)
            _BOTS[key] = bot
        return bot


@contextmanager
def running_demo_bot(corpus: str | Path | None = None, **settings: Any) -> Iterator[str]:
    """Serve the demo bot on ``127.0.0.1:<free port>`` for the ``with`` block.

    Args:
        corpus: ``passages.jsonl`` or a folder of ``.txt``/``.md`` files; the shipped corpus
            when None.
        **settings: Keyword arguments of :class:`DemoBot` (``refusal_threshold``,
            ``embedder``, ``reranker_model``, ``fusion``, ...).

    Yields:
        The base URL, e.g. ``http://127.0.0.1:41234``.
    """
    server = BotServer(demo_bot(corpus, **settings))
    base_url = server.start()
    try:
        yield base_url
    finally:
        server.stop()
