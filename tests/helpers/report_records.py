"""Builders of realistic RunRecords (and gate results, trends, comparisons) for report tests.

The records look like what ``ragwacht run`` writes for a Dutch public-sector chatbot: answers
built from retrieved passages, claims with verdicts and evidence, retrieval scores, latency and
cost, a few endpoint and judge failures, and tags for topic, language and difficulty.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ragwacht.ci.gate import gate
from ragwacht.ci.policy import parse_policy
from ragwacht.records import (
    CaseResult,
    GateResult,
    JudgeInfo,
    Manifest,
    MetricResult,
    MetricSummary,
    Response,
    RetrievedContext,
    RunRecord,
    TagSummary,
    Usage,
)

MALICIOUS = (
    "<script>window.__pwned=1</script>"
    '<img src=x onerror="window.__pwned=2">'
    '<a href="javascript:window.__pwned=3">klik hier</a>'
)

TOPICS = {
    "bag": (
        "Basisregistratie Adressen en Gebouwen",
        [
            "De BAG bevat gegevens over alle adressen en gebouwen in Nederland.",
            "Gemeenten zijn bronhouder van de BAG en leggen de gegevens vast.",
            "Het Kadaster beheert de landelijke voorziening van de BAG.",
            "Elk verblijfsobject in de BAG heeft een gebruiksdoel en een oppervlakte.",
            "Een pand in de BAG heeft een bouwjaar en een status zoals 'pand in gebruik'.",
        ],
    ),
    "woz": (
        "Waardering Onroerende Zaken",
        [
            "De WOZ-waarde wordt elk jaar door de gemeente vastgesteld.",
            "De waardepeildatum ligt een jaar voor het begin van het belastingjaar.",
            "Tegen de WOZ-beschikking kunt u binnen zes weken bezwaar maken.",
            "De WOZ-waarde is de basis voor de onroerendezaakbelasting.",
            "De Waarderingskamer houdt toezicht op de uitvoering van de Wet WOZ.",
        ],
    ),
    "bgt": (
        "Basisregistratie Grootschalige Topografie",
        [
            "De BGT is een digitale kaart van Nederland op een schaal tot 1:500.",
            "Wegen, water, gebouwen en groen staan in de BGT als objecten.",
            "Bronhouders zoals provincies en waterschappen houden de BGT actueel.",
            "De BGT wordt gebruikt voor beheer van de openbare ruimte.",
            "Wijzigingen in de BGT moeten binnen zes maanden worden verwerkt.",
        ],
    ),
    "brk": (
        "Basisregistratie Kadaster",
        [
            "De BRK bevat eigendom, hypotheken en kadastrale percelen.",
            "Een kadastraal perceel heeft een uniek kadastraal nummer.",
            "Het Kadaster schrijft akten van de notaris in de openbare registers in.",
            "De kadastrale kaart toont de ligging van percelen, niet exacte grenzen.",
            "Een uittreksel uit de BRK is tegen betaling op te vragen.",
        ],
    ),
}

QUESTIONS = {
    "bag": "Wie is verantwoordelijk voor de gegevens in de BAG en wat staat erin?",
    "woz": "Hoe wordt de WOZ-waarde vastgesteld en kan ik bezwaar maken?",
    "bgt": "Wat is de BGT en wie houdt die actueel?",
    "brk": "Welke gegevens staan in de Basisregistratie Kadaster?",
}
FALSE_CLAIMS = {
    "bag": "De Belastingdienst legt de BAG-gegevens vast.",
    "woz": "Bezwaar tegen de WOZ-beschikking kan binnen twaalf weken.",
    "bgt": "De BGT heeft een schaal van 1:10.000.",
    "brk": "De kadastrale kaart toont de exacte grenzen van percelen.",
}
UNVERIFIABLE = "Dit geldt sinds 1 januari 2019 voor alle gemeenten."
FILLER = (
    " Meer informatie staat in de handreiking voor bronhouders, die jaarlijks wordt "
    "bijgewerkt na overleg met de gebruikers van de registratie en de ketenpartners."
)
METRICS = {
    # id: (kind, higher_is_better, unit, judge, weak)
    "recall@5": ("score", True, "", None, False),
    "faithfulness": ("score", True, "", "nli:mdeberta", False),
    "hallucination_rate": ("score", False, "", "nli:mdeberta", False),
    "answer_correctness": ("score", True, "", "lexical", True),
    "latency": ("measure", False, "ms", None, False),
    "cost": ("measure", False, "EUR", None, False),
}


def _passage(topic: str, i: int, rng: random.Random, chars: int) -> str:
    sentences = TOPICS[topic][1]
    text = " ".join(sentences[(i + k) % len(sentences)] for k in range(3))
    while len(text) < chars:
        text += FILLER
    return text[:chars].rstrip() + "."


def _wilson(k: float, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(cases: list[CaseResult]) -> dict[str, MetricSummary]:
    """Per-metric summary like ``ragwacht.evals.summary`` (simple intervals)."""
    out: dict[str, MetricSummary] = {}
    for mid, (kind, hib, unit, judge, weak) in METRICS.items():
        res = [c.metrics.get(mid) for c in cases]
        vals = [r.value for r in res if r is not None and r.value is not None]
        mean = sum(vals) / len(vals) if vals else None
        lo = hi = p50 = p95 = None
        if vals and kind == "score":
            if all(v in (0.0, 1.0) for v in vals):
                lo, hi = _wilson(sum(vals), len(vals))
            else:
                sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / max(len(vals) - 1, 1))
                half = 1.96 * sd / math.sqrt(len(vals))
                lo, hi = max(0.0, mean - half), min(1.0, mean + half)
        if vals and kind == "measure":
            p50, p95 = _pct(vals, 50), _pct(vals, 95)
        by_tag: dict[str, dict[str, TagSummary]] = {}
        for key in ("topic", "lang", "difficulty"):
            groups: dict[str, list[float | None]] = defaultdict(list)
            for c, r in zip(cases, res, strict=True):
                for tag in c.tags:
                    if tag.startswith(key + ":"):
                        groups[tag.split(":", 1)[1]].append(r.value if r else None)
            if groups and kind == "score":
                by_tag[key] = {}
                for v, xs in sorted(groups.items()):
                    s = [x for x in xs if x is not None]
                    by_tag[key][v] = TagSummary(
                        mean=sum(s) / len(s) if s else None, scored=len(s), total=len(xs)
                    )
        reasons = Counter(r.reason or "not scored" for r in res if r and r.value is None)
        out[mid] = MetricSummary(
            metric=mid,
            kind=kind,
            higher_is_better=hib,
            unit=unit,
            weak=weak,
            judge=judge,
            mean=mean,
            ci_low=lo,
            ci_high=hi,
            scored=len(vals),
            total=len(cases),
            errors=sum(1 for r in res if r is not None and r.error),
            p50=p50,
            p95=p95,
            by_tag=by_tag,
            not_scored_reasons=dict(reasons),
        )
    return out


def build_case(
    i: int,
    rng: random.Random,
    *,
    variant: str = "default",
    source_chars: int = 480,
    quality: float = 0.85,
    malicious: bool = False,
) -> CaseResult:
    """One case; ``quality`` is the chance that a claim is supported."""
    topic = list(TOPICS)[i % len(TOPICS)]
    lang = "nl" if i % 5 else "en"
    difficulty = ("easy", "medium", "hard")[i % 3]
    cid = f"{topic}-{i:04d}"
    # A fixed corpus: a document always has the same text, wherever it is retrieved.
    doc_nums = [(i + k) % 40 for k in range(5)]
    rng.shuffle(doc_nums)
    # Every third case misses one gold document, so recall varies.
    gold = [f"{topic}-doc-{i % 40:03d}", f"{topic}-doc-{(i + (7 if i % 3 == 0 else 1)) % 40:03d}"]
    contexts = [
        RetrievedContext(
            text=_passage(topic, d, rng, source_chars),
            doc_id=f"{topic}-doc-{d:03d}",
            score=round(0.92 - 0.07 * k + rng.uniform(-0.02, 0.02), 4),
            rank=k + 1,
        )
        for k, d in enumerate(doc_nums)
    ]
    error = i % 29 == 7
    judge_error = i % 31 == 11
    usage = Usage(prompt_tokens=900 + i % 300, completion_tokens=120 + i % 80)
    usage.total_tokens = (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)
    latency = 700 + rng.lognormvariate(6.3, 0.45)
    claims: list[dict[str, Any]] = []
    if error:
        resp = Response(
            case_id=cid,
            variant=variant,
            answer=None,
            contexts=[],
            latency_ms=30000.0,
            error="read timeout after 30 s",
            error_kind="timeout",
            attempts=3,
        )
    else:
        sentences = TOPICS[topic][1]
        for k in range(3):
            supported = rng.random() < quality
            if supported:
                ctx_idx = k
                claim = sentences[(i + k) % len(sentences)]
                claims.append(
                    {
                        "claim": claim,
                        "verdict": "supported",
                        "evidence": claim,
                        "evidence_index": ctx_idx,
                        "score": round(rng.uniform(0.8, 0.99), 3),
                    }
                )
            elif k % 2:
                claims.append(
                    {
                        "claim": UNVERIFIABLE,
                        "verdict": "unverifiable",
                        "evidence": None,
                        "evidence_index": None,
                        "score": round(rng.uniform(0.2, 0.5), 3),
                    }
                )
            else:
                claims.append(
                    {
                        "claim": FALSE_CLAIMS[topic],
                        "verdict": "contradicted",
                        "evidence": sentences[(i + 2) % len(sentences)],
                        "evidence_index": 2,
                        "score": round(rng.uniform(0.01, 0.1), 3),
                    }
                )
        answer = " ".join(c["claim"] for c in claims)
        if malicious:
            answer = f"Volgens de bron: {MALICIOUS} {answer}"
            claims.append(
                {
                    "claim": MALICIOUS,
                    "verdict": "unverifiable",
                    "evidence": MALICIOUS,
                    "evidence_index": 0,
                    "score": 0.1,
                }
            )
            contexts[0].text = "Bronpassage met " + MALICIOUS
            contexts[0].doc_id = '"><script>window.__pwned=4</script>'
        resp = Response(
            case_id=cid,
            variant=variant,
            answer=answer,
            contexts=contexts,
            latency_ms=round(latency, 1),
            usage=usage,
            cost=round((usage.total_tokens or 0) * 2.5e-6, 6),
            attempts=1,
        )
    metrics: dict[str, MetricResult] = {}
    if error:
        for mid in METRICS:
            if mid == "latency":
                continue
            metrics[mid] = MetricResult(metric=mid, value=None, reason="endpoint error: timeout")
        metrics["latency"] = MetricResult(metric="latency", value=None, reason="no answer")
    else:
        ids = [c.doc_id for c in resp.contexts]
        recall = sum(1 for g in gold if g in ids) / len(gold)
        metrics["recall@5"] = MetricResult(metric="recall@5", value=recall)
        claims_d = claims
        if judge_error:
            for mid in ("faithfulness", "hallucination_rate"):
                metrics[mid] = MetricResult(
                    metric=mid,
                    value=None,
                    reason="judge error: invalid JSON from judge",
                    error=True,
                    judge="nli:mdeberta",
                )
        else:
            sup = sum(1 for c in claims_d if c["verdict"] == "supported")
            metrics["faithfulness"] = MetricResult(
                metric="faithfulness",
                value=sup / len(claims_d),
                details={"claims": claims_d},
                judge="nli:mdeberta",
                prompt_version="nli-v1",
            )
            metrics["hallucination_rate"] = MetricResult(
                metric="hallucination_rate",
                value=1.0 if sup < len(claims_d) else 0.0,
                judge="nli:mdeberta",
            )
        if i % 4 == 3:
            metrics["answer_correctness"] = MetricResult(
                metric="answer_correctness", value=None, reason="case has no reference_answer"
            )
        else:
            metrics["answer_correctness"] = MetricResult(
                metric="answer_correctness",
                value=round(min(1.0, max(0.0, rng.gauss(quality - 0.1, 0.15))), 3),
                judge="lexical",
            )
        metrics["latency"] = MetricResult(metric="latency", value=resp.latency_ms)
        metrics["cost"] = MetricResult(metric="cost", value=resp.cost)
    question = QUESTIONS[topic] + ("" if i < 4 else f" (variant {i})")
    if malicious:
        question = "Wat betekent " + MALICIOUS + "?"
    return CaseResult(
        case_id=cid if not malicious else f"{cid}<b>x</b>",
        tags=[f"topic:{topic}", f"lang:{lang}", f"difficulty:{difficulty}"],
        question=question,
        reference_answer=" ".join(TOPICS[topic][1][:2]) if i % 4 != 3 else None,
        gold_doc_ids=gold,
        response=resp,
        metrics=metrics,
    )


def build_record(
    n_cases: int = 24,
    *,
    seed: int = 0,
    variant: str = "default",
    quality: float = 0.85,
    source_chars: int = 480,
    malicious_case: int | None = None,
    gate: GateResult | None = None,
    run_id: str | None = None,
    started_at: datetime | None = None,
) -> RunRecord:
    """A run of ``n_cases`` cases with a summary; ``malicious_case`` carries script payloads."""
    rng = random.Random(seed)
    cases = [
        build_case(
            i,
            rng,
            variant=variant,
            source_chars=source_chars,
            quality=quality,
            malicious=(i == malicious_case),
        )
        for i in range(n_cases)
    ]
    started = started_at or datetime(2025, 3, 3, 14, 5, tzinfo=UTC)
    manifest = Manifest(
        harness_version="0.1.0",
        git_sha="3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345",
        git_branch="feature/reranker",
        suite_name="registers-demo",
        suite_path="evals/registers-demo.yaml",
        suite_hash="sha256:" + "ab" * 32,
        dataset_name="registers-demo",
        dataset_version="1.2.0",
        dataset_digest="sha256:" + "cd" * 32,
        endpoint_profile={
            "name": "demo-bot",
            "url": "http://127.0.0.1:8765/chat",
            "headers": {"Authorization": "Bearer ${DEMO_TOKEN}"},
            "api_key_env": "DEMO_TOKEN",
        },
        variant=variant,
        variant_settings={"retrieval": "hybrid", "rerank": variant != "no-reranker"},
        judges=[
            JudgeInfo(
                id="nli:mdeberta",
                kind="nli",
                model="MoritzLaurer/mDeBERTa-v3-base-xnli",
                prompt_version="nli-v1",
                calibration=None,
            ),
            JudgeInfo(
                id="lexical",
                kind="lexical",
                weak=True,
                prompt_version="lexical-v1",
                calibration=lexical_calibration(),
            ),
        ],
        dataset_language="nl",
        python="3.11.9",
        platform="Linux-x86_64",
        started_at=started,
        finished_at=started + timedelta(minutes=4, seconds=12),
    )
    return RunRecord(
        run_id=run_id or f"run-{seed:04d}-{variant}",
        suite="registers-demo",
        variant=variant,
        manifest=manifest,
        cases=cases,
        summary=summarize(cases),
        endpoint_errors=sum(1 for c in cases if c.response.error),
        judge_errors=sum(1 for c in cases if any(m.error for m in c.metrics.values())),
        gate=gate,
    )


@functools.cache
def _lexical_calibration() -> str:
    """The lexical judge's packaged calibration, as ``ragwacht judges calibrate`` wrote it."""
    from ragwacht.metrics.calibration import PACKAGED_DIR, CalibrationResult

    path = PACKAGED_DIR / "lexical.json"
    return CalibrationResult.model_validate_json(path.read_text("utf-8")).model_dump_json()


