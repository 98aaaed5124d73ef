"""A seeded generator of production logs: the demo bot's answers to demo questions.

The expensive part, asking the real demo bot, happens once (:func:`build_pool`): every golden
question and two paraphrases of it, against the bot as deployed and against the same bot
after an index loss (a third of the passages gone) whose reranker fails on half the requests
(the retrieval degradation), plus questions
on a topic the corpus does not cover. :func:`generate_week` then draws a week of traffic from
that pool per seed: timestamps, latency, cost, user ids, feedback, planted personal data,
and from ``drift_day`` on the new topic and the degraded retrieval.

Run as a script to write a week of logs::

    python -m ragwacht.monitor.synthetic --out logs/ --seed 3 --drift-day 5
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ragwacht.datasets.io import load_golden_set
from ragwacht.demo.bot import DemoBot
from ragwacht.demo.corpus import load_corpus

PARAPHRASES = (
    "{q}",
    "Kunt u mij vertellen: {lq}",
    "Vraagje over de registraties. {q} Alvast bedankt.",
)
NEW_TOPIC = (
    "Hoe vraag ik een nieuw paspoort aan bij de gemeente?",
    "Wat kost een identiteitskaart voor een kind?",
    "Hoe lang is een rijbewijs geldig na verlenging?",
    "Waar kan ik een parkeervergunning voor bewoners aanvragen?",
    "Wanneer wordt het grofvuil opgehaald in mijn wijk?",
    "Hoe vraag ik bijzondere bijstand aan?",
    "Hoe maak ik een afspraak voor een uittreksel uit de basisregistratie personen?",
    "Wat moet ik doen om mijn verhuizing door te geven?",
    "Hoe vraag ik een evenementenvergunning aan voor een straatfeest?",
    "Welke documenten heb ik nodig voor een huwelijk op het stadhuis?",
    "Hoe krijg ik een gehandicaptenparkeerkaart?",
    "Waar meld ik een kapotte lantaarnpaal?",
)
# Valid by each detector's own check (BSN 11-proef, IBAN mod 97, Dutch mobile, e-mail).
PLANTED_PII = {
    "bsn": "111222333",
    "iban": "NL91ABNA0417164300",
    "phone": "06-12345678",
    "email": "jan.jansen@example.nl",
}
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class PoolEntry:
    """One question as asked and the bot's logged answer."""

    question: str
    answer: str
    contexts: list[dict[str, Any]]
    refused: bool
    tokens: tuple[int, int]
    kind: str  # "normal", "degraded" or "new_topic"


def _paraphrases(q: str) -> list[str]:
    lq = q[0].lower() + q[1:]
    return [p.format(q=q, lq=lq) for p in PARAPHRASES]


def _entry(bot: Any, q: str, kind: str, *, reranker: bool = True) -> PoolEntry:
    # Without its reranker the bot falls back to dense retrieval, as a deployment whose
    # reranker times out would.
    settings = (
        {"retrieval": "hybrid", "reranker": True}
        if reranker
        else {"retrieval": "dense", "reranker": False}
    )
    r = bot.answer(q, top_k=5, **settings)
    contexts = [
        {"text": s.get("text", ""), "doc_id": s.get("doc_id"), "score": s.get("score")}
        for s in r["sources"]
    ]
    u = r["usage"]
    return PoolEntry(
        q,
        r["answer"],
        contexts,
        bool(r["refused"]),
        (int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)),
        kind,
    )


def build_pool(
    questions: list[str], *, lost_share: float = 0.35, reranker_outage: float = 0.5
) -> dict[str, list[PoolEntry]]:
    """Ask the real demo bot (in-process) every question, paraphrase and new-topic question.

    Args:
        questions: the golden questions (e.g. those of ``datasets/registers-demo``).
        lost_share: share of passages missing from the degraded bot's index.
        reranker_outage: share of the degraded bot's answers given without its reranker.

    Returns:
        ``{"normal": [...], "degraded": [...], "new_topic": [...]}``.

    """
    bot = DemoBot()
    passages = load_corpus()
    rng = np.random.default_rng(12345)
    keep = [p for p in passages if rng.random() >= lost_share]
    broken = DemoBot(passages=keep)
    asked = [p for q in questions for p in _paraphrases(q)]
    return {
        "normal": [_entry(bot, q, "normal") for q in asked],
        "degraded": [
            _entry(broken, q, "degraded", reranker=rng.random() >= reranker_outage) for q in asked
        ],
        "new_topic": [_entry(bot, q, "new_topic") for p in NEW_TOPIC for q in _paraphrases(p)],
    }


def _plant(text: str, rng: np.random.Generator) -> str:
    kind = str(rng.choice(sorted(PLANTED_PII)))
    value = PLANTED_PII[kind]
    lead = {
        "bsn": f"Mijn BSN is {value}.",
        "iban": f"Mijn rekening is {value}.",
        "phone": f"Bel me op {value}.",
        "email": f"Mail naar {value}.",
    }[kind]
    return f"{lead} {text}"


