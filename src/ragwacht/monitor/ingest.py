"""Read production logs: JSONL interactions and OpenTelemetry GenAI spans (OTLP JSON).

Every line is either turned into an :class:`Interaction` or reported as a :class:`BadLine`
with its line number and field; nothing is dropped silently and nothing raises. Personal data
is scrubbed here, before an interaction exists anywhere else.

JSONL fields: ``question``, ``answer`` and ``timestamp`` (ISO 8601 or Unix seconds) are
required; ``contexts`` (strings or ``{text, doc_id, score}``), ``latency_ms``, ``cost``,
``input_tokens``, ``output_tokens``, ``feedback`` (``up``/``down``, ``1``/``-1``/``0``, a
boolean), ``user_id``, ``topic`` or ``tags`` (``topic:x``), ``lang`` and ``refused`` are
optional.

OpenTelemetry: a file (or a JSONL line) holding an OTLP ``ExportTraceServiceRequest``
(``resourceSpans[].scopeSpans[].spans[]``, as the collector's file exporter writes it) or a
list of spans. A span becomes an interaction when it carries GenAI content: the question from
``gen_ai.input.messages`` (the last user message), the legacy ``gen_ai.prompt`` /
``gen_ai.prompt.N.content`` attributes or a ``gen_ai.user.message`` event; the answer from
``gen_ai.output.messages``, ``gen_ai.completion`` / ``gen_ai.completion.0.content`` or a
``gen_ai.choice`` event. Tokens come from ``gen_ai.usage.input_tokens`` and
``gen_ai.usage.output_tokens``, latency from the span's start and end. Retrieved passages and
feedback have no GenAI attribute yet; they are read from ``ragwacht.contexts`` (a JSON list)
and ``ragwacht.feedback``. Spans without GenAI content (HTTP, database) are skipped and counted.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwacht.monitor.models import BadLine, IngestResult, Interaction, LoggedContext
from ragwacht.monitor.scrub import hash_user, scrub_text


class _Bad(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _str(d: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    v = d.get(key)
    if v is None:
        if required:
            raise _Bad(key, "missing; every interaction needs it")
        return None
    if not isinstance(v, str):
        raise _Bad(key, f"must be a string, got {type(v).__name__}")
    if required and not v.strip():
        raise _Bad(key, "is empty")
    return v


def _num(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _Bad(key, f"must be a finite number, got {json.dumps(v)[:40]}")
    if v < 0:
        raise _Bad(key, "must not be negative")
    return float(v)


def _timestamp(v: Any, key: str = "timestamp") -> datetime:
    if v is None:
        raise _Bad(key, "missing; every interaction needs it (ISO 8601 or Unix seconds)")
    if isinstance(v, bool):
        raise _Bad(key, "must be ISO 8601 text or Unix seconds, got a boolean")
    if isinstance(v, int | float):
        try:
            return datetime.fromtimestamp(float(v), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise _Bad(key, f"{v} is not a usable Unix time") from None
    if isinstance(v, str):
        try:
            ts = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(key, f"{v[:40]!r} is not ISO 8601 (e.g. 2026-03-02T09:15:00Z)") from None
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    raise _Bad(key, f"must be ISO 8601 text or Unix seconds, got {type(v).__name__}")


_FEEDBACK = {"up": 1, "down": -1, "positive": 1, "negative": -1, "thumbs_up": 1}
_FEEDBACK |= {"thumbs_down": -1, "good": 1, "bad": -1, "neutral": 0}


def _feedback(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return 1 if v else -1
    if isinstance(v, int | float) and v in (-1, 0, 1):
        return int(v) or None
    if isinstance(v, str) and v.lower() in _FEEDBACK:
        return _FEEDBACK[v.lower()] or None
    raise _Bad("feedback", "must be up/down, 1/-1/0 or a boolean")


def _contexts(v: Any, key: str = "contexts") -> list[dict[str, Any]]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise _Bad(key, f"must be a list, got {type(v).__name__}")
    out: list[dict[str, Any]] = []
    for i, c in enumerate(v):
        if isinstance(c, str):
            out.append({"text": c})
            continue
        if not isinstance(c, Mapping):
            raise _Bad(f"{key}[{i}]", "must be text or an object with text, doc_id, score")
        text = c.get("text", c.get("content", ""))
        if not isinstance(text, str):
            raise _Bad(f"{key}[{i}].text", "must be a string")
        doc_id = c.get("doc_id", c.get("id"))
        if doc_id is not None and not isinstance(doc_id, str | int):
            raise _Bad(f"{key}[{i}].doc_id", "must be a string")
        score = c.get("score")
        if score is not None and (
            isinstance(score, bool)
            or not isinstance(score, int | float)
            or not math.isfinite(score)
        ):
            raise _Bad(f"{key}[{i}].score", "must be a finite number")
        out.append(
            {"text": text, "doc_id": None if doc_id is None else str(doc_id), "score": score}
        )
    return out


def _topic(d: Mapping[str, Any]) -> str | None:
    topic = _str(d, "topic")
    if topic:
        return topic
    tags = d.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _Bad("tags", "must be a list of strings")
    for t in tags:
        if t.startswith("topic:"):
            return t.split(":", 1)[1]
    return None


def _int(v: Any, key: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, str) and v.isdigit():  # OTLP JSON writes int64 as a string
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad(key, "must be a whole number")
    return v


class _Builder:
    """Scrubs and builds interactions with one salt and one tally of what was scrubbed."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.scrubbed: Counter[str] = Counter()

    def build(self, source: str, raw: dict[str, Any]) -> Interaction:
        s = self.scrubbed
        contexts = [
            LoggedContext(
                text=scrub_text(c["text"], s),
                doc_id=None if c.get("doc_id") is None else scrub_text(c["doc_id"], s),
                score=c.get("score"),
            )
            for c in raw.get("contexts", [])
        ]
        user = raw.get("user")
        topic = raw.get("topic")
        return Interaction(
            source=source,
            timestamp=raw["timestamp"],
            question=scrub_text(raw["question"], s),
            answer=scrub_text(raw["answer"], s),
            contexts=contexts,
            latency_ms=raw.get("latency_ms"),
            cost=raw.get("cost"),
            input_tokens=raw.get("input_tokens"),
            output_tokens=raw.get("output_tokens"),
            feedback=raw.get("feedback"),
            user=hash_user(user, self.salt) if user else None,
            topic=scrub_text(topic, s) if topic else None,
            language=raw.get("language"),
            refused=raw.get("refused"),
        )


