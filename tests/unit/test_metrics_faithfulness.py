"""faithfulness and hallucination_rate: values, shared verification, not-scored cases."""

from __future__ import annotations

import asyncio

import pytest

from ragwacht.errors import JudgeError
from ragwacht.metrics.base import create_metric
from ragwacht.metrics.faithfulness import SHARED, Faithfulness, HallucinationRate
from ragwacht.metrics.judges.base import Verdict
from ragwacht.metrics.judges.lexical import LexicalVerifier
from tests.helpers.metrics import ScriptedVerifier, case, item, response, score

S, C, U = Verdict.SUPPORTED, Verdict.CONTRADICTED, Verdict.UNVERIFIABLE
CTX = ["De WOZ-waarde wordt elk jaar door de gemeente vastgesteld."]


def both(verifier: object, **hall: object) -> tuple[Faithfulness, HallucinationRate]:
    return (
        create_metric("faithfulness", verifier=verifier),  # type: ignore[return-value]
        create_metric("hallucination_rate", verifier=verifier, **hall),  # type: ignore[return-value]
    )


@pytest.mark.parametrize(
    ("verdicts", "faith", "hall", "hall_strict"),
    [
        ([S, S, S, S], 1.0, 0.0, 0.0),
        ([S, S, U, S], 0.75, 1.0, 0.0),
        ([S, C, S], 2 / 3, 1.0, 1.0),
        ([U, U], 0.0, 1.0, 0.0),
    ],
)
def test_values_from_verdicts(
    verdicts: list[Verdict], faith: float, hall: float, hall_strict: float
) -> None:
    v = ScriptedVerifier(verdicts)
    f, h = both(v)
    h_strict = create_metric("hallucination_rate", verifier=v, count_unverifiable=False)
    it = item(case(), response("Een antwoord.", CTX))
    rf = score(f, it)[0]
    assert rf.value == pytest.approx(faith)
    assert score(h, it)[0].value == hall
    assert score(h_strict, it)[0].value == hall_strict
    assert rf.judge == "scripted" and rf.prompt_version == "test-v1"
    assert [c["verdict"] for c in rf.details["claims"]] == [x.value for x in verdicts]
    assert rf.details["claims"][0]["evidence_index"] == 0


def test_direction_and_registration() -> None:
    assert create_metric("hallucination_rate").higher_is_better is False
    assert create_metric("faithfulness").higher_is_better is True
    assert create_metric("faithfulness").judge_id == "lexical"
    assert create_metric("faithfulness").describe()["weak"] is True


def test_two_metrics_share_one_verification() -> None:
    SHARED.clear()
    v = ScriptedVerifier([S, U])
    f, h = both(v)
    items = [item(case(cid=f"c{i}"), response(f"Antwoord {i}.", CTX)) for i in range(3)]

    async def run() -> None:
        await f.score_batch(items)
        await h.score_batch(items)

    asyncio.run(run())
    assert v.calls == 3


def test_concurrent_requests_wait_on_one_call() -> None:
    SHARED.clear()
    v = ScriptedVerifier([S])
    f, h = both(v)
    it = item(case(), response("Antwoord.", CTX))

    async def run() -> None:
        await asyncio.gather(f.score_batch([it]), h.score_batch([it]), f.score_batch([it]))

    asyncio.run(run())
    assert v.calls == 1


def test_default_lexical_verifier_end_to_end() -> None:
    f, h = both(None)
    good = item(case(), response("De gemeente stelt de WOZ-waarde elk jaar vast [bag-1].", CTX))
    bad = item(
        case(),
        response("De WOZ-waarde wordt elk jaar vastgesteld. Het Rijk int de belasting.", CTX),
    )
    rg, rb = score(f, good, bad)
    assert rg.value == 1.0 and rb.value == 0.5
    assert rg.judge == "lexical" and rg.details["weak_judge"] is True
    hg, hb = score(h, good, bad)
    assert hg.value == 0.0 and hb.value == 1.0
    assert hb.details["unsupported_claims"] == ["Het Rijk int de belasting."]


@pytest.mark.parametrize(
    ("resp", "reason"),
    [
        (response(None, CTX, error="boom", error_kind="timeout"), "endpoint error: timeout"),
        (response("Dat kan ik niet beantwoorden.", CTX), "the bot refused"),
        (response("Ik heb daarover geen informatie.", CTX), "the bot refused"),
        (response("Een antwoord.", CTX, refused=True), "the bot refused"),
        (response("Een antwoord.", []), "no retrieved contexts"),
        (response("Ik hoop dat dit helpt.", CTX), "no claims in the answer"),
    ],
)
def test_not_scored(resp: object, reason: str) -> None:
    for m in both(LexicalVerifier()):
        r = score(m, item(case(), resp))[0]  # type: ignore[arg-type]
        assert r.value is None and r.reason == reason and r.error is False


@pytest.mark.parametrize(
    "error", [JudgeError("judge timed out", reason="timeout"), RuntimeError("parser bug")]
)
def test_judge_failure_is_not_a_score(error: Exception) -> None:
    SHARED.clear()
    v = ScriptedVerifier(error=error)
    f, h = both(v)
    it = item(case(), response("Een antwoord.", CTX))
    for m in (f, h):
        r = score(m, it)[0]
        assert r.value is None and r.error is True
        assert "judge failed" in (r.reason or "")
    # the failure is remembered: the second metric did not call the failing judge again
    assert v.calls == 1


@pytest.mark.parametrize(
    "answer",
    [
        "Here is the answer: the Eiffel Tower is in Berlin.",
        "Hier is het antwoord: de Eiffeltoren staat in Berlijn.",
    ],
)
def test_a_lead_in_does_not_hide_the_claim_after_it(answer: str) -> None:
    ctx = ["De Eiffeltoren staat in Parijs. The Eiffel Tower is in Paris."]
    f, h = both(LexicalVerifier())
    it = item(case(), response(answer, ctx))
    rf, rh = score(f, it)[0], score(h, it)[0]
    assert rf.value == 0.0 and rf.details["n_claims"] == 1
    assert rh.value == 1.0
    assert "Berl" in rh.details["unsupported_claims"][0]


def test_an_answer_of_lead_ins_only_is_not_scored() -> None:
    for m in both(LexicalVerifier()):
        r = score(m, item(case(), response("Hier is het antwoord:", CTX)))[0]
        assert r.value is None and r.reason == "no claims in the answer"
