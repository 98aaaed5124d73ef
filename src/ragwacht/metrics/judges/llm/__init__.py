"""The ``llm`` verifier: an OpenAI-compatible chat API as faithfulness judge.

Three judging methods (``method:`` in the judge config):

* ``claims_verdicts`` (default): one call per case; the judge splits the answer into claims and
  gives each a verdict and the passage it rests on, as JSON constrained by a schema.
* ``split_verdicts``: claims come from the rule-based splitter
  (:func:`ragwacht.metrics.claims.split_claims`); one call gives verdicts for all of them.
* ``claim_logprobs``: rule-based claims; one yes/no call per claim, ``P(yes)`` read from the
  token log-probabilities (``supported`` when at or above ``yes_threshold``). Needs a server
  that returns logprobs (OpenAI, vLLM, llama.cpp).

Every failure raises :class:`ragwacht.errors.JudgeError` with a ``reason`` (``timeout``,
``rate_limited``, ``server_error``, ``connection``, ``http_error``, ``truncated``,
``malformed_output``, ``no_logprobs``); metrics count it as not scored. Output that does not
parse or validate is re-asked at most ``max_repairs`` times, showing the judge its error.

The package: ``client`` (the OpenAI-compatible client, retries, Retry-After), ``methods`` (the
judging methods, prompts, reply schemas and parsing) and ``verifier`` (:class:`LLMVerifier`).
"""

from __future__ import annotations

from ragwacht.metrics.judges.llm.client import JudgeStats, LLMClient
from ragwacht.metrics.judges.llm.methods import (
    METHOD_PROMPTS,
    JudgingMethods,
    claims_schema,
    p_yes,
    parse_json_reply,
    verdicts_schema,
)
from ragwacht.metrics.judges.llm.verifier import LLMVerifier

__all__ = [
    "METHOD_PROMPTS",
    "JudgeStats",
    "JudgingMethods",
    "LLMClient",
    "LLMVerifier",
    "claims_schema",
    "p_yes",
    "parse_json_reply",
    "verdicts_schema",
]
