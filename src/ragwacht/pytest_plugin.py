"""pytest plugin: a suite's golden cases and gate checks as pytest items.

``pytest --ragwacht evals/SUITE.yaml`` (or ``ragwacht_suite = evals/SUITE.yaml`` in the ini
file) runs the suite once per session through the normal runner, exactly like ``ragwacht run``
(response cache, ``--ragwacht-resume``, run record, JUnit, Markdown and HTML report in the
output folder, MLflow unless ``--ragwacht-no-mlflow``), and then reports:

- one item per golden case, named by the case id (``evals/SUITE.yaml::woz-q004``), with every
  metric value as a JUnit property and the case's tags as markers: ``topic:woz`` becomes
  ``topic_woz`` (pytest's ``-m`` cannot spell a ``:``), a tag without a key becomes
  ``tag_<tag>``; every case item also carries ``ragwacht_case``;
- one item per gate check (``evals/SUITE.yaml::gate::threshold recall@5 mean >= 0.75``), marked
  ``ragwacht_gate``: thresholds, regressions against the baseline, evidence and the error
  budget. A check that could not be evaluated (no baseline) is skipped with the reason.

Whether a failing case fails the session is a setting (``--ragwacht-case-failures``, ini
``ragwacht_case_failures``): ``report`` (the default) shows it as xfailed with its reason and
leaves the verdict to the statistical gate items, as ``ragwacht run --gate`` does; ``fail``
fails the item. ``--collect-only`` lists the case items without running the suite (gate
items exist only once a run is gated). The suite always runs whole, so the gate sees every
case: ``-m``/``-k`` choose which items are reported, not which cases are asked (the response
cache makes reruns cheap).

``--ragwacht-repeat N`` asks each case N times and scores every answer: a case item then
carries its pass rate with a Wilson interval, and a case that passed some repeats and failed
others is *flaky* (marker ``ragwacht_flaky``, property ``ragwacht.flaky``). The gate reads the
first answer of each case, as ``ragwacht run`` does with ``execution.repeats``.

With pytest-xdist (``-n N``) each worker runs one shard of the cases (``ragwacht run --shard
K/N``: by a hash of each case id, so the split is the same on every worker and stable when
cases are added), writes its shard record, and waits; worker ``gw0`` merges the shards
(``ragwacht merge``) into the one record, gate verdict and reports, and every worker then
reports the same items from that merged evaluation. The gate is therefore decided once, on all
cases, never on a worker's share, and the endpoint calls are spread over the workers. A worker
waits at most ``RAGWACHT_XDIST_WAIT_S`` seconds (default four hours) for the others.

Exit codes are pytest's: 0 when every item passed, 1 when a gate item (or, with ``fail``, a case
item) failed, 4 for a usage error such as a bad suite (the message names file, line and field).
"""

from __future__ import annotations

import asyncio
import json
import keyword
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field

from ragwacht.records import StrictModel

CaseFailures = Literal["report", "fail"]
CaseStatus = Literal["passed", "failed", "error", "skipped", "flaky"]
STATE_FILE = "pytest-session.json"
STATE_VERSION = 1
SHARD_DONE_FILE = "pytest-shard.json"  # in each shard's folder: {"token", "error"}
MERGE_DONE_FILE = "pytest-merge.json"  # beside the merged record: {"token", "error"}
_WORKER_KEY = "ragwacht_state"
_SHARDS_KEY = "ragwacht_shards"
_BUILTIN_MARKS = frozenset(
    {
        "skip",
        "skipif",
        "xfail",
        "parametrize",
        "usefixtures",
        "filterwarnings",
        "tryfirst",
        "trylast",
        "timeout",
        "asyncio",
        "flaky",
    }
)
_OWN_MARKS = {
    "ragwacht_case": "a golden case of the ragwacht suite",
    "ragwacht_gate": "a gate check of the ragwacht suite",
    "ragwacht_flaky": "a golden case that passed some repeats and failed others",
}
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")


class CaseVerdict(StrictModel):
    """One golden case as the plugin reports it."""

    case_id: str
    status: CaseStatus
    message: str
    detail: str = ""
    markers: list[str] = Field(default_factory=list)
    properties: list[tuple[str, str]] = Field(default_factory=list)
    repeats: int = 1
    passes: int | None = None
    pass_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class RuleVerdict(StrictModel):
    """One gate check as the plugin reports it."""

    name: str
    kind: str
    passed: bool | None
    message: str
    properties: list[tuple[str, str]] = Field(default_factory=list)


