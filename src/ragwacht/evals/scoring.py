"""Bounded scoring: text caps, a time budget per metric, a checkpoint, and prompt Ctrl-C.

A chatbot's answer is untrusted and may be huge: embedding a 10 MB answer takes longer than any
gate can wait, in a thread nothing can stop. So scoring reads at most
:data:`SCORING_MAX_CHARS` characters of an answer and of each retrieved passage (the record
keeps the full text), each metric has a time budget (``execution.scoring_timeout_s`` per case),
blocking work runs on daemon threads that an interrupted run does not wait for, and every
finished metric is written to ``scores.jsonl`` so that ``--resume`` does not score it again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragwacht.errors import ConfigError
from ragwacht.metrics.base import Metric, ScoreInput
from ragwacht.records import MetricResult, Response
from ragwacht.records.metric import upgrade_v1_metric

log = logging.getLogger(__name__)

# Why 20,000: a golden answer is a few hundred characters and a passage one or two thousand;
# embedding models read at most 512 tokens (about 2,000 characters) and judge prompts must fit
# a context window, so text beyond this bound changes no score but can cost minutes per case.
SCORING_MAX_CHARS = 20_000
# Default time budget per case and metric (execution.scoring_timeout_s); a metric's whole
# batch gets this times the number of cases, plus a fixed minute for loading models.
DEFAULT_SCORING_TIMEOUT_S = 60.0
_BATCH_OVERHEAD_S = 60.0
CHECKPOINT_NAME = "scores.jsonl"


def _cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


def cut_for_scoring(response: Response, limit: int = SCORING_MAX_CHARS) -> tuple[Response, bool]:
    """The response as metrics see it: answer and passage texts cut to ``limit`` characters.

    Returns:
        The (possibly) shortened copy, and whether anything was cut.

    """
    answer, cut = _cut(response.answer, limit)
    contexts = []
    for ctx in response.contexts:
        text, c = _cut(ctx.text, limit)
        cut = cut or c
        contexts.append(ctx.model_copy(update={"text": text}) if c else ctx)
    if not cut:
        return response, False
    return response.model_copy(update={"answer": answer, "contexts": contexts}), True


def batch_timeout(per_case_s: float, n_items: int) -> float:
    """The time budget of one metric over ``n_items`` cases."""
    return _BATCH_OVERHEAD_S + per_case_s * max(1, n_items)


class DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor whose jobs run on daemon threads, for the event loop's ``to_thread`` work.

    ``ThreadPoolExecutor`` joins its threads when the loop closes and again at interpreter
    exit, so a scoring job that was given up on (time budget, Ctrl-C) would keep the process
    alive until it finished. Here a job that is no longer awaited is simply abandoned; it dies
    with the process. (A ``ThreadPoolExecutor`` subclass because asyncio accepts no other as
    the default executor; none of its worker machinery is used.)
    """

    def __init__(self, max_workers: int = 8) -> None:
        """Run at most ``max_workers`` jobs at a time."""
        super().__init__(max_workers=max_workers, thread_name_prefix="ragwacht-work")
        self._slots = threading.BoundedSemaphore(max_workers)
        self._closed = False

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a daemon thread; return its future."""
        if self._closed:
            raise RuntimeError("executor is shut down")
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            with self._slots:
                if not fut.set_running_or_notify_cancel():
                    return
                try:
                    fut.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # handed to the awaiting coroutine
                    fut.set_exception(exc)

        threading.Thread(target=work, name="ragwacht-work", daemon=True).start()
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new jobs; never wait for abandoned ones (see the class docstring)."""
        self._closed = True


