"""Operational measures per case: ``latency_ms`` and ``cost`` (raw numbers, lower is better).

Measures are summarized by percentiles (p50/p95) rather than averaged as scores. A value the
endpoint did not report is ``None`` with a reason, never 0; failed calls are not measured (their
latency is a timeout, not the bot's speed) and are counted as failures elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

from ragwacht.errors import ConfigError
from ragwacht.metrics.base import Metric, ScoreInput, register
from ragwacht.records import MetricResult


@register
class LatencyMs(Metric):
    """Wall-clock time of the endpoint call, in milliseconds."""

    name = "latency_ms"
    higher_is_better = False
    kind = "measure"
    unit = "ms"
    description = "time from request to complete answer, per case"

    def score(self, item: ScoreInput) -> MetricResult:
        """The response's latency."""
        r = item.response
        if r.error is not None:
            return self.not_scored(f"endpoint error: {r.error_kind or 'error'}")
        if r.latency_ms is None:
            return self.not_scored("latency unknown")
        # A cached response keeps the latency measured when it was first fetched.
        return self.result(
            float(r.latency_ms), details={"attempts": r.attempts, "cached": r.cached}
        )


@register
class Cost(Metric):
    """Cost of one case: the endpoint's reported cost, or tokens times configured prices.

    Options:
        currency: unit shown in reports (default ``EUR``).
        price_per_1k_prompt: price of 1,000 prompt tokens, used when no cost is reported.
        price_per_1k_completion: price of 1,000 completion tokens.
    """

    name = "cost"
    higher_is_better = False
    kind = "measure"
    unit = "EUR"
    requires: ClassVar[frozenset[str]] = frozenset()
    description = "cost per case as reported, or from token usage and configured prices"

    def __init__(
        self,
        currency: str = "EUR",
        price_per_1k_prompt: float | None = None,
        price_per_1k_completion: float | None = None,
    ) -> None:
        for field, val in (
            ("price_per_1k_prompt", price_per_1k_prompt),
            ("price_per_1k_completion", price_per_1k_completion),
        ):
            if val is not None and float(val) < 0:
                raise ConfigError(f"cost: {field} must not be negative", field=field)
        super().__init__(
            currency=currency,
            price_per_1k_prompt=price_per_1k_prompt,
            price_per_1k_completion=price_per_1k_completion,
        )
        self.currency = currency
        self.p_in = price_per_1k_prompt
        self.p_out = price_per_1k_completion

    def describe(self) -> dict[str, object]:
        """Static description with the configured currency as unit."""
        d = super().describe()
        d["unit"] = self.currency
        return d

    def score(self, item: ScoreInput) -> MetricResult:
        """Reported cost, else computed from usage when prices are configured."""
        r = item.response
        if r.error is not None:
            return self.not_scored(f"endpoint error: {r.error_kind or 'error'}")
        if r.cost is not None:
            return self.result(float(r.cost), details={"source": "reported", "unit": self.currency})
        u = r.usage
        if self.p_in is None and self.p_out is None:
            return self.not_scored("cost unknown (not reported and no token prices configured)")
        need_in = self.p_in is not None
        need_out = self.p_out is not None
        if (need_in and u.prompt_tokens is None) or (need_out and u.completion_tokens is None):
            return self.not_scored("cost unknown (token usage not reported)")
        value = (u.prompt_tokens or 0) / 1000 * (self.p_in or 0.0) + (
            u.completion_tokens or 0
        ) / 1000 * (self.p_out or 0.0)
        return self.result(
            value,
            details={
                "source": "tokens",
                "unit": self.currency,
                "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens,
            },
        )
