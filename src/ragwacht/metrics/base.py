"""Metric protocol, result model and the registry of metrics by name.

A metric is stateless: it takes one :class:`ScoreInput` (the golden case and the chatbot's
response) and returns a :class:`MetricResult` whose ``value`` lies in [0, 1] for scores, or is
``None`` with a ``reason`` when the case cannot be scored. Not scorable is never 0.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ragwacht._registry import Registry
from ragwacht.datasets.models import GoldenCase
from ragwacht.errors import ConfigError
from ragwacht.records import MetricResult, MetricStatus, Response

Requirement = Literal[
    "answer", "contexts", "context_ids", "reference_answer", "gold_contexts", "judge", "repeats"
]


# Requirements on the golden case itself: a case without them is out of the metric's scope.
_CASE_REQUIREMENTS = frozenset({"reference_answer", "gold_contexts"})


@dataclass
class ScoreInput:
    """Everything a metric may look at for one case."""

    case: GoldenCase
    response: Response
    repeats: list[Response] = field(default_factory=list)
    language: str = "nl"


class Metric:
    """Base class for metrics. Subclasses set the class attributes and implement ``score``.

    Attributes:
        name: snake_case name, used everywhere (MLflow, reports, gate).
        version: bump when the definition changes so old and new values are not compared.
        higher_is_better: direction for the gate.
        requires: what a case/response must carry to be scorable.
        kind: ``score`` (value in [0, 1], averaged) or ``measure`` (raw number, percentiles).
        unit: display unit for measures (``ms``, ``EUR``).
        weak: a heuristic whose output should be labelled as such.

    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    higher_is_better: ClassVar[bool] = True
    requires: ClassVar[frozenset[str]] = frozenset()
    kind: ClassVar[Literal["score", "measure"]] = "score"
    unit: ClassVar[str] = ""
    weak: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    def id(self) -> str:
        """Full name including options that change the value (e.g. ``recall@5``)."""
        return self.name

    @property
    def judge_id(self) -> str | None:
        """Identifier of the judge this metric uses, if any."""
        return None

    def result(self, value: float | None, reason: str | None = None, **kw: Any) -> MetricResult:
        """Build a result for this metric."""
        return MetricResult(
            metric=self.id, value=value, reason=reason, metric_version=self.version, **kw
        )

    def not_scored(self, reason: str, *, error: bool = False, **kw: Any) -> MetricResult:
        """A not-scored result with its reason (``error``: a judge or backend failed)."""
        status = MetricStatus.ERROR if error else MetricStatus.NOT_SCORED
        return self.result(None, reason, status=status, **kw)

    def not_applicable(self, reason: str, **kw: Any) -> MetricResult:
        """A result for a case the metric does not apply to by design."""
        return self.result(None, reason, status=MetricStatus.NOT_APPLICABLE, **kw)

    def missing(self, item: ScoreInput) -> str | None:
        """Reason the item cannot be scored for lack of required inputs, or None."""
        gap = self._gap(item)
        return gap[0] if gap else None

    def unmet(self, item: ScoreInput) -> MetricResult | None:
        """The not-scored (or not-applicable) result when required inputs are missing."""
        gap = self._gap(item)
        if gap is None:
            return None
        why, applicable = gap
        return self.not_scored(why) if applicable else self.not_applicable(why)

    def _gap(self, item: ScoreInput) -> tuple[str, bool] | None:
        # (reason, applicable): what the case itself lacks makes the metric not applicable;
        # what the endpoint did not deliver makes it applicable but not scored.
        r, c = item.response, item.case
        if r.error is not None:
            return f"endpoint error: {r.error_kind or 'error'}", True
        checks = {
            "answer": (r.answer is not None, "no answer"),
            "contexts": (bool(r.contexts), "no retrieved contexts"),
            "reference_answer": (bool(c.reference_answer), "case has no reference_answer"),
            "gold_contexts": (bool(c.gold_contexts), "case has no gold_contexts"),
            "repeats": (len(item.repeats) >= 2, "fewer than 2 repeated answers"),
        }
        for req in self.requires:
            ok, why = checks.get(req, (True, ""))
            if not ok:
                return why, req not in _CASE_REQUIREMENTS
        return None

    def score(self, item: ScoreInput) -> MetricResult:
        """Score one case synchronously (override this or ``ascore``)."""
        raise NotImplementedError

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Score one case; async metrics (LLM judges) override this."""
        return self.score(item)

    async def score_batch(self, items: Sequence[ScoreInput]) -> list[MetricResult]:
        """Score many cases; batched metrics (NLI) override this for throughput."""
        return list(await asyncio.gather(*(self._guarded(i) for i in items)))

    async def _guarded(self, item: ScoreInput) -> MetricResult:
        gap = self.unmet(item)
        if gap is not None:
            return gap
        try:
            return await self.ascore(item)
        except ConfigError:
            raise
        except Exception as exc:  # one broken case is one not-scored case, never a score
            return self.not_scored(f"metric failed: {type(exc).__name__}: {exc}"[:300], error=True)

    def describe(self) -> dict[str, Any]:
        """Static description for records and reports."""
        return {
            "name": self.id,
            "version": self.version,
            "higher_is_better": self.higher_is_better,
            "requires": sorted(self.requires),
            "kind": self.kind,
            "unit": self.unit,
            "weak": self.weak,
            "judge": self.judge_id,
            "description": self.description,
        }


MetricFactory = Callable[..., Metric]

# The built-in metrics, each loaded (with its module's other metrics) on first use.
BUILTIN_METRICS: dict[str, str] = {
    "recall": "ragwacht.metrics.retrieval:Recall",
    "precision": "ragwacht.metrics.retrieval:Precision",
    "hit": "ragwacht.metrics.retrieval:Hit",
    "mrr": "ragwacht.metrics.retrieval:MRR",
    "ndcg": "ragwacht.metrics.retrieval:NDCG",
    "map": "ragwacht.metrics.retrieval:MAP",
    "faithfulness": "ragwacht.metrics.faithfulness:Faithfulness",
    "hallucination_rate": "ragwacht.metrics.faithfulness:HallucinationRate",
    "answer_correctness": "ragwacht.metrics.correctness:AnswerCorrectness",
    "answer_claim_recall": "ragwacht.metrics.correctness:AnswerClaimRecall",
    "refusal_correctness": "ragwacht.metrics.refusal:RefusalCorrectness",
    "consistency": "ragwacht.metrics.consistency:Consistency",
    "citation_correctness": "ragwacht.metrics.citations:CitationCorrectness",
    "latency_ms": "ragwacht.metrics.operational:LatencyMs",
    "cost": "ragwacht.metrics.operational:Cost",
    "pii_leak_rate": "ragwacht.metrics.safety:PiiLeakRate",
    "injection_success_rate": "ragwacht.metrics.safety:InjectionSuccessRate",
    "system_prompt_leak_rate": "ragwacht.metrics.safety:SystemPromptLeakRate",
    "unsafe_answer_rate": "ragwacht.metrics.safety:UnsafeAnswerRate",
    "ragas:faithfulness": "ragwacht.metrics.backends.ragas_backend:RagasFaithfulness",
    "ragas:context_recall": "ragwacht.metrics.backends.ragas_backend:RagasContextRecall",
    "deepeval:faithfulness": "ragwacht.metrics.backends.deepeval_backend:DeepEvalFaithfulness",
    "deepeval:answer_relevancy": (
        "ragwacht.metrics.backends.deepeval_backend:DeepEvalAnswerRelevancy"
    ),
}
METRICS: Registry[type[Metric]] = Registry("metric", BUILTIN_METRICS, field="metrics")


def register(cls: type[Metric]) -> type[Metric]:
    """Class decorator that registers a metric under its ``name`` (built-ins and plug-ins)."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no name")
    METRICS.register(cls.name, cls)
    return cls


