"""SuiteSpec: a golden set x an endpoint profile x metrics x judges x a gate policy (YAML)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ragwacht._yaml import read_yaml, yaml_line
from ragwacht.ci.policy import parse_policy
from ragwacht.errors import ConfigError, Location, Problem
from ragwacht.metrics.judges.factory import parse_judge_config
from ragwacht.records import StrictModel
from ragwacht.runners.profile import Variant, variant_from_spec

SCHEMA_VERSION = 1
DEFAULT_VARIANT = "default"

# Suite and variant names become folder and file names (reports/<suite>/<variant>/, baseline
# files, MLflow run names): a safe character set, no path separators, no leading dot, and short
# enough for any file system.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NAME_MAX = 64
_NAME = re.compile(NAME_PATTERN)
_NAME_HINT = (
    f"use letters, digits, '_', '.' and '-' (starting with a letter or digit), at most "
    f"{NAME_MAX} characters, e.g. 'no-reranker'"
)


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a suite or variant name, or None when it can."""
    if not name:
        return "the name is empty"
    if len(name) > NAME_MAX:
        return f"the name is {len(name)} characters long (at most {NAME_MAX})"
    if not _NAME.match(name):
        return "the name has characters that are not allowed in a folder name"
    return None


class MetricSpec(StrictModel):
    """One metric in a suite: its name, the judge it uses and its options.

    In YAML either a bare name (``recall@5``) or a mapping whose keys other than ``name`` and
    ``judge`` are the metric's options.
    """

    name: str
    judge: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, dict):
            known = {"name", "judge", "options"}
            extra = {k: v for k, v in data.items() if k not in known}
            if extra:
                data = {k: v for k, v in data.items() if k in known}
                data["options"] = {**(data.get("options") or {}), **extra}
        return data


class RaySpec(StrictModel):
    """The Ray cluster for ``engine: ray`` (the address may also come from ``RAY_ADDRESS``)."""

    address: str | None = Field(
        default=None, description="'auto', 'HOST:PORT' or 'ray://HOST:10001'; unset: RAY_ADDRESS"
    )
    actors: int = Field(default=2, ge=1, le=1024, description="call actors, spread over nodes")


class ExecutionSpec(StrictModel):
    """How politely and how persistently to call the endpoint."""

    concurrency: int = Field(default=8, ge=1, le=1024)
    rate_limit: float | None = Field(default=None, gt=0, description="requests per second")
    timeout_s: float = Field(default=30.0, gt=0, description="per attempt")
    overall_timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    repeats: int = Field(default=1, ge=1, le=50, description="ask each case N times")
    scoring_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="scoring time budget per case and metric; over it: not scored (error)",
    )
    engine: Literal["local", "ray"] = Field(
        default="local", description="where the endpoint calls run: this process, or Ray"
    )
    ray: RaySpec = Field(default_factory=lambda: RaySpec())


class BaselineSpec(StrictModel):
    """Where the baseline comes from."""

    branch: str = "main"
    file: str | None = None
    mlflow: bool = True


