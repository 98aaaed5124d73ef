"""RunRecord: everything one suite x variant run produced, versioned JSON on disk.

The record is written to disk before anything else (MLflow, gate, reports) reads it, so a crash
or an outage later never loses the finished work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

from pydantic import Field, ValidationError, WrapSerializer, WrapValidator

from ragwacht._io import write_atomic
from ragwacht.errors import ConfigError
from ragwacht.records._base import StrictModel
from ragwacht.records.case import CaseResult
from ragwacht.records.cases import CaseFile, case_lines, read_v3, trailer, write_cases
from ragwacht.records.gate import GateResult
from ragwacht.records.metric import upgrade_v1_metric

# 2: metric results carry ``status`` (was: ``error`` plus reason prefixes).
# 3: one case per line, read on demand (see ragwacht.records.cases); still one JSON document.
SCHEMA_VERSION = 3
SUPPORTED_SCHEMA_VERSIONS = (1, 2, 3)


def _keep_case_file(value: Any, handler: Any) -> Any:
    # A record read from disk keeps its cases there: validating them would load them all.
    return value if isinstance(value, CaseFile) else handler(value)


def _dump_cases(value: Any, handler: Any) -> Any:
    return handler(list(value) if isinstance(value, CaseFile) else value)


Cases = Annotated[Sequence[CaseResult], WrapValidator(_keep_case_file), WrapSerializer(_dump_cases)]


class JudgeInfo(StrictModel):
    """A judge used in the run, with how far it is trusted."""

    id: str
    kind: str
    model: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    weak: bool = False
    calibration: dict[str, Any] | None = None


class Manifest(StrictModel):
    """What is needed to reproduce (or distrust) a run."""

    harness_version: str
    git_sha: str | None = None
    git_branch: str | None = None
    suite_name: str
    suite_path: str | None = None
    suite_hash: str
    dataset_name: str
    dataset_version: str
    dataset_digest: str
    dataset_path: str | None = None
    dataset_language: str | None = None
    endpoint_profile: dict[str, Any] = Field(default_factory=dict)
    variant: str = "default"
    variant_settings: dict[str, Any] = Field(default_factory=dict)
    judges: list[JudgeInfo] = Field(default_factory=list)
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    ci: dict[str, str] = Field(default_factory=dict)
    python: str | None = None
    platform: str | None = None
    started_at: datetime
    finished_at: datetime | None = None


class ConversationResult(StrictModel):
    """A scripted conversation in one run, judged from its turns' case results.

    Attributes:
        conversation_id: the conversation's case id (its turns are ``<id>#t<N>``).
        turns: how many turns it has; ``turn_ids`` their case ids in order.
        passed_turns: turns that got an answer and passed every score metric's per-case mark.
        turn_passed: for each turn in order, whether it passed.
        all_passed: every turn passed.
        first_failing_turn: the first turn (1-based) that did not pass; None when all did.
        retention_checked: follow-up turns (after the first) that name gold contexts.
        retention_kept: those of them whose gold context the chatbot retrieved.
        context_retention: ``retention_kept / retention_checked``; None when nothing to check.
        lost_context_turns: follow-up turns whose gold context was not retrieved.

    """

    conversation_id: str
    turns: int
    turn_ids: list[str] = Field(default_factory=list)
    passed_turns: int = 0
    turn_passed: list[bool] = Field(default_factory=list, description="per turn, in order")
    all_passed: bool = False
    first_failing_turn: int | None = None
    retention_checked: int = 0
    retention_kept: int = 0
    context_retention: float | None = None
    lost_context_turns: list[int] = Field(default_factory=list)


class TagSummary(StrictModel):
    """A metric's aggregate over the cases that carry one tag."""

    mean: float | None
    scored: int
    total: int


class MetricSummary(StrictModel):
    """A metric's aggregate over a run: mean with its 95% CI and scored/total."""

    metric: str
    kind: str = "score"
    higher_is_better: bool = True
    unit: str = ""
    weak: bool = False
    judge: str | None = None
    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    scored: int
    total: int
    errors: int = 0
    p50: float | None = None
    p95: float | None = None
    by_tag: dict[str, dict[str, TagSummary]] = Field(default_factory=dict)
    not_scored_reasons: dict[str, int] = Field(default_factory=dict)


