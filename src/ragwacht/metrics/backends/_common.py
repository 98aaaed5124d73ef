"""What the ragas and deepeval adapters share: judge endpoint, call metering, failure rules.

A backend failure (an exception, NaN, a value outside [0, 1], or any failed judge call during
the case) is a not-scored result with ``error=True`` and the reason, never a score: ragas has
returned 1.0 or NaN when its judge calls failed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from ragwacht.errors import ConfigError
from ragwacht.metrics.base import Metric, ScoreInput
from ragwacht.metrics.judges.factory import make_verifier, parse_judge_config
from ragwacht.records import MetricResult

_TELEMETRY_OFF = {
    "RAGAS_DO_NOT_TRACK": "true",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_UPDATE_WARNING_OPT_IN": "0",
    # deepeval would otherwise read a .env file from the working directory.
    "DEEPEVAL_DISABLE_DOTENV": "1",
}


def telemetry_off() -> None:
    """Switch the backends' telemetry and update checks off (call before importing them)."""
    os.environ.update(_TELEMETRY_OFF)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class CallMeter:
    """Counts the judge calls and tokens of one case, and the calls that failed."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: list[str] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        self.calls += 1

    async def on_response(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            # 429/5xx are retried by the client (success later is fine; exhaustion raises);
            # other 4xx mean the backend's request was rejected, whatever it returns.
            if response.status_code < 500 and response.status_code not in (408, 409, 429):
                self.failures.append(f"HTTP {response.status_code}")
            return
        try:
            await response.aread()
            usage = json.loads(response.content).get("usage") or {}
        except (ValueError, AttributeError, httpx.HTTPError):
            return
        self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.completion_tokens += int(usage.get("completion_tokens") or 0)

    def details(self) -> dict[str, Any]:
        return {
            "judge_calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class BackendMetric(Metric):
    """Base of the ragas/deepeval adapters: resolves the judge, meters calls, guards results.

    Options:
        verifier: the suite's judge (an ``llm`` or ``local-llm`` verifier); set by the suite
            when the metric names ``judge:``.
        judge: alternatively, an inline judge config mapping (``type: llm, base_url: ...``).
        max_tokens: reply budget per judge call (default: the judge's).
        timeout_s: per call (default: the judge's).
    """

    backend: ClassVar[str] = ""
    requires = frozenset({"answer", "contexts", "judge"})
    extra_options: ClassVar[frozenset[str]] = frozenset({"max_tokens", "timeout_s"})

    def __init__(self, verifier: Any = None, judge: dict[str, Any] | None = None, **options: Any):
        super().__init__(verifier=verifier, judge=judge, **options)
        if verifier is None and judge is not None:
            verifier = make_verifier(parse_judge_config(judge, field="judge"))
        if verifier is None or not hasattr(verifier, "endpoint"):
            raise ConfigError(
                f"metric '{self.name}' needs an LLM judge",
                field="judge",
                hint="define an llm or local-llm judge under judges: and set judge: <its name> "
                "on this metric",
            )
        self.verifier = verifier
        cfg = getattr(verifier, "cfg", None)
        max_tokens: Any = options.get("max_tokens") or getattr(cfg, "max_tokens", 1024)
        timeout_s: Any = options.get("timeout_s") or getattr(cfg, "timeout_s", 60.0)
        self.max_tokens = int(max_tokens)
        self.timeout_s = float(timeout_s)
        self.meters: list[CallMeter] = []

    @property
    def judge_id(self) -> str | None:
        """The judge's id, prefixed with the backend (``ragas@llm:gpt-4o``)."""
        return f"{self.backend}@{self.verifier.id}"

    async def openai_client(self, meter: CallMeter) -> tuple[Any, str]:
        """An AsyncOpenAI client for the judge endpoint that reports to ``meter``."""
        import openai  # lazy: optional (backends)

        base_url, model, key = await self.verifier.endpoint()
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s),
            event_hooks={"request": [meter.on_request], "response": [meter.on_response]},
        )
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key=key or "not-needed", http_client=http, max_retries=2
        )
        return client, model

    async def run(self, item: ScoreInput, meter: CallMeter) -> tuple[float | None, dict[str, Any]]:
        """Score one case with the backend; returns ``(value, details)``."""
        raise NotImplementedError

    async def ascore(self, item: ScoreInput) -> MetricResult:
        """Score one case; any backend failure is a not-scored result with the reason."""
        meter = CallMeter()
        self.meters.append(meter)
        judge = self.judge_id
        try:
            value, details = await self.run(item, meter)
        except ConfigError:
            raise  # a judge set up wrongly is the user's to fix (exit 2), not a failed case
        except Exception as exc:
            reason = f"{self.backend} failed: {type(exc).__name__}: {exc}"
            return self.not_scored(
                " ".join(reason.split())[:300], error=True, judge=judge, details=meter.details()
            )
        details = {**details, **meter.details()}
        if meter.failures:
            return self.not_scored(
                f"{self.backend}: {len(meter.failures)} judge call(s) failed "
                f"({', '.join(sorted(set(meter.failures)))})",
                error=True,
                judge=judge,
                details=details,
            )
        if value is None or not isinstance(value, int | float) or math.isnan(value):
            return self.not_scored(
                f"{self.backend} returned {value!r} (no claims found or a failed judge call)",
                error=True,
                judge=judge,
                details=details,
            )
        if not 0.0 <= float(value) <= 1.0:
            return self.not_scored(
                f"{self.backend} returned {value!r}, outside [0, 1]",
                error=True,
                judge=judge,
                details=details,
            )
        return self.result(float(value), judge=judge, details=details)