class SessionState(StrictModel):
    """Everything the items need, computed once per session (and shipped to xdist workers)."""

    schema_version: int = STATE_VERSION
    suite: str
    suite_path: str
    variant: str
    run_id: str
    record_path: str
    report_path: str | None = None
    has_gate: bool
    verdict: str | None = None
    headline: str | None = None
    repeat: int = 1
    cases: list[CaseVerdict]
    rules: list[RuleVerdict]
    warnings: list[str] = Field(default_factory=list)
    session_token: str = Field(default="", description="the xdist session that wrote it")


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--ragwacht*`` options and their ini counterparts."""
    group = parser.getgroup("ragwacht", "ragwacht: golden cases and gate checks as tests")
    group.addoption(
        "--ragwacht",
        dest="ragwacht_suite",
        metavar="SUITE",
        default=None,
        help="run this ragwacht suite (evals/SUITE.yaml) and report its cases and gate checks",
    )
    group.addoption("--ragwacht-variant", dest="ragwacht_variant", default=None)
    group.addoption(
        "--ragwacht-repeat",
        dest="ragwacht_repeat",
        type=int,
        default=None,
        metavar="N",
        help="ask each case N times; case items report their pass rate and flakiness",
    )
    group.addoption(
        "--ragwacht-case-failures",
        dest="ragwacht_case_failures",
        choices=("report", "fail"),
        default=None,
        help="report (default): failing cases are xfailed and the gate items decide; "
        "fail: failing cases fail the session",
    )
    group.addoption(
        "--ragwacht-base-url",
        dest="ragwacht_base_url",
        default=None,
        help="point the suite's endpoint at this base URL",
    )
    group.addoption(
        "--ragwacht-out", dest="ragwacht_out", default=None, help="output folder of the run"
    )
    group.addoption(
        "--ragwacht-baseline",
        dest="ragwacht_baseline",
        default=None,
        help="baseline: a run record or baseline file, 'mlflow' or 'none'",
    )
    group.addoption(
        "--ragwacht-no-mlflow",
        dest="ragwacht_no_mlflow",
        action="store_true",
        default=False,
        help="do not log the run to MLflow",
    )
    group.addoption(
        "--ragwacht-resume",
        dest="ragwacht_resume",
        action="store_true",
        default=False,
        help="keep finished responses of an interrupted run, call only the missing ones",
    )
    group.addoption(
        "--ragwacht-refresh",
        dest="ragwacht_refresh",
        action="store_true",
        default=False,
        help="bypass the response cache",
    )
    parser.addini("ragwacht_suite", "ragwacht suite to run (relative to the ini file)")
    parser.addini("ragwacht_variant", "variant of the suite to run")
    parser.addini("ragwacht_repeat", "ask each case N times", default="1")
    parser.addini("ragwacht_case_failures", "report or fail", default="report")
    parser.addini("ragwacht_mlflow", "log the run to MLflow", type="bool", default=True)


class Settings(StrictModel):
    """The plugin's settings, from the command line first, then the ini file."""

    suite: Path
    variant: str | None = None
    repeat: int = 1
    case_failures: CaseFailures = "report"
    base_url: str | None = None
    out_dir: Path | None = None
    baseline: str | None = None
    mlflow: bool = True
    resume: bool = False
    refresh: bool = False


def _usage(message: str) -> pytest.UsageError:
    return pytest.UsageError(f"ragwacht: {message}")