class ShardInfo(StrictModel):
    """Which part of a run a shard record holds (``ragwacht run --shard INDEX/COUNT``).

    A shard is not a run: it is never gated, logged to MLflow or used as a baseline;
    ``ragwacht merge`` turns the complete set of shards into the one record.
    """

    index: int = Field(ge=1, description="1-based")
    count: int = Field(ge=1)
    golden_cases: int = Field(ge=0, description="golden cases the shards split between them")
    limit: int | None = Field(default=None, description="the run's --limit, if any")


class RunRecord(StrictModel):
    """The persisted result of one suite x variant run."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    suite: str
    variant: str = "default"
    manifest: Manifest
    cases: Cases = Field(description="per-case results; on disk one per line (schema 3)")
    summary: dict[str, MetricSummary] = Field(default_factory=dict)
    endpoint_errors: int = 0
    judge_errors: int = 0
    gate: GateResult | None = Field(
        default=None, description="the gate's verdict; None for a run without a gate policy"
    )
    mlflow_run_id: str | None = None
    warnings: list[str] = Field(default_factory=list)
    conversations: list[ConversationResult] = Field(default_factory=list)
    shard: ShardInfo | None = Field(
        default=None, description="set on a shard record: one part of a run, to be merged"
    )
    merged_from: list[str] = Field(
        default_factory=list, description="run ids of the shards this record was merged from"
    )

    def save(self, path: str | Path) -> Path:
        """Write the record atomically (temp file + rename) and return its path.

        Cases go one per line (copied as bytes from a record read from disk, so saving a
        100,000-case record again after its gate costs a file copy, not a parse).
        """
        path = Path(path)
        rest = self.model_dump_json(exclude={"cases", "schema_version"})

        layout: list[Any] = []

        def write(fh: IO[bytes]) -> None:
            layout[:] = write_cases(fh, case_lines(self.cases))
            fh.write(trailer(rest))
            fh.write(b"\n")

        write_atomic(path, write)
        if isinstance(self.cases, CaseFile):  # read from the new file from now on
            self.cases = CaseFile(path, *layout)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RunRecord:
        """Read a record, with a ConfigError that names the file on any problem.

        A schema-3 record's cases stay on disk and are read as they are used (see
        :class:`~ragwacht.records.cases.CaseFile`); older records are read whole.
        """
        path = Path(path)
        v3 = read_v3(path)
        if v3 is not None:
            fields, cases = v3
            return cls._validated({**fields, "cases": []}, path, cases=cases)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("run record not found", file=path, hint="check the path") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"not a readable JSON run record: {exc}", file=path) from exc
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ConfigError(
                f"run record schema_version {version!r} is not supported"
                f" (this version reads {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})",
                file=path,
                field="schema_version",
                hint="re-run the suite with this version of ragwacht",
            )
        if version == 1:
            data = upgrade_v1_record(data)
        data["schema_version"] = SCHEMA_VERSION  # read in full, saved in the current form
        return cls._validated(data, path)

    @classmethod
    def _validated(
        cls, data: dict[str, Any], path: Path, *, cases: CaseFile | None = None
    ) -> RunRecord:
        try:
            record = cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"invalid run record: {err['msg']}", file=path, field=loc) from exc
        if cases is not None:
            record.cases = cases
        return record

    def case_map(self) -> dict[str, CaseResult]:
        """Cases keyed by id."""
        return {c.case_id: c for c in self.cases}


def upgrade_v1_record(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 record in the current form: metric statuses from their reasons."""
    data = dict(data)
    cases = []
    for case in data.get("cases") or []:
        if isinstance(case, dict) and isinstance(case.get("metrics"), dict):
            case = dict(case)
            case["metrics"] = {k: upgrade_v1_metric(v) for k, v in case["metrics"].items()}
        cases.append(case)
    data["cases"] = cases
    data["schema_version"] = 2
    return data