def lexical_calibration() -> dict[str, Any]:
    """A fresh copy of the real stored calibration of the lexical judge (English sets)."""
    return json.loads(_lexical_calibration())


def dutch_calibration(tmp_dir: Path, n: int = 24) -> dict[str, Any]:
    """A real calibration of the lexical judge on a small Dutch labelled file.

    The file is written from the fixture passages (faithful: a passage sentence; hallucinated:
    a sentence about another register) and scored by :func:`calibrate`, so the result has the
    exact shape and numbers the code produces.
    """
    from ragwacht.metrics.calibration import calibrate
    from ragwacht.metrics.judges.config import LexicalJudgeConfig
    from ragwacht.metrics.judges.factory import make_verifier

    rng = random.Random(7)
    topics = list(TOPICS)
    path = tmp_dir / "labels-nl.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            topic = topics[i % len(topics)]
            passages = TOPICS[topic][1]
            hallucinated = i % 2 == 1
            other = TOPICS[topics[(i + 1) % len(topics)]][1]
            answer = rng.choice(other if hallucinated else passages)
            item = {
                "id": f"nl-{i}",
                "question": QUESTIONS[topic],
                "contexts": passages,
                "answer": answer,
                "hallucinated": hallucinated,
            }
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    result = asyncio.run(
        calibrate(make_verifier(LexicalJudgeConfig()), path, seed=0, language="nl")
    )
    cal = lexical_calibration()
    cal["runs"].append(result.model_dump(mode="json"))
    return cal


