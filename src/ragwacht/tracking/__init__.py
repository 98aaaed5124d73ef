"""MLflow logging of run records and baseline lookup.

An MLflow outage never loses a run: the RunRecord is on disk before anything is logged, logging
failures return ``None`` with a warning, and ``log_record_file`` re-logs a record later.
"""

from ragwacht.tracking.mlflow_store import (
    find_baseline,
    list_runs,
    log_comparison,
    log_record_file,
    log_run,
    resolve_tracking_uri,
    sanitize_key,
)

__all__ = [
    "find_baseline",
    "list_runs",
    "log_comparison",
    "log_record_file",
    "log_run",
    "resolve_tracking_uri",
    "sanitize_key",
]
