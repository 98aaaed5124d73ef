"""Scoring while the endpoint is called: cases are scored in chunks as their answers arrive.

A run is I/O bound while it calls the endpoint and CPU bound while it scores. Scoring each
chunk of finished cases during the calls uses the time the run spends waiting, and every scored
case goes straight to a spool file: neither the responses nor the case results of a run are
held in memory, whatever the number of cases (see :class:`ragwacht.records.cases.CaseFile`).
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from ragwacht.datasets.models import GoldenCase
from ragwacht.evals.scoring import ScoreCheckpoint, cut_for_scoring, score_cases
from ragwacht.metrics.base import Metric, ScoreInput
from ragwacht.records import CaseResult, MetricResult, Response
from ragwacht.records.cases import CaseFile

# Cases per chunk: big enough for a judge's batch, small enough that the last chunk, scored
# after the last answer, is a small part of the run.
CHUNK_CASES = 256
SPOOL_NAME = ".cases.spool"


class CaseSpool:
    """Scored cases appended to a file as they finish, read back in case order."""

    def __init__(self, path: Path, n_cases: int) -> None:
        """An empty spool at ``path`` for ``n_cases`` cases."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("wb")
        self._offsets: array[int] = array("q", [-1]) * n_cases
        self._lengths: array[int] = array("q", [0]) * n_cases
        self._pos = 0
        self.added = 0

    def add(self, index: int, case: CaseResult) -> None:
        """Append the case at position ``index`` of the run."""
        raw = case.model_dump_json().encode("utf-8")
        self._offsets[index] = self._pos
        self._lengths[index] = len(raw)
        self._fh.write(raw + b"\n")
        self._pos += len(raw) + 1
        self.added += 1

    def cases(self) -> CaseFile:
        """Every case, in case order (all must have been added)."""
        self._fh.flush()
        missing = sum(1 for off in self._offsets if off < 0)
        if missing:  # pragma: no cover - the pipeline scores every case it is given
            raise RuntimeError(f"{missing} cases were never scored")
        return CaseFile(self.path, self._offsets, self._lengths)

    def close(self, *, remove: bool = False) -> None:
        """Close the file (and remove it once the record holds its cases)."""
        self._fh.close()
        if remove:
            self.path.unlink(missing_ok=True)


class ScorePipeline:
    """Collect each case's responses, score finished cases in chunks, spool the results.

    Give :meth:`on_response` to :func:`ragwacht.runners.execute.run_cases`; call :meth:`start`
    before and :meth:`finish` after it. ``make_case`` turns a case, its responses (first
    repeat first) and its metric results into the :class:`CaseResult` that is spooled.
    """

    def __init__(
        self,
        cases: Sequence[GoldenCase],
        metrics: Sequence[Metric],
        *,
        repeats: int,
        language: Callable[[GoldenCase], str],
        make_case: Callable[[GoldenCase, list[Response], dict[str, MetricResult]], CaseResult],
        spool: CaseSpool,
        checkpoint: ScoreCheckpoint | None,
        timeout_s: float | None,
        console: Console | None = None,
        progress: bool = False,
        chunk_cases: int = CHUNK_CASES,
    ) -> None:
        """See the class docstring."""
        self.cases = cases
        self.metrics = metrics
        self.repeats = repeats
        self.language = language
        self.make_case = make_case
        self.spool = spool
        self.checkpoint = checkpoint
        self.timeout_s = timeout_s
        self.console = console
        self.progress = progress
        self.chunk_cases = max(1, chunk_cases)
        self._index = {c.id: i for i, c in enumerate(cases)}
        self._pending: dict[str, list[Response]] = {}
        self._chunk: list[tuple[int, list[Response]]] = []
        self._queue: asyncio.Queue[list[tuple[int, list[Response]]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.calls_done = False
        # What the run reports afterwards.
        self.n_responses = 0
        self.n_cached = 0
        self.n_ok = 0
        self.n_cut = 0
        self.endpoint_errors = 0
        self.judge_errors = 0
        self.has_conversations = any(c.conversation is not None for c in cases)
        self.finished: list[str] = []  # metrics finished on the chunk being scored
        self.scoring_now: str | None = None

    def start(self) -> None:
        """Start the scorer task."""
        self._task = asyncio.get_running_loop().create_task(self._scorer())

    def on_response(self, response: Response) -> None:
        """Take one final response; a case whose repeats are all in joins the chunk."""
        self.n_responses += 1
        self.n_cached += bool(response.cached)
        self.n_ok += bool(response.ok)
        got = self._pending.setdefault(response.case_id, [])
        got.append(response)
        if len(got) < self.repeats:
            return
        del self._pending[response.case_id]
        got.sort(key=lambda r: r.repeat)
        self._chunk.append((self._index[response.case_id], got))
        if len(self._chunk) >= self.chunk_cases:
            self._queue.put_nowait(self._chunk)
            self._chunk = []
        if self._task is not None and self._task.done():
            self._task.result()  # a scorer that failed stops the run now

    async def finish(self) -> None:
        """Score what is left once every call is made; wait for the scorer."""
        self.calls_done = True
        if self._chunk:
            self._queue.put_nowait(self._chunk)
            self._chunk = []
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    def cancel(self) -> None:
        """Stop the scorer (the run was interrupted); what it spooled and checkpointed stays."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _scorer(self) -> None:
        while (batch := await self._queue.get()) is not None:
            await self._score(batch)

    async def _score(self, batch: list[tuple[int, list[Response]]]) -> None:
        items = []
        for i, responses in batch:
            case = self.cases[i]
            first, cut = cut_for_scoring(responses[0])
            self.n_cut += cut
            items.append(
                ScoreInput(
                    case=case,
                    response=first,
                    repeats=[cut_for_scoring(r)[0] for r in responses] if self.repeats > 1 else [],
                    language=self.language(case),
                )
            )
        self.finished = []
        results = await score_cases(
            self.metrics,
            items,
            progress=self.progress and self.calls_done,
            console=self.console,
            timeout_s=self.timeout_s,
            checkpoint=self.checkpoint,
            finished=self.finished,
            on_metric=self._now_scoring,
        )
        for (i, responses), res in zip(batch, results, strict=True):
            result = self.make_case(self.cases[i], responses, res)
            self.endpoint_errors += result.response.error is not None
            self.judge_errors += any(m.error for m in result.metrics.values())
            self.spool.add(i, result)
        self.scoring_now = None

    def _now_scoring(self, metric_id: str) -> Any:
        self.scoring_now = metric_id