# Policies under which the real gate reaches each verdict on :func:`build_record` runs.
FAIL_POLICY: dict[str, Any] = {
    # A loose error budget, so the verdict is about quality (exit 3), not the budget (exit 4).
    "max_error_rate": 0.5,
    "min_scored_fraction": 0.5,
    # 499 sign flips: a drop that no flip pattern reaches has p = 1/500 = 0.002.
    "n_resamples": 499,
    "rules": [
        # Thresholds a run of quality 0.78 misses (faithfulness ~0.74, hallucination ~0.6).
        {"metric": "faithfulness", "min": 0.85, "regression": False},
        {"metric": "hallucination_rate", "max": 0.25, "regression": False},
        # The one regression test (so Holm leaves its p as it is) against a better baseline.
        {"metric": "answer_correctness", "max_drop": 0.05},
        {"metric": "latency", "stat": "p95", "max": 4000, "regression": False},
    ],
}
PASS_POLICY: dict[str, Any] = {
    "max_error_rate": 1.0,
    "min_scored_fraction": 0.0,
    "n_resamples": 499,
    "rules": [
        {"metric": "faithfulness", "min": 0.0, "max_drop": 1.0},
        {"metric": "hallucination_rate", "max": 1.0, "max_drop": 1.0},
        {"metric": "latency", "stat": "p95", "max": 1e9, "regression": False},
    ],
}


