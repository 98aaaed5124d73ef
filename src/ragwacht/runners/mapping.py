"""Where the answer, sources, usage and cost are in an endpoint's JSON response.

Paths are JSONPath (jsonpath-ng, with its filter extensions) or, with the prefix ``jmes:``,
JMESPath. Both are compiled when the profile is loaded, so a typo is a configuration error and
not a thousand failed cases.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import jmespath
from jsonpath_ng.ext import parse as jsonpath_parse
from pydantic import AfterValidator, Field

from ragwacht.records import RetrievedContext, StrictModel, Usage

JMES_PREFIX = "jmes:"


class MappingError(Exception):
    """The response does not have the shape the profile's mapping expects."""


_SIMPLE_PATH = re.compile(r"^(\$)?((\.?[A-Za-z_][A-Za-z0-9_]*)|(\[(\d+|\*)\]))*$")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\*)\]")
_MISS = object()


def _simple_steps(text: str) -> tuple[str | int, ...] | None:
    """Steps of a plain path like ``$.a.b[0].c`` or ``$.items[*]``; None for anything else."""
    if not _SIMPLE_PATH.match(text) or text in ("", "$"):
        return None
    body = text[1:] if text.startswith("$") else text
    if body and body[0] not in ".[" and text.startswith("$"):
        return None
    steps: list[str | int] = []
    for m in _STEP.finditer(body):
        if m.group(1) is not None:
            steps.append(m.group(1))
        else:
            steps.append("*" if m.group(2) == "*" else int(m.group(2)))
    return tuple(steps)


def _walk(doc: Any, steps: tuple[str | int, ...]) -> list[Any] | object:
    """Values at ``steps``; _MISS when a step meets a value of another type.

    jsonpath-ng has its own rules for those cases, so the caller falls back to it.
    """
    current = [doc]
    for step in steps:
        nxt: list[Any] = []
        for value in current:
            if step == "*":
                if not isinstance(value, list):
                    return _MISS
                nxt.extend(value)
            elif isinstance(step, int):
                if not isinstance(value, list):
                    return _MISS
                if step < len(value):
                    nxt.append(value[step])
            else:
                if not isinstance(value, dict):
                    return _MISS
                if step in value:
                    nxt.append(value[step])
        current = nxt
    return current


@dataclass(frozen=True)
class CompiledPath:
    """A compiled JSONPath or JMESPath expression.

    Plain paths (fields, indexes, ``[*]``) are walked directly: jsonpath-ng's general
    machinery costs more per response than the HTTP request at high concurrency. Whenever the
    direct walk does not fit the document, jsonpath-ng decides, so results are identical.
    """

    source: str
    _jsonpath: Any = None
    _jmes: Any = None
    _steps: tuple[str | int, ...] | None = None
    _fields: tuple[str, ...] | None = None  # the steps, when they are all field names

    def _matches(self, doc: Any) -> list[Any]:
        if self._steps is not None:
            found = _walk(doc, self._steps)
            if found is not _MISS:
                assert isinstance(found, list)
                return found
        return [m.value for m in self._jsonpath.find(doc)]

    def find(self, doc: Any) -> tuple[bool, Any]:
        """The first value the path selects: ``(found, value)``."""
        if self._jmes is not None:
            value = self._jmes.search(doc)
            return (value is not None, value)
        if self._fields is not None:
            # The usual case, walked without building lists. A missing field means no match
            # (as jsonpath-ng says too); a value of another type on the way goes to jsonpath-ng.
            value = doc
            for name in self._fields:
                if type(value) is not dict:
                    break
                if name not in value:
                    return (False, None)
                value = value[name]
            else:
                return (True, value)
        matches = self._matches(doc)
        if not matches:
            return (False, None)
        return (True, matches[0])

    def find_all(self, doc: Any) -> list[Any] | None:
        """Every value the path selects as a list; None when it selects nothing.

        A single match that is itself a list is flattened, so ``$.sources`` and
        ``$.sources[*]`` mean the same thing.
        """
        if self._jmes is not None:
            value = self._jmes.search(doc)
            if value is None:
                return None
            return list(value) if isinstance(value, list) else [value]
        matches = self._matches(doc)
        if not matches:
            return None
        if len(matches) == 1 and isinstance(matches[0], list):
            return list(matches[0])
        return matches


@lru_cache(maxsize=1024)
def compile_path(source: str) -> CompiledPath:
    """Compile a path expression (cached).

    Raises:
        ValueError: the expression does not parse; the message says which syntax was assumed.

    """
    text = source.strip()
    if not text:
        raise ValueError("empty path expression")
    if text.startswith(JMES_PREFIX):
        expr = text[len(JMES_PREFIX) :].strip()
        try:
            return CompiledPath(source, _jmes=jmespath.compile(expr))
        except Exception as exc:  # jmespath raises several unrelated error classes
            raise ValueError(f"invalid JMESPath expression {expr!r}: {exc}") from exc
    try:
        steps = _simple_steps(text)
        fields = (
            tuple(str(x) for x in steps)
            if steps and all(isinstance(x, str) and x != "*" for x in steps)
            else None
        )
        return CompiledPath(source, _jsonpath=jsonpath_parse(text), _steps=steps, _fields=fields)
    except Exception as exc:  # jsonpath-ng raises lexer/parser errors without a common base
        raise ValueError(
            f"invalid JSONPath expression {text!r}: {exc} (prefix with 'jmes:' for JMESPath)"
        ) from exc


def _check_path(value: str | None) -> str | None:
    if value is not None:
        compile_path(value)
    return value


