"""Shared pieces of the HTML reports.

Value formatting, text helpers, the template environment and the page context (inline CSS
and script, Content-Security-Policy).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from ragwacht import __version__
from ragwacht.records import MetricSummary
from ragwacht.reports._bidi import strip_bidi
from ragwacht.reports.i18n import Translator

# Text/background pairs of the palette (CSS variable names) that must meet WCAG AA 4.5:1.
CONTRAST_PAIRS: tuple[tuple[str, str], ...] = (
    ("--text", "--bg"),
    ("--muted", "--bg"),
    ("--accent", "--bg"),
    ("--text", "--panel"),
    ("--muted", "--panel"),
    ("--accent", "--panel"),
    ("--on-accent", "--accent"),
    ("--pass", "--pass-bg"),
    ("--fail", "--fail-bg"),
    ("--warn", "--warn-bg"),
    ("--info", "--info-bg"),
    ("--text", "--mark"),
    ("--fail", "--bg"),
    ("--pass", "--bg"),
    ("--warn", "--bg"),
    ("--text", "--code-bg"),
)


# ----------------------------------------------------------------------------- helpers


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present, non-None value of ``names`` on a mapping or an object."""
    for n in names:
        val = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if val is not None:
            return val
    return default


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cut(text: str, limit: int) -> int:
    """Where to cut ``text`` to keep at most ``limit`` characters.

    After a sentence if one ends in the last 40 % of the window, else at a space, else at the
    limit.
    """
    if len(text) <= limit:
        return len(text)
    low = int(limit * 0.6)
    ends = [m.end() for m in re.finditer(r"[.!?…;:](?=\s)", text[: limit + 1]) if m.end() >= low]
    if ends:
        return ends[-1]
    space = text.rfind(" ", low, limit + 1)
    return space if space > 0 else limit


def _preview(text: str, limit: int) -> str:
    """``text`` (whitespace normalised) shortened at a sentence or word to ``limit`` characters."""
    at = _cut(text, limit - 2)
    if at >= len(text):
        return text
    head = text[:at].rstrip()
    return head + (" …" if head.endswith((".", "!", "?", ";", ":")) else "…")


def _oriented(value: float, higher_is_better: bool) -> float:
    return value if higher_is_better else 1.0 - value


def _tag_split(tag: str) -> tuple[str, str]:
    key, sep, val = tag.partition(":")
    return (key, val) if sep else ("tag", tag)


@dataclass
class _Fmt:
    """Formats metric values according to the metric's kind and unit."""

    t: Translator
    summary: Mapping[str, MetricSummary]

    def value(self, metric: str, value: float | None) -> str:
        s = self.summary.get(metric)
        unit = (s.unit if s else "") or ""
        low = metric.lower()
        if unit == "ms" or low.endswith("_ms") or low.startswith("latency"):
            return self.t.ms(value)
        if unit.upper() in ("EUR", "€", "USD") or low.startswith("cost"):
            return self.t.cost(value, unit or "EUR")
        if s is not None and s.kind == "measure":
            return self.t.num(value, 2) + (f" {unit}" if unit and value is not None else "")
        return self.t.num(value, 2)

    def delta(self, metric: str, value: float | None) -> str:
        s = self.summary.get(metric)
        low = metric.lower()
        if (s is not None and s.unit == "ms") or low.endswith("_ms") or low.startswith("latency"):
            return self.t.signed(value, 0) + " ms" if value is not None else "–"
        if low.startswith("cost"):
            return self.t.signed(value, 4) if value is not None else "–"
        return self.t.signed(value, 2)


def _primary_metric(summary: Mapping[str, MetricSummary]) -> str | None:
    scores = [m for m, s in summary.items() if s.kind == "score"]
    for pref in ("faithfulness", "answer_correctness"):
        if pref in scores:
            return pref
    return scores[0] if scores else None


def _flat(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(_flat(v, key + "."))
        elif isinstance(v, str):
            out.append((key, v))
        else:
            out.append((key, json.dumps(v, ensure_ascii=False, default=str)))
    return out


# ----------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ragwacht.reports", "templates"),
        # Always on: every template renders untrusted chatbot text.
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cap"] = lambda s: s[:1].upper() + s[1:]
    # For <title>, which holds text only (no <bdi>): untrusted names lose bidi controls there.
    env.filters["nobidi"] = lambda s: strip_bidi(str(s))
    return env


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("ragwacht.reports").joinpath("templates", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _page_context(lang: str) -> dict[str, Any]:
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src 'sha256-{_sha256(css)}'; script-src 'sha256-{_sha256(js)}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return {"css": Markup(css), "js": Markup(js), "csp": csp, "lang": lang, "version": __version__}
