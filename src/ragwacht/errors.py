"""The exception tree and the documented exit codes.

Every error ragwacht raises on purpose derives from :class:`RagwachtError`. Errors a user can
fix (:class:`ConfigError`) carry *what* is wrong, *where* (file, line, field) and *how* to fix
it; the CLI prints them without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes, stable and documented in the README."""

    OK = 0
    CRASH = 1
    CONFIG = 2
    GATE_FAILED = 3
    ERROR_BUDGET = 4
    # The gate could not run its regression checks: the configured baseline could not be
    # obtained (MLflow unreachable, baseline file missing) or nothing in it could be compared
    # (no shared cases, metric or judge changed). Never a pass: a gate that cannot look must
    # not say "no regression".
    GATE_INCOMPLETE = 5
    # 128 + SIGINT, as shells report a Ctrl-C; the message says what was kept.
    INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where a problem is: file, 1-based line and dotted field path (each optional)."""

    file: str | Path | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) if parts else "<unknown location>"


class RagwachtError(Exception):
    """Root of every error ragwacht raises on purpose."""

    exit_code: int = ExitCode.CRASH


@dataclass
class Problem:
    """One user-fixable problem: what, where and how to fix it."""

    message: str
    location: Location = field(default_factory=Location)
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        return text


class ConfigError(RagwachtError):
    """Bad input the user can fix: a dataset, suite, profile or option.

    Holds one or more :class:`Problem` so validation can report everything in one pass.
    """

    exit_code = ExitCode.CONFIG

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.problems: list[Problem] = list(problems or [])
        if message is not None:
            self.problems.insert(0, Problem(message, Location(file, line, field), hint))
        if not self.problems:
            self.problems.append(Problem("invalid configuration"))
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first(self) -> Problem:
        """The first problem found."""
        return self.problems[0]


class MissingDependencyError(ConfigError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "") -> None:
        how = f"pip install 'ragwacht[{extra}]'" if extra else f"pip install {package}"
        what = f"'{package}' is not installed" + (f" (needed for {purpose})" if purpose else "")
        super().__init__(what, hint=how)


class EndpointError(RagwachtError):
    """A chatbot endpoint failed after all retries (recorded per case, never scored)."""


class JudgeError(RagwachtError):
    """A judge call failed or gave unusable output (counted as not scored, never as a score).

    ``reason`` is a short machine-readable kind (``timeout``, ``rate_limited``,
    ``server_error``, ``malformed_output``, ``truncated``, ...) for counting failures by cause.
    """

    def __init__(
        self, message: str = "judge failed", *, reason: str = "error", attempts: int = 0
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts


class GateFailed(RagwachtError):
    """The quality gate failed."""

    exit_code = ExitCode.GATE_FAILED


class ErrorBudgetExceeded(RagwachtError):
    """Too many endpoint or judge failures for the result to be trusted."""

    exit_code = ExitCode.ERROR_BUDGET


class Interrupted(RagwachtError):
    """The run was interrupted (Ctrl-C); the message says what was kept and how to resume."""

    exit_code = ExitCode.INTERRUPTED