class SuiteSpec(StrictModel):
    """A suite as written in ``evals/<suite>.yaml``; relative paths resolve from that file."""

    schema_version: int = SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = ""
    dataset: str
    endpoint: str
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    metrics: list[MetricSpec] = Field(min_length=1)
    judges: dict[str, dict[str, Any] | str] = Field(default_factory=dict)
    gate: dict[str, Any] = Field(default_factory=dict)
    breakdown: list[str] = Field(default_factory=lambda: ["topic", "lang", "difficulty"])
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    baseline: BaselineSpec = Field(default_factory=BaselineSpec)
    lang: str = "nl"

    # Set by load_suite, not part of the YAML.
    path: Path | None = Field(default=None, exclude=True)
    _variants: dict[str, Variant] = PrivateAttr(default_factory=dict)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {v} is not supported: this ragwacht reads version {SCHEMA_VERSION}"
            )
        return v

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in v:
            if why := check_name(str(name)):
                raise ValueError(f"variant name {str(name)[:80]!r} is refused: {why}")
        return v

    def line(self, *keys: str | int, key_line: bool = False) -> int | None:
        """1-based line of the node at ``keys`` in the suite file (None when unknown).

        With ``key_line`` the line of the last key itself, not of its value.
        """
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return yaml_line(text, keys, key_line=key_line)

    def resolve(self, rel: str) -> Path:
        """Resolve a path written in the suite relative to the suite file."""
        p = Path(rel).expanduser()
        if p.is_absolute() or self.path is None:
            return p
        return (self.path.parent / p).resolve()

    @property
    def project_root(self) -> Path:
        """The project folder: nearest ancestor of the suite holding pyproject/.git/ci."""
        start = self.path.parent if self.path else Path.cwd()
        for d in [start, *start.parents]:
            if any((d / m).exists() for m in ("pyproject.toml", ".git", "ragwacht.yaml")):
                return d
        return start

    @property
    def project_root_found(self) -> bool:
        """Whether a project marker was found (else :attr:`project_root` is the suite folder)."""
        start = self.path.parent if self.path else Path.cwd()
        return any(
            (d / m).exists()
            for d in [start, *start.parents]
            for m in ("pyproject.toml", ".git", "ragwacht.yaml")
        )

    def variant(self, name: str) -> Variant:
        """The parsed variant ``name`` (parsed when the suite loaded; the default is empty)."""
        if name not in self._variants:
            self._variants[name] = variant_from_spec(name, self.variants.get(name), file=self.path)
        return self._variants[name]

    def variant_names(self) -> list[str]:
        """Declared variants, the default first."""
        names = list(self.variants) or [DEFAULT_VARIANT]
        return names

    def suite_hash(self) -> str:
        """sha256 over the canonical form of the spec (what was asked, not where it lives)."""
        # Where the calls run (the engine) is not what was asked: a run on Ray and one on this
        # machine of the same suite have the same hash.
        asked = self.model_dump(mode="json", exclude={"execution": {"engine", "ray"}})
        blob = json.dumps(asked, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def load_suite(path: str | Path) -> SuiteSpec:
    """Load and validate a suite YAML; every problem is reported with file, line and field."""
    path = Path(path)
    text, data = read_yaml(path, "suite file")
    if not isinstance(data, dict):
        raise ConfigError("a suite must be a YAML mapping", file=path, hint="see evals/README.md")
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            top = str(err["loc"][0]) if err["loc"] else ""
            msg = str(err["msg"]).removeprefix("Value error, ")
            hint = None
            keys: list[str | int] = [top]
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
                hint = "remove it or check the spelling (see evals/README.md)"
            elif top == "schema_version":
                hint = f"write schema_version: {SCHEMA_VERSION}, or upgrade ragwacht"
            elif top == "variants" and "variant name" in msg:
                hint = _NAME_HINT
                bad = next((n for n in data.get("variants") or {} if check_name(str(n))), None)
                keys = ["variants", str(bad)] if bad is not None else keys
            elif top == "name" and err["type"] in ("string_pattern_mismatch", "string_too_long"):
                hint = _NAME_HINT
            else:
                keys = [p if isinstance(p, int) else str(p) for p in err["loc"]]
            line = yaml_line(text, keys, key_line=True)
            problems.append(Problem(msg, Location(path, line, loc), hint))
        raise ConfigError(problems=problems) from exc
    spec.path = path.resolve()
    problems = []
    for key, rel in (("dataset", spec.dataset), ("endpoint", spec.endpoint)):
        if not spec.resolve(rel).exists():
            problems.append(
                Problem(
                    f"{spec.resolve(rel)} does not exist",
                    Location(path, yaml_line(text, [key]), key),
                    "paths are relative to the suite file",
                )
            )
    problems.extend(_section_problems(spec, text))
    if problems:
        raise ConfigError(problems=problems)
    return spec


def _section_problems(spec: SuiteSpec, text: str) -> list[Problem]:
    """Parse every variant, judge and the gate policy as the suite loads.

    A typo in any of them then fails at once, with file, line and field, not when that part
    first runs (a variant's typo used to surface only when that variant ran).
    """
    problems: list[Problem] = []
    for name in spec.variant_names():
        try:
            spec._variants[name] = variant_from_spec(name, spec.variants.get(name), file=spec.path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    for name, raw in spec.judges.items():
        try:
            parse_judge_config(
                raw,
                file=spec.path,
                field=f"judges.{name}",
                line=yaml_line(text, ["judges", str(name)], key_line=True),
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
    if spec.gate:
        # Structure and values now; which metrics the rules may name is checked when the
        # suite's metrics are built (a rule's metric id depends on their options).
        try:
            parse_policy(spec.gate, file=spec.path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    return problems
