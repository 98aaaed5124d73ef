"""run_suite(): runner -> metrics -> RunRecord (on disk first) -> gate -> outputs -> MLflow.

The stages: :func:`evaluate_suite` plans, executes and scores a variant and puts its record on
disk; :func:`ragwacht.evals.finish.finish_run` resolves nothing itself but gates against the
baseline it is given, writes the outputs and logs to MLflow. ``run`` is both in a row;
``compare`` evaluates each variant and finishes it without a report of its own.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from ragwacht import __version__
from ragwacht._env import redact_public
from ragwacht._yaml import yaml_line
from ragwacht.ci.policy import GatePolicy, parse_policy
from ragwacht.datasets._cells import neutralise
from ragwacht.datasets.conversations import expand_conversations
from ragwacht.datasets.io import load_golden_set
from ragwacht.datasets.models import GoldenCase, GoldenSet
from ragwacht.errors import ConfigError, ExitCode, Interrupted, Location, Problem
from ragwacht.evals.baseline import (
    BaselineLookup,
    check_baseline_matches,
    rel_path,
    resolve_baseline,
)
from ragwacht.evals.conversations import conversation_results
from ragwacht.evals.finish import MlflowTarget, OutputPaths, finish_run
from ragwacht.evals.scoring import (
    CHECKPOINT_NAME,
    SCORING_MAX_CHARS,
    DaemonExecutor,
    ScoreCheckpoint,
)
from ragwacht.evals.shard import select_shard
from ragwacht.evals.spec import DEFAULT_VARIANT, SuiteSpec, load_suite
from ragwacht.evals.stream import SPOOL_NAME, CaseSpool, ScorePipeline
from ragwacht.evals.summary import summarize_metrics
from ragwacht.metrics.base import Metric, create_metric
from ragwacht.metrics.calibration import find_calibration
from ragwacht.metrics.judges.factory import make_verifier, parse_judge_config
from ragwacht.records import (
    CaseResult,
    JudgeInfo,
    Manifest,
    MetricResult,
    Response,
    RunRecord,
    ShardInfo,
)
from ragwacht.runners.execute import ExecOptions, ResponseCache, ResponseStore, run_cases
from ragwacht.runners.profile import AnyProfile, Variant, apply_variant, load_profile
from ragwacht.runners.ray_engine import RayRunner, RaySettings
from ragwacht.tracking import list_runs
from ragwacht.tracking.ci_env import ci_context

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """Options of one ``ragwacht run``."""

    variant: str | None = None
    out_dir: Path | None = None
    gate: bool = False
    baseline: str | None = None  # path to a record/baseline file, "mlflow", "none" or None=auto
    mlflow: bool = True
    tracking_uri: str | None = None
    lang: str | None = None
    resume: bool = False
    refresh: bool = False
    # Serve answers from the response cache. None: on, but off in gate mode (a gate that
    # reads yesterday's answers does not test today's chatbot); True turns it on there too.
    use_cache: bool | None = None
    progress: bool = True
    limit: int | None = None
    base_url: str | None = None  # point the profile at another URL (the demo uses this)
    # Key the response cache on the profile as written, not on base_url: for a local server
    # that gets a new port each start (the demo bot) and answers the same on any port.
    stable_cache: bool = False
    # (index, count): run only that shard of the cases; `ragwacht merge` makes the one record.
    shard: tuple[int, int] | None = None
    # Job summary and ::error annotations on CI; off for the runs inside `compare`.
    ci_outputs: bool = True
    write_report: bool = True
    console: Console | None = None


@dataclass
class Evaluated:
    """A variant planned, executed and scored, its record and case table on disk.

    Attributes:
        record: the scored run, not gated yet.
        out_dir: the run's output folder.
        files: ``record`` (``run.json``) and ``cases`` (``cases.csv``).
        gate_policy: the suite's gate policy, parsed (None without one).
        explicit_baseline: the baseline file named by ``RunOptions.baseline``, loaded and
            checked against the suite and variant (None otherwise).

    """

    record: RunRecord
    out_dir: Path
    files: dict[str, Path]
    gate_policy: GatePolicy | None
    explicit_baseline: RunRecord | None


@dataclass
class RunOutcome:
    """What a run produced and the exit code it implies."""

    record: RunRecord
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    gate: Any | None = None
    baseline: RunRecord | None = None
    exit_code: int = ExitCode.OK


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _now() -> datetime:
    return datetime.now(UTC)


def default_out_dir(spec: SuiteSpec, variant: str) -> Path:
    """``reports/<suite>/<variant>/`` under the project root."""
    return spec.project_root / "reports" / spec.name / variant


def prepare_out_dir(out_dir: Path, *, option: str = "--out") -> Path:
    """Create the output folder and prove it is writable, before any endpoint is called.

    Raises:
        ConfigError: the path is a file, or the folder cannot be created or written to.

    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(
            "the output folder is an existing file",
            file=out_dir,
            field=option,
            hint=f"give {option} a folder (it is created when missing), or remove the file",
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".ragwacht-write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the output folder: {exc.strerror or exc}",
            file=out_dir,
            field=option,
            hint=f"choose a writable folder with {option}",
        ) from None
    return out_dir


