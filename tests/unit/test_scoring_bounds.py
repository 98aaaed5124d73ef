"""Bounded scoring: the text cut, the daemon executor, the checkpoint's reuse rule."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from ragwacht.datasets.models import GoldenCase
from ragwacht.evals.scoring import (
    SCORING_MAX_CHARS,
    DaemonExecutor,
    ScoreCheckpoint,
    cut_for_scoring,
)
from ragwacht.metrics.base import ScoreInput, create_metric
from ragwacht.records import Response, RetrievedContext


def test_cut_for_scoring_bounds_answer_and_passages_and_keeps_the_original() -> None:
    long = "x" * (SCORING_MAX_CHARS + 5)
    resp = Response(
        case_id="c",
        answer=long,
        contexts=[RetrievedContext(text=long, doc_id="d"), RetrievedContext(text="kort")],
    )
    cut, was_cut = cut_for_scoring(resp)
    assert was_cut and len(cut.answer or "") == SCORING_MAX_CHARS
    assert [len(c.text) for c in cut.contexts] == [SCORING_MAX_CHARS, 4]
    assert cut.contexts[0].doc_id == "d"
    assert len(resp.answer or "") == SCORING_MAX_CHARS + 5  # the record's copy is untouched
    same, was_cut = cut_for_scoring(Response(case_id="c", answer="kort"))
    assert not was_cut and same.answer == "kort"


def test_daemon_executor_does_not_wait_for_abandoned_work() -> None:
    release = threading.Event()

    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())
        job = asyncio.ensure_future(asyncio.to_thread(release.wait))
        await asyncio.sleep(0)
        job.cancel()  # given up on, like a metric over its budget

    # asyncio.run shuts the default executor down on exit: it must not join the stuck job.
    asyncio.run(main())
    worker = [t for t in threading.enumerate() if t.name == "ragwacht-work"]
    assert worker and all(t.daemon for t in worker)
    release.set()


def test_checkpoint_reuses_only_the_same_suite_metric_and_response(tmp_path: Path) -> None:
    metric = create_metric("refusal_correctness")
    item = ScoreInput(
        case=GoldenCase(id="c1", question="q"), response=Response(case_id="c1", answer="a")
    )
    res = [metric.result(1.0)]
    path = tmp_path / "scores.jsonl"
    ScoreCheckpoint(path, "sha256:s", fresh=True).save(metric, [item], res)
    again = ScoreCheckpoint(path, "sha256:s", fresh=False)
    assert again.load_some(metric, [item]) == {0: res[0]}
    changed = ScoreInput(case=item.case, response=Response(case_id="c1", answer="b"))
    assert again.load_some(metric, [changed]) == {}
    # Only the items that have a stored score get one: the rest are scored again.
    assert again.load_some(metric, [changed, item]) == {1: res[0]}
    assert ScoreCheckpoint(path, "sha256:other", fresh=False).load_some(metric, [item]) == {}
    assert ScoreCheckpoint(path, "sha256:s", fresh=True).load_some(metric, [item]) == {}
    assert not path.exists()