def settings_from_config(config: pytest.Config) -> Settings | None:
    """The settings of this session, or None when the plugin is not asked for."""
    opt = config.option
    base = config.invocation_params.dir
    suite = getattr(opt, "ragwacht_suite", None)
    if suite is None:
        ini_suite = str(config.getini("ragwacht_suite") or "").strip()
        if not ini_suite:
            return None
        base = config.inipath.parent if config.inipath else config.rootpath
        suite = ini_suite
    path = Path(suite).expanduser()
    if not path.is_absolute():
        path = base / path
    repeat_raw = opt.ragwacht_repeat
    if repeat_raw is None:
        ini_repeat = str(config.getini("ragwacht_repeat") or "1").strip()
        try:
            repeat_raw = int(ini_repeat)
        except ValueError:
            raise _usage(
                f"ini option ragwacht_repeat = {ini_repeat!r} is not a whole number "
                f"({config.inipath}; fix: write e.g. ragwacht_repeat = 3)"
            ) from None
    if not 1 <= repeat_raw <= 50:
        raise _usage(f"--ragwacht-repeat {repeat_raw} is outside 1..50 (fix: use e.g. 3)")
    failures = opt.ragwacht_case_failures or str(config.getini("ragwacht_case_failures")).strip()
    if failures not in ("report", "fail"):
        raise _usage(
            f"ragwacht_case_failures = {failures!r} is not known ({config.inipath}; "
            "fix: use report or fail)"
        )
    variant = opt.ragwacht_variant or (str(config.getini("ragwacht_variant") or "").strip() or None)
    out = Path(opt.ragwacht_out).expanduser() if opt.ragwacht_out else None
    if out is not None and not out.is_absolute():
        out = config.invocation_params.dir / out
    return Settings(
        suite=path,
        variant=variant,
        repeat=repeat_raw,
        case_failures=failures,
        base_url=opt.ragwacht_base_url,
        out_dir=out,
        baseline=opt.ragwacht_baseline,
        mlflow=not opt.ragwacht_no_mlflow and bool(config.getini("ragwacht_mlflow")),
        resume=opt.ragwacht_resume,
        refresh=opt.ragwacht_refresh,
    )


# --------------------------------------------------------------------------- markers


def marker_name(tag: str, reserved: frozenset[str] | set[str] = _BUILTIN_MARKS) -> str:
    """The pytest marker for a case tag: ``topic:woz`` -> ``topic_woz``, ``smoke`` -> ``tag_smoke``.

    A tag is untrusted text: anything but letters, digits and ``_`` becomes ``_``, and a name
    that would collide with a marker pytest or another plugin acts on (``skip``, ``xfail``...)
    or with a Python keyword is prefixed with ``tag_`` so a tag can never change how a test runs.
    """
    key, sep, value = tag.partition(":")
    raw = f"{key}_{value}" if sep else f"tag_{tag}"
    name = _NOT_IDENT.sub("_", raw)
    if not name or name[0].isdigit() or name in reserved or keyword.iskeyword(name):
        name = f"tag_{name}"
    if name in _OWN_MARKS:
        name = f"tag_{name}"
    return name


def _registered_markers(config: pytest.Config) -> set[str]:
    names = set()
    for line in config.getini("markers"):
        names.add(line.split(":", 1)[0].split("(", 1)[0].strip())
    return names


# --------------------------------------------------------------------------- evaluation