def _from_record(d: Any) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise _Bad(None, f"a line must be a JSON object, got {type(d).__name__}")
    refused = d.get("refused")
    if refused is not None and not isinstance(refused, bool):
        raise _Bad("refused", "must be true or false")
    user = d.get("user_id", d.get("user"))
    if user is not None and not isinstance(user, str | int):
        raise _Bad("user_id", "must be a string")
    return {
        "question": _str(d, "question", required=True),
        "answer": _str(d, "answer", required=True),
        "timestamp": _timestamp(d.get("timestamp")),
        "contexts": _contexts(d.get("contexts")),
        "latency_ms": _num(d, "latency_ms"),
        "cost": _num(d, "cost"),
        "input_tokens": _int(d.get("input_tokens"), "input_tokens"),
        "output_tokens": _int(d.get("output_tokens"), "output_tokens"),
        "feedback": _feedback(d.get("feedback")),
        "user": None if user is None else str(user),
        "topic": _topic(d),
        "language": _str(d, "lang") or _str(d, "language"),
        "refused": refused,
    }


# --- OpenTelemetry --------------------------------------------------------------------------


def _any_value(v: Any) -> Any:
    # OTLP JSON wraps every value: {"stringValue": ...}, {"intValue": "12"}, {"arrayValue": ...}.
    if not isinstance(v, Mapping):
        return v
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return _attrs(v["kvlistValue"].get("values", []))
    return None


def _attrs(items: Any) -> dict[str, Any]:
    if isinstance(items, Mapping):  # some exporters write a plain mapping
        return dict(items)
    if not isinstance(items, list):
        raise _Bad("attributes", "must be a list of {key, value}")
    out: dict[str, Any] = {}
    for a in items:
        if isinstance(a, Mapping) and isinstance(a.get("key"), str):
            out[a["key"]] = _any_value(a.get("value"))
    return out


def _json_attr(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def _message_text(messages: Any, role: str) -> str | None:
    messages = _json_attr(messages)
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list):
        return None
    texts: list[str] = []
    for m in messages:
        if not isinstance(m, Mapping) or m.get("role", role) != role:
            continue
        if isinstance(m.get("content"), str):
            texts = [m["content"]]
            continue
        parts = [
            p.get("content")
            for p in m.get("parts", [])
            if isinstance(p, Mapping) and p.get("type", "text") == "text"
        ]
        texts = [" ".join(p for p in parts if isinstance(p, str))]
    return texts[-1] if texts and texts[-1] else None


def _legacy(attrs: Mapping[str, Any], prefix: str, role: str) -> str | None:
    found: list[tuple[int, str]] = []
    for key, value in attrs.items():
        parts = key.split(".")
        if key.startswith(prefix + ".") and len(parts) == 4 and parts[3] == "content":
            idx = parts[2]
            if idx.isdigit() and attrs.get(f"{prefix}.{idx}.role", role) == role:
                found.append((int(idx), str(value)))
    return max(found)[1] if found else None


def _event_text(events: Any, name: str) -> str | None:
    if not isinstance(events, list):
        return None
    text = None
    for e in events:
        if isinstance(e, Mapping) and e.get("name") == name:
            a = _attrs(e.get("attributes", []))
            content = a.get("content")
            if content is None and isinstance(a.get("message"), Mapping):
                content = a["message"].get("content")
            if isinstance(content, str):
                text = content
    return text


