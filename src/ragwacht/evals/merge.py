"""merge_shards(): the shard records of one run -> the one record, gate verdict, outputs, MLflow.

Every shard must belong to the same run (suite, suite hash, dataset digest, variant, shard
count, ``--limit``), each index 1..COUNT must be there exactly once, and together they must hold
exactly the cases the suite's dataset splits into those shards; anything else is refused with a
ConfigError (exit 2) that names the file. The merged record lists its cases in the dataset's
order and its summaries are computed afresh over all of them, the way an unsharded run
computes them, so a sharded run and an unsharded one of the same answers agree case by case
and in the gate. It then goes through the finishing stage ``ragwacht run`` uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ragwacht.ci.policy import parse_policy
from ragwacht.datasets.conversations import expand_conversations
from ragwacht.datasets.io import load_golden_set
from ragwacht.errors import ConfigError
from ragwacht.evals.baseline import suite_of_record
from ragwacht.evals.conversations import conversation_results
from ragwacht.evals.run import (
    Evaluated,
    RunOptions,
    RunOutcome,
    case_marks,
    default_out_dir,
    explicit_baseline_of,
    finish_evaluated,
    gated_metrics,
    prepare_out_dir,
    select_cases,
    write_case_table,
)
from ragwacht.evals.shard import select_shard
from ragwacht.evals.spec import SuiteSpec, load_suite
from ragwacht.evals.summary import summarize_like
from ragwacht.records import CaseResult, RunRecord, ShardInfo

_SAME_RUN_HINT = (
    "merge the shards of one `ragwacht run --shard I/N` round: same suite file, dataset, "
    "variant, COUNT and --limit"
)


def _load_shards(paths: Sequence[Path]) -> list[tuple[Path, RunRecord, ShardInfo]]:
    if not paths:
        raise ConfigError("no shard records given", hint="ragwacht merge SHARD.json... --out DIR")
    out = []
    for path in paths:
        record = RunRecord.load(path)
        if record.shard is None:
            raise ConfigError(
                "not a shard record (it was written without --shard)",
                file=path,
                field="shard",
                hint="merge combines the records of `ragwacht run --shard I/N`",
            )
        out.append((path, record, record.shard))
    return out


def _check_same_run(shards: list[tuple[Path, RunRecord, ShardInfo]]) -> None:
    first_path, first, first_shard = shards[0]
    for path, rec, sh in shards[1:]:
        pairs = (
            ("suite", rec.suite, first.suite),
            ("variant", rec.variant, first.variant),
            ("manifest.suite_hash", rec.manifest.suite_hash, first.manifest.suite_hash),
            ("manifest.dataset_digest", rec.manifest.dataset_digest, first.manifest.dataset_digest),
            ("shard.count", sh.count, first_shard.count),
            ("shard.limit", sh.limit, first_shard.limit),
            ("shard.golden_cases", sh.golden_cases, first_shard.golden_cases),
            ("summary", sorted(rec.summary), sorted(first.summary)),
        )
        for what, mine, theirs in pairs:
            if mine != theirs:
                raise ConfigError(
                    f"{what} is {mine!r} here but {theirs!r} in {first_path}: these shards are "
                    "not parts of one run",
                    file=path,
                    field=what,
                    hint=_SAME_RUN_HINT,
                )


def _by_index(shards: list[tuple[Path, RunRecord, ShardInfo]]) -> list[tuple[Path, RunRecord]]:
    count = shards[0][2].count
    seen: dict[int, Path] = {}
    for path, _, sh in shards:
        if sh.index in seen:
            raise ConfigError(
                f"shard {sh.index}/{count} is given twice: {seen[sh.index]} and {path}",
                file=path,
                field="shard.index",
                hint="give each shard once",
            )
        seen[sh.index] = path
    missing = [i for i in range(1, count + 1) if i not in seen]
    if missing:
        names = ", ".join(f"{i}/{count}" for i in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ConfigError(
            f"shard {names}{more} missing (given: {', '.join(map(str, sorted(seen)))})",
            field="shard.index",
            hint="wait for every shard job, or run the missing one with --shard INDEX/COUNT",
        )
    by = {sh.index: (path, rec) for path, rec, sh in shards}
    return [by[i] for i in range(1, count + 1)]


def _suite_for(first: RunRecord, first_path: Path, suite: Path | SuiteSpec | None) -> SuiteSpec:
    if isinstance(suite, SuiteSpec):
        spec: SuiteSpec | None = suite
    elif suite is not None:
        spec = load_suite(suite)
    else:
        spec = suite_of_record(first, near=first_path)
    if spec is None:
        raise ConfigError(
            "the shards' suite file cannot be found from here",
            field="--suite",
            hint="pass --suite evals/SUITE.yaml",
        )
    if spec.name != first.suite:
        raise ConfigError(
            f"the suite is '{spec.name}', the shards ran '{first.suite}'",
            file=spec.path,
            field="name",
            hint="pass the suite file the shards ran",
        )
    if spec.suite_hash() != first.manifest.suite_hash:
        raise ConfigError(
            "the suite file changed since the shards ran (its hash differs)",
            file=spec.path,
            hint="merge with the suite as it was, or run the shards again",
        )
    return spec


def merge_records(
    paths: Sequence[Path], *, suite: Path | SuiteSpec | None = None
) -> tuple[SuiteSpec, RunRecord, ShardInfo]:
    """Check the shards and combine them into one (ungated) record; see the module docstring."""
    shards = _load_shards(paths)
    _check_same_run(shards)
    ordered = _by_index(shards)
    first_path, first = ordered[0]
    info = shards[0][2]
    spec = _suite_for(first, first_path, suite)
    gs = load_golden_set(spec.resolve(spec.dataset))
    if gs.digest != first.manifest.dataset_digest:
        raise ConfigError(
            "the dataset changed since the shards ran (its digest differs)",
            file=gs.path,
            hint="merge with the dataset as it was, or run the shards again",
        )
    selected = select_cases(gs, info.limit)
    if len(selected) != info.golden_cases:
        raise ConfigError(
            f"the shards split {info.golden_cases} golden cases, the dataset has {len(selected)}",
            file=gs.path,
            hint="run the shards again",
        )
    order = {c.id: k for k, c in enumerate(expand_conversations(selected))}
    cases: list[CaseResult] = []
    for index, (path, rec) in enumerate(ordered, 1):
        expected = {c.id for c in expand_conversations(select_shard(selected, index, info.count))}
        got = [c.case_id for c in rec.cases]
        if len(set(got)) != len(got) or set(got) != expected:
            lost, extra = len(expected - set(got)), len(set(got) - expected)
            raise ConfigError(
                f"shard {index}/{info.count} holds {len(got)} cases where the suite's shard has "
                f"{len(expected)} ({lost} missing, {extra} not of this shard, "
                f"{len(got) - len(set(got))} repeated)",
                file=path,
                field="cases",
                hint="run that shard again with --shard INDEX/COUNT",
            )
        cases.extend(rec.cases)
    cases.sort(key=lambda c: order[c.case_id])

    policy = parse_policy(spec.gate, file=spec.path) if spec.gate else None
    seed = policy.seed if policy is not None else 0
    n_resamples = policy.n_resamples if policy is not None else 10_000
    summary = {
        mid: summarize_like(
            like, cases, breakdown=spec.breakdown, n_resamples=n_resamples, seed=seed
        )
        for mid, like in first.summary.items()
    }
    manifest = first.manifest.model_copy(deep=True)
    manifest.started_at = min(r.manifest.started_at for _, r in ordered)
    ends = [r.manifest.finished_at for _, r in ordered if r.manifest.finished_at is not None]
    manifest.finished_at = max(ends) if ends else None
    warnings: list[str] = []
    for _, rec in ordered:
        warnings.extend(w for w in rec.warnings if w not in warnings)
    record = RunRecord(
        run_id=uuid.uuid4().hex,
        suite=first.suite,
        variant=first.variant,
        manifest=manifest,
        cases=cases,
        summary=summary,
        endpoint_errors=sum(r.endpoint_errors for _, r in ordered),
        judge_errors=sum(r.judge_errors for _, r in ordered),
        warnings=warnings,
        conversations=conversation_results(
            cases, summary, case_marks(policy), gated_metrics(policy)
        ),
        merged_from=[r.run_id for _, r in ordered],
    )
    return spec, record, info


def merge_shards(
    paths: Sequence[Path], opts: RunOptions | None = None, *, suite: Path | SuiteSpec | None = None
) -> RunOutcome:
    """Merge the shard records and finish the run as ``ragwacht run`` does.

    Args:
        paths: every shard's ``run.json``.
        opts: the finishing options (``out_dir``, ``gate``, ``baseline``, ``mlflow``,
            ``tracking_uri``, ``lang``); the options that call an endpoint are not used.
        suite: the suite file, or the spec the shards ran (default: found from the shards'
            manifest, as ``gate`` does).

    Raises:
        ConfigError: the shards are not the complete parts of one run (exit 2).

    """
    opts = opts or RunOptions()
    spec, record, info = merge_records(paths, suite=suite)
    opts = replace(opts, limit=info.limit, shard=None)  # a --limit run never becomes a baseline
    explicit = explicit_baseline_of(spec, record.variant, opts)
    out_dir = prepare_out_dir((opts.out_dir or default_out_dir(spec, record.variant)).resolve())
    files = {
        "record": record.save(out_dir / "run.json"),
        "cases": write_case_table(record, out_dir / "cases.csv"),
    }
    gate_policy = (
        parse_policy(spec.gate, file=spec.path, metrics=list(record.summary)) if spec.gate else None
    )
    ev = Evaluated(
        record=record,
        out_dir=out_dir,
        files=files,
        gate_policy=gate_policy,
        explicit_baseline=explicit,
    )
    return finish_evaluated(spec, ev, opts)


__all__ = ["merge_records", "merge_shards"]