def _props(pairs: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, v in pairs.items():
        if v is None:
            continue
        if isinstance(v, float):
            v = f"{v:.6g}"
        out.append((k, str(v)))
    return out


def _case_detail(case: Any, metrics: list[Any]) -> str:
    """Question, answer and the gated metrics with reasons and unsupported claims."""
    lines = [f"question: {case.question}"]
    if case.response.error is not None:
        lines.append(
            f"endpoint error ({case.response.error_kind or 'error'}): {case.response.error}"
        )
    else:
        answer = " ".join((case.response.answer or "(no answer)").split())
        lines.append(f"answer: {answer[:600]}")
    for gm in metrics:
        r = case.metrics.get(gm.metric)
        if r is None:
            continue
        value = "not scored" if r.value is None else f"{r.value:.3f}"
        line = f"{gm.metric}: {value}"
        if r.reason:
            line += f" ({r.reason})"
        lines.append(line)
        for c in (r.details.get("claims") or [])[:10]:
            if c.get("verdict") != "supported":
                lines.append(f"  [{c.get('verdict')}] {c.get('claim')}")
    return "\n".join(lines)


def _outcomes(case: Any, metrics: list[Any]) -> list[Any]:
    from ragwacht.ci.cases import case_outcome  # lazy: the plugin loads in every pytest session

    return [
        case_outcome(
            case,
            gm.metric,
            higher_is_better=gm.higher_is_better,
            case_pass=gm.case_pass,
            unit=gm.unit,
        )
        for gm in metrics
    ]


def _status(outcomes: list[Any]) -> tuple[CaseStatus, str]:
    bad = [o for o in outcomes if o.status in ("error", "failed")]
    if any(o.status == "error" for o in outcomes):
        return "error", "; ".join(o.message for o in bad)
    if bad:
        return "failed", "; ".join(o.message for o in bad)
    passed = [o for o in outcomes if o.status == "passed"]
    if passed:
        return "passed", "; ".join(o.message for o in passed)
    reasons = "; ".join(o.message for o in outcomes) or "no gated metric"
    return "skipped", f"no gated metric could be judged on this case: {reasons}"


async def _score_repeats(spec: Any, record: Any) -> dict[tuple[str, int], dict[str, Any]]:
    """Score every repeated answer (beyond the first) with the suite's metrics."""
    from ragwacht.datasets.conversations import (
        expand_conversations,  # lazy: the plugin loads in every pytest session
    )
    from ragwacht.datasets.io import (
        load_golden_set,  # lazy: the plugin loads in every pytest session
    )
    from ragwacht.evals.run import (  # lazy: the plugin loads in every pytest session
        all_verifiers,
        build_metrics,
        build_verifiers,
    )
    from ragwacht.evals.scoring import (
        score_cases,  # lazy: the plugin loads in every pytest session
    )
    from ragwacht.metrics.base import ScoreInput  # lazy: the plugin loads in every pytest session

    gs = load_golden_set(spec.resolve(spec.dataset))
    # Record cases are per turn for conversations (<id>#t<N>).
    by_id = {c.id: c for c in expand_conversations(gs.cases)}
    default_lang = gs.manifest.language or spec.lang
    items: list[ScoreInput] = []
    keys: list[tuple[str, int]] = []
    for c in record.cases:
        golden = by_id.get(c.case_id)
        if golden is None:
            continue
        for rep in c.repeats:
            items.append(
                ScoreInput(case=golden, response=rep, language=golden.language(default_lang))
            )
            keys.append((c.case_id, rep.repeat))
    if not items:
        return {}
    verifiers = build_verifiers(spec)
    metrics = build_metrics(spec, verifiers)
    try:
        scored = await score_cases(metrics, items, progress=False)
    finally:
        for v in all_verifiers(metrics, verifiers):
            close = getattr(v, "aclose", None)
            if close is not None:
                await close()
    return dict(zip(keys, scored, strict=True))


def evaluate(settings: Settings, reserved: set[str] | None = None) -> SessionState:
    """Run the suite (as ``ragwacht run``), gate it and turn the result into item verdicts.

    Raises:
        ConfigError: a bad suite, dataset, profile, judge or option.

    """
    from ragwacht.evals.run import run_suite  # lazy: the plugin loads in every pytest session

    spec = _spec_for(settings)
    outcome = run_suite(spec, _run_options(settings))
    return state_from_outcome(settings, spec, outcome, reserved)


def _spec_for(settings: Settings) -> Any:
    """The suite as this session runs it (``--ragwacht-repeat`` sets execution.repeats)."""
    from ragwacht.evals.spec import load_suite  # lazy: the plugin loads in every pytest session

    spec = load_suite(settings.suite)
    if settings.repeat > 1:
        execution = spec.execution.model_copy(update={"repeats": settings.repeat})
        spec = spec.model_copy(update={"execution": execution})
        spec.path = settings.suite.resolve()
    return spec


def _run_options(settings: Settings, **override: Any) -> Any:
    from ragwacht.evals.run import RunOptions  # lazy: the plugin loads in every pytest session

    opts = {
        "variant": settings.variant,
        "out_dir": settings.out_dir,
        "baseline": settings.baseline,
        "mlflow": settings.mlflow,
        "resume": settings.resume,
        "refresh": settings.refresh,
        "progress": False,
        "base_url": settings.base_url,
        "ci_outputs": False,
    }
    return RunOptions(**(opts | override))


def state_from_outcome(
    settings: Settings, spec: Any, outcome: Any, reserved: set[str] | None = None
) -> SessionState:
    """The item verdicts of a finished (gated) run."""
    from ragwacht import stats  # lazy: the plugin loads in every pytest session
    from ragwacht.ci.gate import (  # lazy: the plugin loads in every pytest session
        as_gate_result,
        output_metrics,
    )

    record = outcome.record
    gate_result = as_gate_result(outcome.gate)
    gated = output_metrics(record, gate_result)
    repeat_scores = asyncio.run(_score_repeats(spec, record)) if settings.repeat > 1 else {}
    taken = set(reserved or ()) | set(_BUILTIN_MARKS)

    cases: list[CaseVerdict] = []
    for case in record.cases:
        status, message = _status(_outcomes(case, gated))
        props: dict[str, Any] = {}
        for mid in record.summary:
            r = case.metrics.get(mid)
            if r is not None:
                props[mid] = "not scored" if r.value is None else r.value
        props["ragwacht.status"] = status
        if case.response.cached:
            props["ragwacht.cached"] = "true"
        markers = sorted({marker_name(t, taken) for t in case.tags})
        verdict = CaseVerdict(case_id=case.case_id, status=status, message=message)
        if settings.repeat > 1:
            statuses = [status]
            for rep in case.repeats:
                rep_metrics = repeat_scores.get((case.case_id, rep.repeat), {})
                rep_case = case.model_copy(update={"response": rep, "metrics": rep_metrics})
                statuses.append(_status(_outcomes(rep_case, gated))[0])
            judged = [s for s in statuses if s != "skipped"]
            passes = sum(1 for s in judged if s == "passed")
            verdict.repeats = len(statuses)
            if judged:
                lo, hi = stats.wilson_interval(passes, len(judged), 0.95)
                rate = passes / len(judged)
                verdict.passes, verdict.pass_rate = passes, rate
                verdict.ci_low, verdict.ci_high = lo, hi
                summary = (
                    f"passed {passes} of {len(judged)} repeats ({rate:.0%}, "
                    f"95% Wilson CI {lo:.0%}–{hi:.0%})"
                )
                if 0 < passes < len(judged):
                    verdict.status = "flaky"
                    verdict.message = f"flaky: {summary}; first answer: {message}"
                    markers.append("ragwacht_flaky")
                elif passes == 0:
                    verdict.status = "error" if "error" in judged else "failed"
                    verdict.message = f"{summary}; first answer: {message}"
                else:
                    verdict.status = "passed"
                    verdict.message = summary
                props.update(
                    {
                        "ragwacht.status": verdict.status,
                        "ragwacht.repeats": len(judged),
                        "ragwacht.passes": passes,
                        "ragwacht.pass_rate": rate,
                        "ragwacht.pass_rate_ci_low": lo,
                        "ragwacht.pass_rate_ci_high": hi,
                        "ragwacht.flaky": str(verdict.status == "flaky").lower(),
                    }
                )
        verdict.markers = markers
        verdict.properties = _props(props)
        verdict.detail = _case_detail(case, gated)
        cases.append(verdict)

    rules: list[RuleVerdict] = []
    seen: dict[str, int] = {}
    for rule in gate_result.rules if gate_result is not None else []:
        name = rule.name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two rules on one bound: keep item names unique
            name = f"{name} #{seen[name]}"
        rules.append(
            RuleVerdict(
                name=name,
                kind=rule.kind,
                passed=rule.passed,
                message=rule.message,
                properties=_props(
                    {
                        "ragwacht.kind": rule.kind,
                        "ragwacht.metric": rule.metric,
                        "ragwacht.observed": rule.observed,
                        "ragwacht.limit": rule.limit,
                        "ragwacht.baseline": rule.baseline,
                        "ragwacht.delta": rule.delta,
                        "ragwacht.ci_low": rule.ci_low,
                        "ragwacht.ci_high": rule.ci_high,
                        "ragwacht.p_value": rule.p_value,
                        "ragwacht.p_adjusted": rule.p_adjusted,
                        "ragwacht.n": rule.n,
                    }
                ),
            )
        )
    warnings = list(record.warnings)
    if gate_result is None:
        warnings.append(
            "the suite has no gate: policy, so no gate items; failing cases only fail the "
            "session with --ragwacht-case-failures fail"
        )
    report = outcome.files.get("report")
    return SessionState(
        suite=record.suite,
        suite_path=str(settings.suite),
        variant=record.variant,
        run_id=record.run_id,
        record_path=str(outcome.files["record"]),
        report_path=str(report) if report is not None else None,
        has_gate=gate_result is not None,
        verdict=gate_result.verdict if gate_result is not None else None,
        headline=gate_result.headline if gate_result is not None else None,
        repeat=settings.repeat,
        cases=cases,
        rules=rules,
        warnings=warnings,
    )


def _wait_s() -> float:
    try:
        return float(os.environ.get("RAGWACHT_XDIST_WAIT_S", "") or 4 * 3600)
    except ValueError:
        return 4 * 3600.0


def _wait_for_token(path: Path, token: str, deadline: float, what: str) -> dict[str, Any]:
    """The JSON in ``path`` once it carries this session's ``token`` (older files are stale)."""
    from ragwacht.errors import ConfigError  # lazy: the plugin loads in every pytest session

    while True:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("token") == token:
                return data
        except (OSError, ValueError):
            pass  # not written yet
        if time.monotonic() > deadline:
            raise ConfigError(
                f"waited {_wait_s():g} s for {what}; did an xdist worker die?",
                hint="run again; for longer shards set RAGWACHT_XDIST_WAIT_S",
            )
        time.sleep(0.2)


def evaluate_shard(
    settings: Settings,
    reserved: set[str] | None,
    *,
    index: int,
    count: int,
    base: Path,
    token: str,
) -> SessionState:
    """One xdist worker's part: run shard ``index`` of ``count``; worker 1 merges them all.

    Every worker returns the same state, made from the merged record.

    Raises:
        ConfigError: a bad suite, a shard or the merge failed on some worker, or a worker did
            not finish in time.

    """
    from ragwacht._io import write_atomic  # lazy: the plugin loads in every pytest session
    from ragwacht.errors import ConfigError  # lazy: the plugin loads in every pytest session
    from ragwacht.evals.merge import merge_shards  # lazy: the plugin loads in every pytest session
    from ragwacht.evals.run import run_suite  # lazy: the plugin loads in every pytest session

    def shard_dir(k: int) -> Path:
        return base / f"shard-{k}-of-{count}"

    def say(path: Path, error: str | None) -> None:
        write_atomic(path, json.dumps({"token": token, "error": error}))

    spec = _spec_for(settings)
    try:
        run_suite(spec, _run_options(settings, out_dir=shard_dir(index), shard=(index, count)))
    except BaseException as exc:
        say(shard_dir(index) / SHARD_DONE_FILE, str(exc) or type(exc).__name__)
        raise
    say(shard_dir(index) / SHARD_DONE_FILE, None)
    deadline = time.monotonic() + _wait_s()
    merged = base / MERGE_DONE_FILE
    if index != 1:
        done = _wait_for_token(merged, token, deadline, "the merge on worker gw0")
        if done.get("error"):
            raise ConfigError(f"the merge of the shards failed: {done['error']}")
        return SessionState.model_validate_json((base / STATE_FILE).read_text(encoding="utf-8"))
    try:
        for k in range(1, count + 1):
            done = _wait_for_token(
                shard_dir(k) / SHARD_DONE_FILE, token, deadline, f"shard {k}/{count}"
            )
            if done.get("error"):
                raise ConfigError(f"shard {k}/{count} (worker gw{k - 1}) failed: {done['error']}")
        outcome = merge_shards(
            [shard_dir(k) / "run.json" for k in range(1, count + 1)],
            _run_options(settings, out_dir=base),
            suite=spec,
        )
        state = state_from_outcome(settings, spec, outcome, reserved)
        state.session_token = token
        write_atomic(base / STATE_FILE, state.model_dump_json(indent=1))
    except BaseException as exc:
        say(merged, str(exc) or type(exc).__name__)
        raise
    say(merged, None)
    return state


def collect_only_state(settings: Settings, reserved: set[str] | None = None) -> SessionState:
    """The case items of the suite without running it (for ``--collect-only``).

    Listing tests must not call the chatbot; gate checks exist only once a run is gated, so
    they are not listed here.

    Raises:
        ConfigError: a bad suite or dataset.

    """
    from ragwacht.datasets.conversations import (
        expand_conversations,  # lazy: the plugin loads in every pytest session
    )
    from ragwacht.datasets.io import (
        load_golden_set,  # lazy: the plugin loads in every pytest session
    )
    from ragwacht.evals.spec import load_suite  # lazy: the plugin loads in every pytest session

    spec = load_suite(settings.suite)
    gs = load_golden_set(spec.resolve(spec.dataset))
    taken = set(reserved or ()) | set(_BUILTIN_MARKS)
    cases = [
        CaseVerdict(
            case_id=c.id,
            status="passed",
            message="not run (--collect-only)",
            markers=sorted({marker_name(t, taken) for t in c.tags}),
        )
        for c in expand_conversations(gs.cases)  # one item per conversation turn, as run
    ]
    return SessionState(
        suite=spec.name,
        suite_path=str(settings.suite),
        variant=settings.variant or spec.variant_names()[0],
        run_id="",
        record_path="",
        has_gate=False,
        cases=cases,
        rules=[],
        warnings=["--collect-only: the suite was not run; gate items appear when it runs"],
    )


# --------------------------------------------------------------------------- session


_STATE = pytest.StashKey["SessionState | None"]()
_SETTINGS = pytest.StashKey["Settings | None"]()
_SHARDS = pytest.StashKey["tuple[str, Path] | None"]()


def pytest_configure(config: pytest.Config) -> None:
    """Read the settings and register the plugin's own markers."""
    settings = settings_from_config(config)
    config.stash[_SETTINGS] = settings
    config.stash[_STATE] = None
    config.stash[_SHARDS] = None
    if settings is None:
        return
    for name, text in _OWN_MARKS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _state_file(state: SessionState) -> Path:
    return Path(state.record_path).parent / STATE_FILE


def pytest_sessionstart(session: pytest.Session) -> None:
    """Run the suite once (on the xdist controller, or here), or load what the controller ran."""
    config = session.config
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return
    from ragwacht._io import write_atomic  # lazy: the plugin loads in every pytest session
    from ragwacht.errors import ConfigError  # lazy: the plugin loads in every pytest session

    reserved = _registered_markers(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(_SHARDS_KEY):
        info = json.loads(workerinput[_SHARDS_KEY])
        try:
            config.stash[_STATE] = evaluate_shard(
                settings,
                reserved,
                index=int(str(workerinput["workerid"]).removeprefix("gw")) + 1,
                count=int(workerinput["workercount"]),
                base=Path(info["base"]),
                token=str(info["token"]),
            )
        except ConfigError as exc:
            raise _usage(str(exc)) from None
        return
    if workerinput is not None and workerinput.get(_WORKER_KEY):
        path = Path(workerinput[_WORKER_KEY])
        config.stash[_STATE] = SessionState.model_validate_json(path.read_text(encoding="utf-8"))
        return
    if config.option.collectonly:
        try:
            config.stash[_STATE] = collect_only_state(settings, reserved)
        except ConfigError as exc:
            raise _usage(str(exc)) from None
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if _has_xdist_workers(config):
        # The workers run one shard each and merge; here only the folder and session token.
        from ragwacht.evals.run import (
            default_out_dir,
        )  # lazy: the plugin loads in every pytest session

        try:
            spec = _spec_for(settings)
        except ConfigError as exc:
            raise _usage(str(exc)) from None
        variant = settings.variant or spec.variant_names()[0]
        base = (settings.out_dir or default_out_dir(spec, variant)).resolve()
        config.stash[_SHARDS] = (uuid.uuid4().hex, base)
        if reporter is not None:
            reporter.write_line(
                f"ragwacht: suite {settings.suite} runs as one shard per xdist worker, "
                "merged on gw0 ..."
            )
        return
    if reporter is not None:
        reporter.write_line(f"ragwacht: running suite {settings.suite} ...")
    try:
        state = evaluate(settings, reserved=reserved)
    except ConfigError as exc:
        raise _usage(str(exc)) from None
    write_atomic(_state_file(state), state.model_dump_json(indent=1))
    config.stash[_STATE] = state


def _has_xdist_workers(config: pytest.Config) -> bool:
    """Whether this is an xdist controller that will start workers (``-n N``, N >= 1)."""
    opt = config.option
    return (
        not hasattr(config, "workerinput")
        and getattr(opt, "dist", "no") != "no"
        and bool(getattr(opt, "numprocesses", None) or getattr(opt, "tx", None))
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell an xdist worker which session it shards for (or hand it a finished evaluation)."""
    shards = node.config.stash.get(_SHARDS, None)
    if shards is not None:
        token, base = shards
        node.workerinput[_SHARDS_KEY] = json.dumps({"token": token, "base": str(base)})
        return
    state = node.config.stash.get(_STATE, None)
    if state is not None:
        node.workerinput[_WORKER_KEY] = str(_state_file(state))


class SuiteFile(pytest.File):
    """The suite file as a collector of case items and the gate collector."""

    state: SessionState

    def collect(self) -> list[pytest.Item | pytest.Collector]:  # noqa: D102 - pytest API
        out: list[pytest.Item | pytest.Collector] = []
        for verdict in self.state.cases:
            out.append(CaseItem.from_parent(self, name=verdict.case_id, verdict=verdict))
        if self.state.rules:
            out.append(GateCollector.from_parent(self, name="gate"))
        return out


class GateCollector(pytest.Collector):
    """The gate checks of the run."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:  # noqa: D102 - pytest API
        parent = self.parent
        assert isinstance(parent, SuiteFile)
        return [
            GateItem.from_parent(self, name=rule.name, rule=rule) for rule in parent.state.rules
        ]


class RagwachtFailure(Exception):
    """A failed case or gate check; shown with its message, never a traceback."""


class CaseItem(pytest.Item):
    """One golden case: passes, fails (or xfails, in report mode), or is skipped."""

    def __init__(self, *, verdict: CaseVerdict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verdict = verdict
        self.add_marker("ragwacht_case")
        for name in verdict.markers:
            self.add_marker(name)
        self.user_properties.extend(verdict.properties)
        # Marks rather than pytest.skip()/xfail() calls, so reports point at the case, not
        # at this file.
        if verdict.status == "skipped":
            self.add_marker(pytest.mark.skip(reason=verdict.message))
        elif verdict.status != "passed":
            settings = self.config.stash[_SETTINGS]
            if settings is not None and settings.case_failures == "report":
                reason = f"{verdict.status}: {verdict.message} (the gate items decide)"
                self.add_marker(pytest.mark.xfail(reason=reason, strict=False))

    def runtest(self) -> None:
        """Report the case's verdict (the suite already ran)."""
        v = self.verdict
        if v.status != "passed":
            raise RagwachtFailure(f"{v.status}: {v.message}\n{v.detail}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:  # noqa: D102 - pytest API
        if isinstance(excinfo.value, RagwachtFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:  # noqa: D102 - pytest API
        return self.path, 0, f"ragwacht case {self.name}"


class GateItem(pytest.Item):
    """One gate check: passes, fails, or is skipped when it could not be evaluated."""

    def __init__(self, *, rule: RuleVerdict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.add_marker("ragwacht_gate")
        self.user_properties.extend(rule.properties)
        if rule.passed is None:
            self.add_marker(pytest.mark.skip(reason=rule.message))

    def runtest(self) -> None:
        """Report the check's result (the gate already decided)."""
        if self.rule.passed is False:
            raise RagwachtFailure(self.rule.message)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:  # noqa: D102 - pytest API
        if isinstance(excinfo.value, RagwachtFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:  # noqa: D102 - pytest API
        return self.path, 0, f"ragwacht gate: {self.name}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the suite's items before -m/-k deselection runs (hence tryfirst)."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for v in state.cases:
        for name in v.markers:
            if name not in _OWN_MARKS:
                config.addinivalue_line("markers", f"{name}: ragwacht case tag")
    node = SuiteFile.from_parent(session, path=Path(state.suite_path))
    node.state = state
    items.extend(session.genitems(node))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say what the gate decided and where the record and report are."""
    state = config.stash.get(_STATE, None)
    shards = config.stash.get(_SHARDS, None)
    if state is None and shards is not None:  # the controller of a sharded session
        token, base = shards
        try:
            state = SessionState.model_validate_json((base / STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            state = None
        if state is not None and state.session_token != token:
            state = None  # a file from an earlier session: this one did not get to merge
    if state is None or hasattr(config, "workerinput"):
        return
    tr = terminalreporter
    tr.section("ragwacht")
    if state.has_gate:
        tr.write_line(f"gate {state.verdict}: {state.headline}")
    if state.repeat > 1:
        flaky = [c.case_id for c in state.cases if c.status == "flaky"]
        tr.write_line(
            f"{state.repeat} repeats per case; {len(flaky)} flaky"
            + (f": {', '.join(flaky[:10])}" + (" ..." if len(flaky) > 10 else "") if flaky else "")
        )
    for w in state.warnings:
        tr.write_line(f"note: {w}")
    if not state.record_path:
        return
    tr.write_line(f"run record: {state.record_path}")
    if state.report_path:
        tr.write_line(f"report: {state.report_path}")