def state_dir(spec: SuiteSpec) -> Path:
    """Where caches live (git-ignored): ``.ragwacht/`` under the project root."""
    return spec.project_root / ".ragwacht"


def build_metrics(spec: SuiteSpec, verifiers: dict[str, Any]) -> list[Metric]:
    """Instantiate the suite's metrics, handing judge-based metrics their verifier."""
    metrics: list[Metric] = []
    seen: set[str] = set()
    for i, m in enumerate(spec.metrics):
        options = dict(m.options)
        if m.judge is not None:
            if m.judge not in verifiers:
                raise ConfigError(
                    f"metric '{m.name}' uses judge '{m.judge}', which is not defined",
                    file=spec.path,
                    line=spec.line("metrics", i, "judge"),
                    field=f"metrics.{i}.judge",
                    hint=f"define it under judges: (defined: {', '.join(verifiers) or 'none'})",
                )
            options["verifier"] = verifiers[m.judge]
        try:
            metric = create_metric(m.name, **options)
        except ConfigError as exc:
            p = exc.first
            raise ConfigError(
                p.message,
                file=spec.path,
                line=spec.line("metrics", i),
                field=f"metrics.{i}",
                hint=p.hint,
            ) from exc
        if metric.id in seen:
            raise ConfigError(
                f"metric '{metric.id}' listed twice",
                file=spec.path,
                line=spec.line("metrics", i),
                field=f"metrics.{i}",
                hint="list each metric once",
            )
        seen.add(metric.id)
        bind = getattr(metric, "bind_cache_dir", None)
        if bind is not None:
            # Embeddings of unchanged texts are reused across runs and variants.
            bind(state_dir(spec) / "embedding-cache")
        metrics.append(metric)
    return metrics


def check_metric_inputs(spec: SuiteSpec, metrics: Sequence[Metric]) -> None:
    """Refuse, before any endpoint call, a metric that the suite can never feed.

    ``consistency`` with ``execution.repeats: 1`` would otherwise show up once per case as
    "not scored" and end as a failed gate, while the cause is one line of the suite. (Cases
    without reference answers or gold contexts are the golden set's business: a set may hold
    them for some cases only, and those metrics then say ``scored/total``.)

    Raises:
        ConfigError: every such conflict, with the suite's file, line and field.

    """
    have = {"repeats": spec.execution.repeats >= 2}
    fixes = {
        "repeats": (
            "needs repeated answers, but execution.repeats is 1",
            "set execution.repeats: 3 (or more), or remove the metric",
        ),
    }
    text = spec.path.read_text(encoding="utf-8") if spec.path and spec.path.is_file() else ""
    problems = []
    for i, m in enumerate(metrics):
        for req in sorted(m.requires):
            if req in have and not have[req]:
                what, hint = fixes[req]
                problems.append(
                    Problem(
                        f"metric '{m.id}' {what}",
                        Location(spec.path, yaml_line(text, ["metrics", i]) if text else None,
                                 f"metrics.{i}"),
                        hint,
                    )
                )  # fmt: skip
    if problems:
        raise ConfigError(problems=problems)


def build_verifiers(spec: SuiteSpec) -> dict[str, Any]:
    """Instantiate the suite's judges (verifiers) by name."""
    cache = state_dir(spec) / "judge-cache"
    out: dict[str, Any] = {}
    for name, raw in spec.judges.items():
        cfg = parse_judge_config(
            raw, file=spec.path, field=f"judges.{name}", line=spec.line("judges", name)
        )
        _preflight_judge(cfg, spec, name)
        out[name] = make_verifier(cfg, cache_dir=cache)
    return out