def build_gate(
    record: RunRecord,
    baseline: RunRecord | None = None,
    *,
    verdict: Literal["pass", "fail", "error"] = "fail",
) -> GateResult:
    """The real gate's result for ``record`` (against ``baseline``) with the wanted verdict.

    ``fail``: :data:`FAIL_POLICY`, whose thresholds the run misses and whose regression check
    fails against a better baseline; ``pass``: :data:`PASS_POLICY`, loose enough for any run;
    ``error``: the fail policy with no error budget, which a run with any endpoint or judge
    failure exceeds (exit 4).
    """
    data = PASS_POLICY if verdict == "pass" else dict(FAIL_POLICY)
    if verdict == "error":
        data["max_error_rate"] = 0.0
    result = gate(record, baseline, parse_policy(data, metrics=list(record.summary)))
    want = ("fail", 4) if verdict == "error" else (verdict, 0 if verdict == "pass" else 3)
    got = (result.verdict, result.exit_code)
    assert got == want, f"the fixture's gate gave {got}, not {want}: {result.headline}"
    return result


def build_trend(record: RunRecord, n: int = 8) -> list[dict[str, Any]]:
    """Earlier runs in the shape of ``tracking.list_runs`` (dicts; sanitized metric keys)."""
    rng = random.Random(42)
    out = []
    start = record.manifest.started_at.timestamp()
    for k in range(n):
        means = {}
        for mid, ms in record.summary.items():
            if ms.mean is None:
                continue
            key = mid.replace("@", "_at_")
            jitter = rng.uniform(-0.04, 0.04) * (ms.mean if ms.kind == "measure" else 1)
            value = max(0.0, ms.mean + jitter)
            means[key] = min(1.0, value) if ms.kind == "score" else value
        out.append(
            {
                "run_id": f"mlflow{k:02d}" + "0" * 24,
                "start_time": start - (n - k) * 86400.0,
                "git_sha": f"{k:x}" * 40,
                "means": means,
            }
        )
    return out
