"""Imports every built-in metric module so that they register themselves."""

# ruff: noqa: F401, RUF100
import ragwacht.metrics.backends.deepeval_backend  # noqa: F401
import ragwacht.metrics.backends.ragas_backend  # noqa: F401
import ragwacht.metrics.citations
import ragwacht.metrics.consistency
import ragwacht.metrics.correctness
import ragwacht.metrics.faithfulness
import ragwacht.metrics.operational
import ragwacht.metrics.refusal
import ragwacht.metrics.retrieval
import ragwacht.metrics.safety