def generate_week(
    pool: dict[str, list[PoolEntry]],
    seed: int,
    *,
    drift_day: int | None = 5,
    per_day: int = 150,
    days: int = 7,
    new_topic_share: float = 0.3,
    pii_share: float = 0.05,
) -> list[dict[str, Any]]:
    """One week of logged interactions (JSONL records), drawn from ``pool`` with ``seed``.

    Args:
        pool: from :func:`build_pool`.
        seed: the week's seed.
        drift_day: 1-based day from which the new topic and the degraded retrieval appear;
            None for a week without drift.
        per_day: interactions per day.
        days: days in the week.
        new_topic_share: share of new-topic questions on drifted days.
        pii_share: share of interactions with personal data planted in question or answer.

    Returns:
        The records in time order.

    """
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for d in range(days):
        drifted = drift_day is not None and d + 1 >= drift_day
        day_start = START + timedelta(days=d)
        seconds = np.sort(rng.integers(7 * 3600, 22 * 3600, size=per_day))
        for k in range(per_day):
            if drifted and rng.random() < new_topic_share:
                e = pool["new_topic"][int(rng.integers(len(pool["new_topic"])))]
            else:
                src = pool["degraded" if drifted else "normal"]
                e = src[int(rng.integers(len(src)))]
            question, answer = e.question, e.answer
            user: str = f"burger-{int(rng.integers(60)):03d}"
            if rng.random() < pii_share:
                if rng.random() < 0.7:
                    question = _plant(question, rng)
                else:
                    answer = _plant(answer, rng)
            if rng.random() < pii_share:
                user = PLANTED_PII["email"]
            feedback: str | None = None
            if rng.random() < 0.3:
                p_down = 0.55 if e.refused else 0.12
                feedback = "down" if rng.random() < p_down else "up"
            tin, tout = e.tokens
            out.append(
                {
                    "timestamp": (day_start + timedelta(seconds=int(seconds[k]))).isoformat(),
                    "question": question,
                    "answer": answer,
                    "contexts": e.contexts,
                    "latency_ms": round(float(rng.lognormal(np.log(650), 0.35)), 1),
                    "input_tokens": tin,
                    "output_tokens": tout,
                    "cost": round((tin * 0.15 + tout * 0.6) / 1e6, 8),
                    "feedback": feedback,
                    "user_id": user,
                    "refused": e.refused,
                }
            )
    return out


def to_otlp(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The same interactions as one OTLP JSON ``ExportTraceServiceRequest`` of GenAI spans."""

    def attr(key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"key": key, "value": {"boolValue": value}}
        if isinstance(value, int):
            return {"key": key, "value": {"intValue": str(value)}}
        return {"key": key, "value": {"stringValue": str(value)}}

    spans = []
    for i, r in enumerate(records):
        start = int(datetime.fromisoformat(r["timestamp"]).timestamp() * 1e9)
        in_msgs = [{"role": "user", "parts": [{"type": "text", "content": r["question"]}]}]
        out_msgs = [{"role": "assistant", "parts": [{"type": "text", "content": r["answer"]}]}]
        attrs = [
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.request.model", "ragwacht-demo"),
            attr("gen_ai.input.messages", json.dumps(in_msgs, ensure_ascii=False)),
            attr("gen_ai.output.messages", json.dumps(out_msgs, ensure_ascii=False)),
            attr("gen_ai.usage.input_tokens", r["input_tokens"]),
            attr("gen_ai.usage.output_tokens", r["output_tokens"]),
            attr("ragwacht.contexts", json.dumps(r["contexts"], ensure_ascii=False)),
            attr("ragwacht.refused", r["refused"]),
            attr("user.id", r["user_id"]),
        ]
        if r.get("feedback"):
            attrs.append(attr("ragwacht.feedback", r["feedback"]))
        spans.append(
            {
                "traceId": f"{i + 1:032x}",
                "spanId": f"{i + 1:016x}",
                "name": "chat ragwacht-demo",
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + int(r["latency_ms"] * 1e6)),
                "attributes": attrs,
            }
        )
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", "chatbot")]},
                "scopeSpans": [{"scope": {"name": "ragwacht.synthetic"}, "spans": spans}],
            }
        ]
    }


def write_week(records: list[dict[str, Any]], out: Path, *, otel_every: int = 10) -> list[Path]:
    """Write records as ``interactions.jsonl`` and every ``otel_every``-th as OTLP JSON lines."""
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "interactions.jsonl"
    otel = out / "spans.otlp.jsonl"
    plain = [r for i, r in enumerate(records) if i % otel_every]
    traced = [r for i, r in enumerate(records) if not i % otel_every]
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in plain), "utf-8")
    # The collector's file exporter writes one request per line; a few spans per line here.
    lines = [json.dumps(to_otlp(traced[i : i + 5])) for i in range(0, len(traced), 5)]
    otel.write_text("\n".join(lines) + "\n", "utf-8")
    return [jsonl, otel]


def main(argv: list[str] | None = None) -> None:
    """Write one generated week of logs (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="datasets/registers-demo")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drift-day", type=int, default=5, help="0 for no drift")
    ap.add_argument("--per-day", type=int, default=150)
    args = ap.parse_args(argv)
    gs = load_golden_set(args.dataset)
    pool = build_pool([c.question for c in gs.cases])
    week = generate_week(pool, args.seed, drift_day=args.drift_day or None, per_day=args.per_day)
    for p in write_week(week, args.out):
        print(p)


if __name__ == "__main__":
    main()