def registry() -> dict[str, type[Metric]]:
    """All registered metric classes by name (loads every metric module)."""
    return METRICS.load_all()


def metric_class(name: str) -> type[Metric]:
    """Look up a metric class by name (``recall`` or ``recall@5``) or raise ConfigError."""
    base = name.split("@", 1)[0]
    if base not in METRICS:
        raise METRICS.unknown(base, message=f"unknown metric '{name}'")
    return METRICS.get(base)


def accepted_options(cls: type[Metric]) -> set[str]:
    """Option names a metric class takes: the named parameters of every ``__init__`` it has.

    A misspelled option must not be swallowed by a ``**options`` catch-all; options read from
    ``self.options`` instead of named parameters are declared in ``extra_options``.
    """
    names: set[str] = set(getattr(cls, "extra_options", ()))
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
    return names


def create_metric(name: str, **options: Any) -> Metric:
    """Instantiate a metric by name; ``name@k`` sets option ``k``."""
    cls = metric_class(name)
    if "@" in name:
        k = name.split("@", 1)[1]
        if not k.isdigit() or int(k) < 1:
            raise ConfigError(f"bad cutoff in metric name '{name}'", hint="write e.g. recall@5")
        options = {**options, "k": int(k)}
    accepted = accepted_options(cls)
    unknown = sorted(set(options) - accepted)
    if unknown:
        close = [m for u in unknown for m in difflib.get_close_matches(u, sorted(accepted), n=1)]
        known = ", ".join(sorted(accepted - {"verifier"})) or "none"
        raise ConfigError(
            f"unknown option(s) for metric '{name}': {', '.join(unknown)}",
            field="metrics",
            hint=(f"did you mean {' or '.join(close)}? " if close else "")
            + f"metric '{name}' knows: {known}",
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for metric '{name}': {exc}", field="metrics") from exc