def _preflight_judge(cfg: Any, spec: SuiteSpec, name: str) -> None:
    """Check what a judge needs from the environment before any endpoint is called."""
    field = f"judges.{name}"
    try:
        if hasattr(cfg, "resolved_base_url"):
            cfg.resolved_base_url()
        if hasattr(cfg, "resolved_gguf"):
            cfg.resolved_gguf()
            if importlib.util.find_spec("xllamacpp") is None:
                raise ConfigError(
                    "the local-llm judge needs the xllamacpp package",
                    hint="pip install 'ragwacht[local-llm]'",
                )
    except ConfigError as exc:
        p = exc.first
        raise ConfigError(
            p.message, hint=p.hint, file=spec.path, line=spec.line("judges", name), field=field
        ) from exc
    key_env = getattr(cfg, "api_key_env", None)
    if key_env and not os.environ.get(key_env):
        raise ConfigError(
            f"environment variable {key_env} is not set",
            hint=f"export {key_env}=... (the judge's API key; secrets come from the environment)",
            file=spec.path,
            line=spec.line("judges", name),
            field=field,
        )


def all_verifiers(metrics: Sequence[Metric], verifiers: dict[str, Any]) -> list[Any]:
    """Every verifier in use: the suite's judges and those metrics made themselves."""
    found: dict[int, Any] = {id(v): v for v in verifiers.values()}
    for m in metrics:
        for v in (getattr(m, "verifier", None), m.options.get("verifier")):
            if v is not None and hasattr(v, "verify"):
                found.setdefault(id(v), v)
    return list(found.values())


def _judge_infos(
    metrics: Sequence[Metric], verifiers: dict[str, Any], project_root: Path
) -> list[JudgeInfo]:

    infos: dict[str, JudgeInfo] = {}
    for v in all_verifiers(metrics, verifiers):
        vid = getattr(v, "id", None)
        if not vid or vid in infos:
            continue
        cal = find_calibration(vid, project_dir=project_root)
        infos[vid] = JudgeInfo(
            id=vid,
            kind=getattr(v, "kind", "unknown"),
            model=getattr(v, "model", None),
            prompt_version=getattr(v, "prompt_version", None),
            prompt_hash=getattr(v, "prompt_hash", None),
            weak=bool(getattr(v, "weak", False)),
            calibration=cal.model_dump(mode="json") if cal is not None else None,
        )
    return list(infos.values())


CASE_TABLE_COLUMNS = ("case_id", "tags", "error", "latency_ms", "answer")


def case_table_header(metric_ids: Sequence[str]) -> list[str]:
    """Column names of ``cases.csv``: fixed columns, then one per metric, all distinct.

    A metric named like a fixed column (``latency_ms``) gets a ``metric:`` prefix, so a
    spreadsheet or ``pandas.read_csv`` never sees two columns of the same name.
    """
    fixed = set(CASE_TABLE_COLUMNS)
    return [*CASE_TABLE_COLUMNS, *(f"metric:{m}" if m in fixed else m for m in metric_ids)]


