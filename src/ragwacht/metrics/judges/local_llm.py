"""The ``local-llm`` judge: ragwacht serves a GGUF model itself on loopback, then asks it.

For air-gapped teams: no API, no key, no network. The model is served in-process by
``xllamacpp`` (llama.cpp's own server, an optional extra: ``pip install 'ragwacht[local-llm]'``)
on 127.0.0.1 and a free port; the verifier then behaves exactly as the ``llm`` verifier.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Any

from ragwacht.errors import JudgeError, MissingDependencyError
from ragwacht.metrics.judges.config import LocalLLMJudgeConfig
from ragwacht.metrics.judges.llm import LLMVerifier

log = logging.getLogger(__name__)


class LocalLLMServer:
    """An OpenAI-compatible llama.cpp server for one GGUF file, bound to 127.0.0.1.

    Serves while the object lives; :meth:`stop` releases it. Use as a context manager.

    Args:
        gguf: path of the model file.
        port: TCP port (0 picks a free one).
        n_ctx: context window in tokens per slot.
        parallel: slots (requests decoded together); the server holds parallel x n_ctx.
        threads: CPU threads for generation and prompt processing.
        embeddings: also serve ``/v1/embeddings``.
        verbosity: llama.cpp log threshold (-1: silent, 3: every request).

    """

    def __init__(
        self,
        gguf: Path,
        *,
        port: int = 0,
        n_ctx: int = 4096,
        threads: int = 2,
        parallel: int = 1,
        embeddings: bool = False,
        verbosity: int = -1,
    ) -> None:
        self.gguf = Path(gguf)
        self.port = port
        self.n_ctx = n_ctx * parallel  # every slot gets the n_ctx it was asked for
        self.threads = threads
        self.parallel = parallel
        self.embeddings = embeddings
        self.verbosity = verbosity
        self._server: Any = None
        self.base_url: str | None = None

    def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:<port>/v1``)."""
        if self._server is not None:
            assert self.base_url is not None
            return self.base_url
        try:
            import xllamacpp as xlc  # lazy: heavy (xllamacpp)
        except ImportError:
            raise MissingDependencyError(
                "xllamacpp", extra="local-llm", purpose="the local-llm judge"
            ) from None
        if not self.gguf.is_file():
            raise JudgeError(f"GGUF file not found: {self.gguf}", reason="no_model")
        p = xlc.CommonParams()
        p.model.path = str(self.gguf)
        p.n_ctx = self.n_ctx
        p.cpuparams.n_threads = self.threads
        p.cpuparams_batch.n_threads = self.threads
        # Slots decode together and share the context window.
        p.n_parallel = self.parallel
        # Loopback only: the judge sees answers and contexts, which may be confidential.
        p.hostnames = ["127.0.0.1"]
        p.port = self.port
        p.verbosity = self.verbosity
        if self.embeddings:
            p.embedding = True
        self._server = xlc.Server(p)
        self.base_url = str(self._server.listening_address).rstrip("/") + "/v1"
        log.info("local judge model %s served at %s", self.gguf.name, self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving (the server shuts down when its object is collected)."""
        if self._server is not None:
            self._server = None
            self.base_url = None
            gc.collect()

    def __enter__(self) -> LocalLLMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalLLMVerifier(LLMVerifier):
    """The ``llm`` verifier against a GGUF model served in-process on loopback.

    The server starts on first use (about a second for a small model) and stops on
    :meth:`aclose`.
    """

    kind = "local-llm"

    def __init__(self, cfg: LocalLLMJudgeConfig, *, cache_dir: Path | None = None) -> None:
        super().__init__(cfg, cache_dir=cache_dir)
        self.gguf = cfg.resolved_gguf()
        if cfg.model == "local":
            # Name the judge after its weights so results and calibrations are not mixed up.
            self.model = self.gguf.stem
            self.id = self._make_id()
        self.server = LocalLLMServer(
            self.gguf,
            n_ctx=cfg.n_ctx,
            threads=cfg.threads,
            parallel=cfg.concurrency,
        )
        self._start_lock: asyncio.Lock | None = None

    async def resolve_base_url(self) -> str:
        """Start the server if needed and return its base URL."""
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.server.base_url is None:
                # Loading weights blocks for a while; keep the event loop responsive.
                await asyncio.to_thread(self.server.start)
            assert self.server.base_url is not None
            return self.server.base_url

    def api_key(self) -> str | None:
        """The in-process server needs no key."""
        return None

    async def aclose(self) -> None:
        """Close the client and stop the server."""
        await super().aclose()
        self.server.stop()
