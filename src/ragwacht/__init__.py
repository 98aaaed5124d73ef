"""ragwacht: RAG evaluation and regression testing with statistically sound gates."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Third-party evaluation libraries phone home unless told not to; ragwacht is offline by default.
for _name, _value in (
    ("RAGAS_DO_NOT_TRACK", "true"),
    ("DEEPEVAL_TELEMETRY_OPT_OUT", "1"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "1"),
    ("ANONYMIZED_TELEMETRY", "False"),
):
    os.environ.setdefault(_name, _value)

__all__ = ["__version__"]