def write_case_table(record: RunRecord, path: Path) -> Path:
    """Per-case CSV: one row per case with every metric value (empty = not scored).

    The file is meant for spreadsheets: text cells that a spreadsheet would run as a formula
    (answers, ids, tags starting with ``=``, ``+``, ``-``, ``@``) get a leading ``'``.
    """
    metric_ids = list(record.summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(case_table_header(metric_ids))
        for c in record.cases:
            r = c.response
            w.writerow(
                [
                    neutralise(c.case_id),
                    neutralise(";".join(c.tags)),
                    neutralise(r.error or ""),
                    "" if r.latency_ms is None else f"{r.latency_ms:.1f}",
                    neutralise((r.answer or "")[:2000]),
                    *[
                        "" if (m := c.metrics.get(mid)) is None or m.value is None else m.value
                        for mid in metric_ids
                    ],
                ]
            )
    tmp.replace(path)
    return path


def case_marks(policy: Any) -> dict[str, float]:
    """The gate policy's per-case pass marks by metric (none without a policy)."""
    rules = getattr(policy, "rules", None) or []
    return {r.metric: r.case_pass for r in rules if r.case_pass is not None}


def gated_metrics(policy: Any) -> set[str] | None:
    """The metrics the gate policy names (a turn passes on those); None: every metric."""
    rules = getattr(policy, "rules", None) or []
    return {r.metric for r in rules} or None


def select_cases(gs: GoldenSet, limit: int | None) -> list[GoldenCase]:
    return gs.cases[:limit] if limit else list(gs.cases)


@dataclass
class _Plan:
    """What a run settled before its first endpoint call (every mistake surfaces in ``_plan``)."""

    spec: SuiteSpec
    variant_name: str
    variant: Variant
    golden: GoldenSet
    cases: list[GoldenCase]
    profile: AnyProfile
    cache_identity: dict[str, Any] | None
    out_dir: Path
    notes: list[str]
    verifiers: dict[str, Any]
    metrics: list[Metric]
    gate_policy: GatePolicy | None
    explicit_baseline: RunRecord | None
    manifest: Manifest
    console: Console
    shard: ShardInfo | None = None


def explicit_baseline_of(spec: SuiteSpec, variant: str, opts: RunOptions) -> RunRecord | None:
    """The baseline file ``opts.baseline`` names, loaded and checked (None for mlflow/none/auto)."""
    if opts.baseline == "mlflow" and not opts.mlflow:
        raise ConfigError(
            "--baseline mlflow cannot be used with --no-mlflow",
            field="--baseline",
            hint="drop --no-mlflow, or give a baseline file",
        )
    if opts.baseline in (None, "none", "mlflow"):
        return None
    base = RunRecord.load(Path(str(opts.baseline)))
    check_baseline_matches(base, spec.name, variant, str(opts.baseline))
    return base


def _plan(spec: SuiteSpec, opts: RunOptions) -> _Plan:
    """Stage 0: load and check everything (dataset, profile, metrics, judges, gate, baseline)."""
    console = opts.console or Console(stderr=True)
    variant_name = opts.variant or (spec.variant_names()[0])
    if variant_name not in spec.variant_names():
        raise ConfigError(
            f"unknown variant '{variant_name}'",
            file=spec.path,
            line=spec.line("variants", key_line=True),
            field="variants",
            hint=f"choose one of: {', '.join(spec.variant_names())}",
        )
    variant = spec.variant(variant_name)
    gs = load_golden_set(spec.resolve(spec.dataset))
    selected = select_cases(gs, opts.limit)
    shard = None
    if opts.shard is not None:
        if opts.gate:
            raise ConfigError(
                "--gate with --shard: a shard is one part of a run and is gated when merged",
                field="--gate",
                hint="drop --gate here and pass it to `ragwacht merge SHARD.json... --gate`",
            )
        index, count = opts.shard
        shard = ShardInfo(index=index, count=count, golden_cases=len(selected), limit=opts.limit)
        selected = select_shard(selected, index, count)  # a conversation's turns stay together
    cases = expand_conversations(selected)  # one case per turn
    profile = load_profile(spec.resolve(spec.endpoint))
    cache_identity = profile.public_dict() if opts.stable_cache else None
    if opts.base_url:
        profile = profile.with_base_url(opts.base_url)
    out_dir = opts.out_dir or default_out_dir(spec, variant_name)
    if shard is not None and opts.out_dir is None:
        out_dir = out_dir / f"shard-{shard.index}-of-{shard.count}"
    out_dir = prepare_out_dir(out_dir.resolve())
    notes: list[str] = []
    if not spec.project_root_found:
        # Say where things went: without a project marker they sit beside the suite file.
        notes.append(
            f"no project root (pyproject.toml, .git or ragwacht.yaml) above {spec.path}: "
            f"outputs are in {out_dir}, caches in {state_dir(spec).resolve()}; add an empty "
            "ragwacht.yaml to the project folder or pass --out"
        )

    verifiers = build_verifiers(spec)
    metrics = build_metrics(spec, verifiers)
    check_metric_inputs(spec, metrics)
    # Every configuration mistake surfaces here, before a single endpoint call.
    gate_policy = None
    if spec.gate:
        gate_policy = parse_policy(spec.gate, file=spec.path, metrics=[m.id for m in metrics])
    elif opts.gate:
        raise ConfigError(
            "--gate given but the suite has no gate policy",
            file=spec.path,
            field="gate",
            hint="add a gate: section (see ci/gate-policy.example.yaml)",
        )
    explicit_baseline = explicit_baseline_of(spec, variant_name, opts)
    started = _now()
    root = spec.project_root
    try:
        ci = ci_context(cwd=root)
    except ImportError:  # pragma: no cover - tracking is part of the package
        ci = {}
    manifest = Manifest(
        harness_version=__version__,
        git_sha=ci.get("git_sha"),
        git_branch=ci.get("branch"),  # ci_context already asked git (never "HEAD")
        suite_name=spec.name,
        suite_path=rel_path(spec.path, root),
        suite_hash=spec.suite_hash(),
        dataset_name=gs.manifest.name,
        dataset_version=gs.manifest.version,
        dataset_digest=gs.digest,
        dataset_path=rel_path(gs.path, root),
        dataset_language=gs.manifest.language or spec.lang,
        endpoint_profile=redact_public(profile.public_dict()),
        variant=variant_name,
        variant_settings=redact_public(variant.model_dump(mode="json", exclude={"name"})),
        metrics=[m.describe() for m in metrics],
        ci={k: str(v) for k, v in ci.items() if v},
        python=sys.version.split()[0],
        platform=platform.platform(terse=True),
        started_at=started,
    )
    return _Plan(
        spec=spec,
        variant_name=variant_name,
        variant=variant,
        golden=gs,
        cases=cases,
        profile=profile,
        cache_identity=cache_identity,
        out_dir=out_dir,
        notes=notes,
        verifiers=verifiers,
        metrics=metrics,
        gate_policy=gate_policy,
        explicit_baseline=explicit_baseline,
        manifest=manifest,
        console=console,
        shard=shard,
    )


def _case_result(
    case: GoldenCase, responses: list[Response], metrics: dict[str, MetricResult]
) -> CaseResult:
    return CaseResult(
        case_id=case.id,
        tags=list(case.tags),
        question=case.question,
        reference_answer=case.reference_answer,
        expected_behavior=case.expected_behavior.value,
        gold_doc_ids=[g.doc_id for g in case.gold_contexts],
        response=responses[0],
        repeats=responses[1:],
        metrics=metrics,
        conversation_id=case.conversation.conversation_id if case.conversation else None,
        turn=case.conversation.turn if case.conversation else None,
    )


async def _execute_and_score(plan: _Plan, opts: RunOptions) -> tuple[ScorePipeline, CaseSpool]:
    """Stages 1 and 2: call the endpoint for every case and score the finished ones meanwhile.

    Resumable: answers and scores are stored as they come.
    """
    spec, cases, profile, variant = plan.spec, plan.cases, plan.profile, plan.variant
    out_dir, cache_identity, console = plan.out_dir, plan.cache_identity, plan.console
    ex = spec.execution
    exec_opts = ExecOptions(
        concurrency=ex.concurrency,
        rate_limit=ex.rate_limit,
        attempt_timeout_s=ex.timeout_s,
        overall_timeout_s=ex.overall_timeout_s,
        max_retries=ex.max_retries,
    )
    store = ResponseStore(out_dir / "responses.jsonl", fresh=not opts.resume)
    cache = ResponseCache(state_dir(spec) / "response-cache")
    checkpoint = ScoreCheckpoint(
        out_dir / CHECKPOINT_NAME, plan.manifest.suite_hash, fresh=not opts.resume
    )
    spool = CaseSpool(out_dir / SPOOL_NAME, len(cases))
    lang = plan.golden.manifest.language or spec.lang
    pipeline = ScorePipeline(
        cases,
        plan.metrics,
        repeats=ex.repeats,
        language=lambda c: c.language(lang),
        make_case=_case_result,
        spool=spool,
        checkpoint=checkpoint,
        timeout_s=ex.scoring_timeout_s,
        console=console,
        progress=opts.progress,
    )
    runner = None
    if ex.engine == "ray":
        settings = RaySettings(
            address=ex.ray.address or os.environ.get("RAY_ADDRESS") or None,
            actors=ex.ray.actors,
        )
        runner = RayRunner(apply_variant(profile, variant), exec_opts, settings)
    where = f"`ragwacht run {rel_path(spec.path, Path.cwd()) or spec.name} --resume` (same --out "
    pipeline.start()
    try:
        try:
            await run_cases(
                profile,
                cases,
                runner=runner,
                variant=variant,
                options=exec_opts,
                store=store,
                cache=cache,
                resume=opts.resume,
                refresh=opts.refresh or not _cache_reads(opts),
                repeats=ex.repeats,
                progress=opts.progress,
                cache_identity=cache_identity,
                on_response=pipeline.on_response,
                keep=False,
            )
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
            pipeline.cancel()
            kept = sum(1 for r in store.load().values() if r.ok)
            raise Interrupted(
                f"interrupted while calling the endpoint: {kept} of {len(cases) * ex.repeats} "
                f"responses are kept in {store.path}, and the scores of the cases finished so "
                f"far in {checkpoint.path}. Continue with {where}"
                "and --variant): only the missing cases are called"
            ) from None
        try:
            await pipeline.finish()
        except asyncio.CancelledError:
            pipeline.cancel()
            now = pipeline.scoring_now or "?"
            done = ", ".join(pipeline.finished) or "none"
            raise Interrupted(
                f"interrupted while scoring {now}: all {pipeline.n_responses} responses are kept "
                f"in {store.path}, and the scores of the finished cases and metrics ({done}) in "
                f"{checkpoint.path}. Continue with {where}"
                "and --variant): no endpoint call is repeated and finished scores are not "
                "computed again"
            ) from None
    except BaseException:
        pipeline.cancel()
        spool.close(remove=True)
        raise
    finally:
        for v in all_verifiers(plan.metrics, plan.verifiers):
            close = getattr(v, "aclose", None)
            if close is not None:
                await close()
    if pipeline.n_cached and opts.progress:
        console.print(f"[yellow]note[/]: {_cache_note(pipeline)}")
    return pipeline, spool


def _cache_note(pipeline: ScorePipeline) -> str | None:
    if not pipeline.n_cached:
        return None
    return (
        f"{pipeline.n_cached} of {pipeline.n_responses} responses came from the response cache"
        " (their latency is from when they were first fetched); use --refresh for fresh answers"
    )


def _cut_note(pipeline: ScorePipeline) -> str | None:
    if not pipeline.n_cut:
        return None
    return (
        f"{pipeline.n_cut} answers or passages were longer than {SCORING_MAX_CHARS:,} characters"
        f" and were scored on their first {SCORING_MAX_CHARS:,} (the record keeps the full text)"
    )


def _make_record(plan: _Plan, pipeline: ScorePipeline, cases: Sequence[CaseResult]) -> RunRecord:
    """Stage 3: the run record: per-case results (read from disk), summaries, judges."""
    spec, metrics, gate_policy, manifest = plan.spec, plan.metrics, plan.gate_policy, plan.manifest
    seed = gate_policy.seed if gate_policy is not None else 0
    n_resamples = gate_policy.n_resamples if gate_policy is not None else 10_000
    summary = summarize_metrics(
        metrics, cases, breakdown=spec.breakdown, n_resamples=n_resamples, seed=seed
    )
    manifest.judges = _judge_infos(metrics, plan.verifiers, spec.project_root)
    manifest.finished_at = _now()
    notes = plan.notes + [n for n in (_cache_note(pipeline), _cut_note(pipeline)) if n]
    return RunRecord(
        run_id=uuid.uuid4().hex,
        suite=spec.name,
        variant=plan.variant_name,
        manifest=manifest,
        cases=cases,
        summary=summary,
        endpoint_errors=pipeline.endpoint_errors,
        warnings=notes,
        judge_errors=pipeline.judge_errors,
        conversations=conversation_results(
            cases, summary, case_marks(gate_policy), gated_metrics(gate_policy)
        )
        if pipeline.has_conversations
        else [],
        shard=plan.shard,
    )


async def _evaluate_async(spec: SuiteSpec, opts: RunOptions) -> Evaluated:
    """Plan -> execute and score -> record, the record on disk before anything else can fail."""
    # Blocking work (embeddings, NLI, python callables) runs on daemon threads, so that a
    # metric over its time budget or a Ctrl-C does not leave the process waiting for it.
    asyncio.get_running_loop().set_default_executor(DaemonExecutor())
    plan = _plan(spec, opts)
    pipeline, spool = await _execute_and_score(plan, opts)
    try:
        record = _make_record(plan, pipeline, spool.cases())
        files = {"record": record.save(plan.out_dir / "run.json")}  # now reads from run.json
    finally:
        spool.close(remove=True)
    files["cases"] = write_case_table(record, plan.out_dir / "cases.csv")
    return Evaluated(
        record=record,
        out_dir=plan.out_dir,
        files=files,
        gate_policy=plan.gate_policy,
        explicit_baseline=plan.explicit_baseline,
    )


def evaluate_suite(suite: str | Path | SuiteSpec, opts: RunOptions | None = None) -> Evaluated:
    """The run's first stages for one variant: no gate, no outputs, no MLflow yet.

    Hand the result to :func:`ragwacht.evals.finish.finish_run` to finish it; ``run_suite``
    does both.
    """
    spec = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
    return asyncio.run(_evaluate_async(spec, opts or RunOptions()))


async def _run_async(spec: SuiteSpec, opts: RunOptions) -> RunOutcome:
    """Evaluate (plan, execute, score, record) -> finish (baseline, gate, outputs, MLflow)."""
    ev = await _evaluate_async(spec, opts)
    if ev.record.shard is not None:
        # A shard is one part of a run: no gate, outputs or MLflow until `ragwacht merge`.
        return RunOutcome(record=ev.record, out_dir=ev.out_dir, files=ev.files)
    return finish_evaluated(spec, ev, opts)


def finish_evaluated(spec: SuiteSpec, ev: Evaluated, opts: RunOptions) -> RunOutcome:
    """Resolve the baseline as ``run`` does and finish ``ev`` (gate, outputs, MLflow)."""
    record, out_dir, files = ev.record, ev.out_dir, ev.files
    variant_name = record.variant
    outcome = RunOutcome(record=record, out_dir=out_dir, files=files)

    if ev.explicit_baseline is not None:
        lookup = BaselineLookup(ev.explicit_baseline, source=f"file {opts.baseline}")
    else:
        lookup = resolve_baseline(
            spec.name,
            variant_name,
            opts.baseline,
            spec=spec,
            mlflow=opts.mlflow,
            tracking_uri=opts.tracking_uri,
            exclude_run_id=record.run_id,
        )
        record.warnings.extend(lookup.notes)
    outcome.baseline = lookup.record
    closed = finish_run(
        record,
        policy=ev.gate_policy,
        lookup=lookup,
        record_path=files["record"],
        paths=OutputPaths.in_dir(out_dir, report=opts.write_report, ci=opts.ci_outputs),
        enforce_gate=opts.gate,
        lang=opts.lang or spec.lang,
        trend=_trend(spec, variant_name, opts) if opts.write_report else None,
        mlflow=MlflowTarget(
            tracking_uri=opts.tracking_uri,
            project_root=spec.project_root,
            kind="partial" if opts.limit else "run",  # a --limit run never becomes a baseline
        )
        if opts.mlflow
        else None,
        artifacts=files,
    )
    outcome.gate = closed.gate
    outcome.exit_code = closed.exit_code
    outcome.files = closed.files
    return outcome


def _cache_reads(opts: RunOptions) -> bool:
    """Whether cached responses may stand in for endpoint calls in this run."""
    if opts.use_cache is not None:
        return opts.use_cache
    return not opts.gate


def _trend(spec: SuiteSpec, variant: str, opts: RunOptions) -> list[Any] | None:
    """Earlier runs on the base branch from MLflow, for the report's trend (None if none)."""
    if not opts.mlflow:
        return None
    try:
        runs = list_runs(
            spec.name,
            variant,
            branch=spec.baseline.branch,
            tracking_uri=opts.tracking_uri,
            project_root=spec.project_root,
        )
    except Exception as exc:  # the trend is a nicety; an outage must not stop the run
        log.warning("trend from MLflow unavailable: %s", exc)
        return None
    return runs or None


def run_suite(suite: str | Path | SuiteSpec, opts: RunOptions | None = None) -> RunOutcome:
    """Run a suite end to end (see module docstring) and return the outcome."""
    spec = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
    return asyncio.run(_run_async(spec, opts or RunOptions()))


__all__ = [
    "DEFAULT_VARIANT",
    "Evaluated",
    "RunOptions",
    "RunOutcome",
    "evaluate_suite",
    "run_suite",
]