def _digest(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ScoreCheckpoint:
    """Finished metrics on disk (``scores.jsonl``), one line per metric and case.

    A line is reused on ``--resume`` only for the same suite (hash), the same metric
    (description, version, judge) and the same response the metric saw, so a changed answer
    or suite is scored again.
    """

    def __init__(self, path: Path, suite_hash: str, *, fresh: bool) -> None:
        """Open the checkpoint at ``path``; ``fresh`` discards what an earlier run left."""
        self.path = path
        self.suite_hash = suite_hash
        self._done: dict[str, dict[str, Any]] = {}
        if fresh:
            path.unlink(missing_ok=True)
        elif path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self._done[row["key"]] = row["result"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill: that case is scored again

    def key(self, metric: Metric, item: ScoreInput) -> str:
        """What a stored score must match to be reused."""
        return _digest(
            {
                "suite": self.suite_hash,
                "metric": metric.describe(),
                "case": item.case.id,
                "response": item.response.model_dump(mode="json"),
                "repeats": [r.model_dump(mode="json") for r in item.repeats],
            }
        )

    def load_some(self, metric: Metric, items: Sequence[ScoreInput]) -> dict[int, MetricResult]:
        """The stored results of ``metric`` by item position, for the items that have one."""
        out = {}
        for k, it in enumerate(items):
            raw = self._done.get(self.key(metric, it))
            if raw is not None:
                out[k] = MetricResult.model_validate(upgrade_v1_metric(raw))
        return out

    def save(
        self, metric: Metric, items: Sequence[ScoreInput], results: Sequence[MetricResult]
    ) -> None:
        """Append a finished metric (flushed, so a kill right after keeps it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for it, res in zip(items, results, strict=True):
                row = {
                    "key": self.key(metric, it),
                    "metric": metric.id,
                    "case_id": it.case.id,
                    "result": res.model_dump(mode="json"),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()

    def finished_metrics(self) -> int:
        """How many metric x case results are on disk."""
        return len(self._done)


async def score_cases(
    metrics: Sequence[Metric],
    items: Sequence[ScoreInput],
    *,
    progress: bool = True,
    console: Console | None = None,
    timeout_s: float | None = None,
    checkpoint: ScoreCheckpoint | None = None,
    finished: list[str] | None = None,
    on_metric: Callable[[str], Any] | None = None,
) -> list[dict[str, MetricResult]]:
    """Score every item with every metric; a metric that crashes marks its cases not scored.

    Args:
        metrics: the metrics, scored one after another.
        items: one input per case.
        progress: show a progress bar.
        console: where the progress bar goes.
        timeout_s: time budget per case; a metric over ``batch_timeout(timeout_s, n)`` marks
            its cases not scored (a judge failure, counted in the error budget).
        checkpoint: where finished metrics are written, and read back on ``--resume``.
        finished: filled with the ids of the metrics that finished (for an interruption).
        on_metric: told the id of each metric as its scoring starts.

    """
    results: list[dict[str, MetricResult]] = [{} for _ in items]
    with Progress(
        TextColumn("[bold]scoring[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(metrics))
        for metric in metrics:
            bar.update(task, description=metric.id)
            if on_metric is not None:
                on_metric(metric.id)
            stored = checkpoint.load_some(metric, items) if checkpoint is not None else {}
            todo = [it for k, it in enumerate(items) if k not in stored]
            fresh: list[MetricResult] = []
            if todo:
                budget = batch_timeout(timeout_s, len(todo)) if timeout_s else None
                try:
                    fresh = await asyncio.wait_for(metric.score_batch(todo), budget)
                except ConfigError:
                    raise
                except TimeoutError:
                    log.warning("metric %s ran out of its %.0f s budget", metric.id, budget)
                    reason = (
                        f"scoring timed out after {budget:.0f} s "
                        f"(execution.scoring_timeout_s = {timeout_s:g} s per case)"
                    )
                    fresh = [metric.not_scored(reason, error=True) for _ in todo]
                except Exception as exc:  # a broken backend must not cost the other metrics
                    log.warning("metric %s failed: %s", metric.id, exc)
                    reason = f"metric failed: {type(exc).__name__}: {exc}"[:300]
                    fresh = [metric.not_scored(reason, error=True) for _ in todo]
                if checkpoint is not None:
                    checkpoint.save(metric, todo, fresh)
            new = iter(fresh)
            scored = [stored[k] if k in stored else next(new) for k in range(len(items))]
            for slot, res in zip(results, scored, strict=True):
                slot[metric.id] = res
            if finished is not None:
                finished.append(metric.id)
            bar.advance(task)
    return results
