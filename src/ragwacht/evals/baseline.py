"""The one baseline resolver: ``run``, ``gate`` and ``compare`` find baselines the same way.

A baseline is an explicit file, the newest passing MLflow run on the base branch, or the
suite's baseline file. Files and the MLflow store are rooted at the suite's project root (not
the working directory), and the base branch is the suite's ``baseline.branch``, wherever the
resolver is called from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ragwacht.ci.baseline import baseline_filename
from ragwacht.errors import ConfigError
from ragwacht.evals.spec import SuiteSpec, load_suite
from ragwacht.records import RunRecord
from ragwacht.tracking import find_baseline

log = logging.getLogger(__name__)

_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")


def scrub_uri(text: str) -> str:
    """Drop ``user:password@`` from URLs in a message (a tracking URI may carry them)."""
    return _USERINFO.sub("***@", text)


def rel_path(path: str | Path | None, root: Path) -> str | None:
    """``path`` relative to the project root when inside it (records travel between machines)."""
    if path is None:
        return None
    p = Path(path).resolve()
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(p)


def check_baseline_matches(base: RunRecord, suite: str, variant: str, where: str) -> None:
    """A baseline of another suite or variant, or a shard, would gate against the wrong thing."""
    if base.shard is not None:
        raise ConfigError(
            f"baseline is shard {base.shard.index}/{base.shard.count} of a run, not a whole run",
            file=where,
            hint="use the record `ragwacht merge` wrote from all the shards",
        )
    if base.suite != suite or base.variant != variant:
        raise ConfigError(
            f"baseline is {base.suite}/{base.variant}, this run is {suite}/{variant}",
            file=where,
            hint="give the baseline of the same suite and variant",
        )


@dataclass
class BaselineLookup:
    """What the baseline search found: a record, nothing yet, or an error (fail closed).

    Attributes:
        record: the baseline, when one was obtained.
        source: where it came from (``MLflow run ...``, ``file ...``), for the outputs.
        error: why the configured baseline could not be obtained; the gate then fails with
            exit 5 instead of quietly gating on thresholds only.
        notes: what was looked at, for the record's warnings.

    """

    record: RunRecord | None = None
    source: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def baseline_file(spec: SuiteSpec, variant: str) -> Path:
    """The suite's baseline file for ``variant`` (named as ``ragwacht baseline save`` names it).

    ``baseline.file`` in the suite, when set, is the default variant's file; other variants
    sit beside it as ``<stem>.<variant>.json``.
    """
    if not spec.baseline.file:
        return spec.project_root / "ci" / "baselines" / baseline_filename(spec.name, variant)
    path = spec.resolve(spec.baseline.file)
    return path if variant == "default" else path.with_name(f"{path.stem}.{variant}{path.suffix}")


def suite_of_record(
    record: RunRecord, *, near: Path | None = None, cwd: Path | None = None
) -> SuiteSpec | None:
    """The suite a record was run from, when its file can still be found (else None).

    The manifest keeps the suite path relative to the project root; it is looked up from the
    working directory and each folder above it, then from ``near`` (the record file, which
    usually sits in the project's ``reports/``) and each folder above that, so ``gate`` and
    ``baseline save`` work from any folder.

    Raises:
        ConfigError: the suite file is found but does not load.

    """
    rel = record.manifest.suite_path
    if not rel:
        return None
    starts = [(cwd or Path.cwd()).resolve()]
    if near is not None:
        starts.append(near.resolve().parent)
    for start in starts:
        for folder in (start, *start.parents):
            candidate = Path(rel) if Path(rel).is_absolute() else folder / rel
            if candidate.is_file():
                spec = load_suite(candidate)  # a broken suite file is an error, not "no suite"
                return spec if spec.name == record.suite else None
    return None


def resolve_baseline(
    suite: str,
    variant: str,
    choice: str | None,
    *,
    spec: SuiteSpec | None,
    mlflow: bool = True,
    tracking_uri: str | None = None,
    exclude_run_id: str | None = None,
) -> BaselineLookup:
    """Find the baseline of ``suite``/``variant``.

    Args:
        suite: the suite name of the run being gated.
        variant: its variant.
        choice: a file path, ``"mlflow"``, ``"none"``, or None (the suite's own choice:
            MLflow when ``baseline.mlflow`` and MLflow is on, then the baseline file).
        spec: the suite, when known: it roots the baseline file and the MLflow store at the
            project root and names the base branch. Without it, MLflow's default store and
            branch are used and no baseline file is looked for.
        mlflow: whether MLflow may be asked.
        tracking_uri: the MLflow tracking URI (None: the environment or the project store).
        exclude_run_id: the run being gated, never its own baseline.

    "No baseline yet" (MLflow answered and holds no run, no file configured) is a first run,
    gated on thresholds only. A baseline that was configured but could not be obtained (MLflow
    unreachable or failing, ``baseline.file`` missing where it is the source) is an ``error``:
    the gate fails closed on it rather than passing without its regression checks.

    Raises:
        ConfigError: an explicit file of another suite or variant, or one that does not load.

    """
    if choice == "none":
        return BaselineLookup(notes=["--baseline none: gated on thresholds only"])
    if choice and choice != "mlflow":
        base = RunRecord.load(Path(choice))
        check_baseline_matches(base, suite, variant, choice)
        return BaselineLookup(base, source=f"file {choice}")
    wants_mlflow = choice == "mlflow" or (
        choice is None and spec is not None and spec.baseline.mlflow
    )
    use_mlflow = wants_mlflow and mlflow
    if use_mlflow:
        try:
            found = find_baseline(
                suite,
                variant,
                branch=spec.baseline.branch if spec is not None else "main",
                tracking_uri=tracking_uri,
                exclude_run_id=exclude_run_id,
                project_root=spec.project_root if spec is not None else None,
            )
        except Exception as exc:  # an outage must not switch the regression checks off
            msg = scrub_uri(f"baseline lookup in MLflow failed ({type(exc).__name__}: {exc})")
            log.warning("%s", msg)
            return BaselineLookup(
                error=msg + "; fix the tracking server or MLFLOW_TRACKING_URI and rerun",
                notes=[msg + ": the gate fails closed (exit 5)"],
            )
        if found is not None:
            return BaselineLookup(found, source=f"MLflow run {found.mlflow_run_id or found.run_id}")
        if choice == "mlflow":
            return BaselineLookup(
                notes=["no baseline run in MLflow yet: regression checks were skipped"]
            )
    if spec is None:
        return BaselineLookup(notes=["no baseline yet: gated on thresholds only"])
    path = baseline_file(spec, variant)
    if path.exists():
        from_file = RunRecord.load(path)
        check_baseline_matches(from_file, suite, variant, str(path))
        return BaselineLookup(from_file, source=f"file {rel_path(path, spec.project_root)}")
    if spec.baseline.file:
        where = f"baseline.file in {spec.path}" if spec.path else "baseline.file"
        if use_mlflow:
            # MLflow answered "nothing yet": a first run. The file was only the fallback.
            return BaselineLookup(
                notes=[
                    f"no baseline run in MLflow yet, and the fallback baseline file {path} "
                    f"({where}) does not exist: gated on thresholds only"
                ]
            )
        msg = (
            f"the baseline file {path} ({where}) does not exist; check the path, save one with "
            f"`ragwacht baseline save RUN.json --to {path}`, or run once with --baseline none"
        )
        return BaselineLookup(error=msg, notes=[msg])
    return BaselineLookup(notes=["no baseline yet: gated on thresholds only"])