def _from_span(span: Any) -> dict[str, Any] | None:
    if not isinstance(span, Mapping):
        raise _Bad(None, "a span must be a JSON object")
    attrs = _attrs(span.get("attributes", []))
    events = span.get("events")
    question = (
        _message_text(attrs.get("gen_ai.input.messages"), "user")
        or _legacy(attrs, "gen_ai.prompt", "user")
        or _event_text(events, "gen_ai.user.message")
        or _message_text(attrs.get("gen_ai.prompt"), "user")
    )
    answer = (
        _message_text(attrs.get("gen_ai.output.messages"), "assistant")
        or _legacy(attrs, "gen_ai.completion", "assistant")
        or _event_text(events, "gen_ai.choice")
        or _message_text(attrs.get("gen_ai.completion"), "assistant")
    )
    if question is None and answer is None:
        if not any(k.startswith("gen_ai.") for k in attrs):
            return None  # not a GenAI span: skipped, counted by the caller
        raise _Bad("gen_ai.input.messages", "a GenAI span without the question or answer text")
    if question is None:
        raise _Bad("gen_ai.input.messages", "no user message (question) in this GenAI span")
    if answer is None:
        raise _Bad("gen_ai.output.messages", "no assistant message (answer) in this GenAI span")
    try:
        start = int(span["startTimeUnixNano"])
    except (KeyError, TypeError, ValueError):
        raise _Bad("startTimeUnixNano", "missing or not a number") from None
    end = span.get("endTimeUnixNano")
    latency = None
    if end is not None:
        try:
            latency = max(0.0, (int(end) - start) / 1e6)
        except (TypeError, ValueError):
            raise _Bad("endTimeUnixNano", "not a number") from None
    record = {
        "question": question,
        "answer": answer,
        "timestamp": start / 1e9,
        "contexts": _json_attr(attrs.get("ragwacht.contexts")),
        "latency_ms": latency,
        "cost": attrs.get("ragwacht.cost"),
        "input_tokens": attrs.get("gen_ai.usage.input_tokens"),
        "output_tokens": attrs.get("gen_ai.usage.output_tokens"),
        "feedback": attrs.get("ragwacht.feedback"),
        "user_id": attrs.get("user.id", attrs.get("enduser.id")),
        "topic": attrs.get("ragwacht.topic"),
        "refused": attrs.get("ragwacht.refused"),
    }
    return _from_record({k: v for k, v in record.items() if v is not None})


def _spans(doc: Any) -> Iterable[Any]:
    if isinstance(doc, list):
        yield from doc
        return
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", rs.get("instrumentationLibrarySpans", [])):
            yield from ss.get("spans", [])


def _is_otel(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "resourceSpans" in doc


def read_logs(paths: Iterable[Path], salt: bytes) -> IngestResult:
    """Read JSONL and OpenTelemetry JSON logs into scrubbed interactions.

    Args:
        paths: files (``.jsonl``, ``.json``) or folders of them.
        salt: the salt user ids are hashed with (see :func:`install_salt`).

    Returns:
        The interactions in time order, and every line that could not be read.

    """
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(x for x in p.rglob("*") if x.suffix in (".jsonl", ".json", ".ndjson"))
        else:
            files.append(p)
    builder = _Builder(salt)
    result = IngestResult()
    skipped = 0

    def add(source: str, file: str, line: int, make: Any) -> None:
        nonlocal skipped
        try:
            raw = make()
            if raw is None:
                skipped += 1
                return
            result.interactions.append(builder.build(source, raw))
        except _Bad as exc:
            result.bad_lines.append(
                BadLine(file=file, line=line, field=exc.field, message=exc.message)
            )
        except (AttributeError, TypeError, ValueError) as exc:  # a shape no branch expected
            result.bad_lines.append(BadLine(file=file, line=line, message=f"unreadable: {exc}"))

    for f in files:
        name = str(f)
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            result.bad_lines.append(BadLine(file=name, line=0, message=f"cannot read: {exc}"))
            continue
        stripped = text.lstrip()
        if f.suffix == ".json" and stripped[:1] in "[{":
            try:
                doc = json.loads(text)
            except json.JSONDecodeError:
                doc = None
            if doc is not None and (_is_otel(doc) or isinstance(doc, list)):
                result.lines_read += 1
                for i, span in enumerate(_spans(doc)):
                    add(f"{name}#span{i + 1}", name, 1, lambda s=span: _from_span(s))
                continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            result.lines_read += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                result.bad_lines.append(
                    BadLine(file=name, line=lineno, message=f"not valid JSON ({exc.msg})")
                )
                continue
            if _is_otel(obj):
                for i, span in enumerate(_spans(obj)):
                    add(f"{name}:{lineno}#span{i + 1}", name, lineno, lambda s=span: _from_span(s))
            else:
                add(f"{name}:{lineno}", name, lineno, lambda o=obj: _from_record(o))
    result.interactions.sort(key=lambda x: x.timestamp)
    result.scrubbed = dict(builder.scrubbed)
    result.skipped_spans = skipped
    return result