PathExpr = Annotated[str, AfterValidator(_check_path)]
"""A JSONPath (or ``jmes:`` JMESPath) expression, compiled when validated."""


class ContextMapping(StrictModel):
    """Fields of one retrieved context, as paths relative to the context item."""

    text: PathExpr | None = "text"
    doc_id: PathExpr | None = "doc_id"
    score: PathExpr | None = "score"
    rank: PathExpr | None = "rank"
    title: PathExpr | None = "title"


class UsageMapping(StrictModel):
    """Token counts in the response."""

    prompt_tokens: PathExpr | None = None
    completion_tokens: PathExpr | None = None
    total_tokens: PathExpr | None = None


class ResponseMapping(StrictModel):
    """Where each part of a Response is in the endpoint's JSON.

    ``answer: null`` declares a retrieval-only endpoint (the answer is recorded as empty).
    """

    answer: PathExpr | None = "$.answer"
    contexts: PathExpr | None = None
    context: ContextMapping = Field(default_factory=ContextMapping)
    usage: UsageMapping = Field(default_factory=UsageMapping)
    cost: PathExpr | None = None
    cited_ids: PathExpr | None = None
    refused: PathExpr | None = None


@dataclass
class Mapped:
    """The parts of a Response taken from one JSON document (None where not found)."""

    answer: str | None = None
    contexts: list[RetrievedContext] | None = None
    usage: Usage | None = None
    cost: float | None = None
    cited_ids: list[str] | None = None
    refused: bool | None = None


def _as_str(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{what} is {type(value).__name__}, expected text")
    return str(value)


def _as_float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise MappingError(f"{what} is a boolean, expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MappingError(f"{what} is {value!r}, expected a number") from exc
    if not math.isfinite(number):
        # JSON parsers accept NaN and Infinity; no cost, score or count can be one.
        raise MappingError(f"{what} is {value!r}, expected a finite number")
    return number


def _as_int(value: Any, what: str) -> int | None:
    f = _as_float(value, what)
    if f is None:
        return None
    if f != int(f):
        raise MappingError(f"{what} is {value!r}, expected a whole number")
    return int(f)


def _get(path: str | None, doc: Any) -> Any:
    if path is None:
        return None
    _, value = compile_path(path).find(doc)
    return value


def map_context(item: Any, cm: ContextMapping, position: int) -> RetrievedContext:
    """One retrieved context from one item of the contexts list (a string is its text)."""
    if isinstance(item, str):
        return RetrievedContext(text=item, rank=position)
    if not isinstance(item, Mapping):
        raise MappingError(
            f"context {position} is {type(item).__name__}, expected an object or a string"
        )
    where = f"context {position}"
    text = _get(cm.text, item)
    doc_id = _get(cm.doc_id, item)
    title = _get(cm.title, item)
    rank = _as_int(_get(cm.rank, item), f"{where} rank")
    return RetrievedContext(
        text="" if text is None else _as_str(text, f"{where} text"),
        doc_id=None if doc_id is None else _as_str(doc_id, f"{where} doc_id"),
        score=_as_float(_get(cm.score, item), f"{where} score"),
        rank=rank if rank is not None else position,
        title=None if title is None else _as_str(title, f"{where} title"),
    )


def apply_mapping(mapping: ResponseMapping, doc: Any) -> Mapped:
    """Take every mapped part out of ``doc``; parts whose path matches nothing stay None.

    Raises:
        MappingError: a path matched a value of the wrong type.

    """
    out = Mapped()
    if mapping.answer is not None:
        found, value = compile_path(mapping.answer).find(doc)
        if found:
            out.answer = "" if value is None else _as_str(value, f"answer at {mapping.answer}")
    if mapping.contexts is not None:
        items = compile_path(mapping.contexts).find_all(doc)
        if items is not None:
            out.contexts = [map_context(it, mapping.context, i) for i, it in enumerate(items, 1)]
    u = mapping.usage
    if any(p is not None for p in (u.prompt_tokens, u.completion_tokens, u.total_tokens)):
        usage = Usage(
            prompt_tokens=_as_int(_get(u.prompt_tokens, doc), "usage.prompt_tokens"),
            completion_tokens=_as_int(_get(u.completion_tokens, doc), "usage.completion_tokens"),
            total_tokens=_as_int(_get(u.total_tokens, doc), "usage.total_tokens"),
        )
        if usage != Usage():
            out.usage = usage
    if mapping.cost is not None:
        out.cost = _as_float(_get(mapping.cost, doc), "cost")
    if mapping.cited_ids is not None:
        ids = compile_path(mapping.cited_ids).find_all(doc)
        if ids is not None:
            out.cited_ids = [_as_str(i, "cited id") for i in ids if i is not None]
    if mapping.refused is not None:
        found, value = compile_path(mapping.refused).find(doc)
        if found and value is not None:
            if not isinstance(value, bool):
                raise MappingError(f"refused at {mapping.refused} is {value!r}, expected a boolean")
            out.refused = value
    return out


def merge_mapped(into: Mapped, new: Mapped) -> Mapped:
    """Overlay the parts ``new`` found onto ``into`` (later events win; used for streams)."""
    for name in ("answer", "contexts", "usage", "cost", "cited_ids", "refused"):
        value = getattr(new, name)
        if value is not None:
            setattr(into, name, value)
    return into


def describe_keys(doc: Any) -> str:
    """A short description of a document's top-level shape, for error messages."""
    if isinstance(doc, Mapping):
        keys = list(doc)[:12]
        return "top-level keys: " + (", ".join(map(str, keys)) if keys else "(none)")
    return f"a JSON {type(doc).__name__}"
