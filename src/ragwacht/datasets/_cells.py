"""How case fields live in spreadsheet cells (CSV, XLSX), both ways, losslessly.

A cell holds text. Plain text fields are the text itself; an empty cell means "absent", so the
field takes its default. List fields are written in the short form a person would type when
that form reads back to exactly the same value, else as JSON:

* ``tags``: ``topic:woz; lang:nl`` (``;``-separated, items stripped) or a JSON list;
* ``gold_contexts``: ``doc-1; doc-2:2`` (``doc_id`` or ``doc_id:relevance``) or a JSON list of
  objects (needed when a context carries its ``text``);
* ``history``: always a JSON list of ``{"role": ..., "content": ...}``.

A cell whose stripped text starts with ``[`` is read as JSON.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
carriage return) as a formula, so text from a curator, a chatbot or an attacker could compute
or fetch things when a CSV file is opened. Writers for spreadsheets prefix such a cell with a
``'`` (:func:`neutralise`, as OWASP advises) and readers take the prefix off again
(:func:`unneutralise`), so a round trip is lossless.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Spreadsheet columns, in the order writers use; the same names as GoldenCase fields.
COLUMNS: tuple[str, ...] = (
    "id",
    "question",
    "reference_answer",
    "expected_behavior",
    "tags",
    "gold_contexts",
    "history",
)
LIST_COLUMNS = frozenset({"tags", "gold_contexts", "history"})

# "doc_id:relevance" when the part after the last colon looks like a number; anything
# number-like (also "-1" or "0.5") is taken as the relevance so a bad grade is reported, not
# silently glued to the doc id.
_RELEVANCE_SUFFIX = re.compile(r"^(?P<doc>.+):(?P<rel>[+-]?\d+(?:\.\d+)?)$", re.DOTALL)


# A cell a spreadsheet may run as a formula: a trigger character, possibly behind quotes that
# were themselves a neutralising prefix (so prefixing stays reversible).
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet may run ``text`` as a formula (or it starts with quotes before one)."""
    return _FORMULA_START.match(text) is not None


def neutralise(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would read it as a formula.

    A text that already starts with quotes before a trigger character gets one more, so
    :func:`unneutralise` can always tell the prefix from the data.
    """
    return "'" + text if _FORMULA_START.match(text) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise`: drop the one ``'`` it added, leave any other text alone."""
    if text.startswith("'") and _FORMULA_START.match(text[1:]):
        return text[1:]
    return text


class CellError(ValueError):
    """A cell that cannot be decoded; the message says what is wrong."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _json_list(text: str, column: str) -> list[Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise CellError(
            f"'{column}' is nested too deeply to read", "check the brackets in the cell"
        ) from None
    except ValueError as exc:
        raise CellError(
            f"'{column}' looks like JSON (starts with '[') but is not valid JSON: {exc}",
            "write a JSON list, or use the ';'-separated short form without a leading '['",
        ) from None
    if not isinstance(value, list):
        raise CellError(f"'{column}' must be a JSON list", "write the value as [...]")
    return value


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def _gold_item(item: str) -> dict[str, Any]:
    m = _RELEVANCE_SUFFIX.match(item)
    if m is None:
        return {"doc_id": item}
    rel_text = m.group("rel")
    rel: int | float = float(rel_text) if "." in rel_text else int(rel_text)
    return {"doc_id": m.group("doc").strip(), "relevance": rel}


def decode_cell(column: str, text: str) -> Any:
    """Turn one non-empty cell into the value of field ``column``.

    Args:
        column: A name from :data:`COLUMNS`.
        text: The cell's text (never empty: empty cells are absent fields).

    Returns:
        The field value as plain Python data, for the model to validate.

    Raises:
        CellError: The cell is not valid JSON where JSON is required.

    """
    if column not in LIST_COLUMNS:
        return text
    stripped = text.strip()
    if column == "history":
        if not stripped.startswith("["):
            raise CellError(
                "'history' must be a JSON list of turns",
                'write [{"role": "user", "content": "..."}, {"role": "assistant", ...}]',
            )
        return _json_list(stripped, column)
    if stripped.startswith("["):
        return _json_list(stripped, column)
    items = _split(text)
    if column == "tags":
        return items
    return [_gold_item(item) for item in items]


def _short_form(column: str, value: list[Any]) -> str | None:
    if column == "tags":
        if not all(isinstance(t, str) for t in value):
            return None
        return "; ".join(value)
    if column == "gold_contexts":
        parts: list[str] = []
        for ctx in value:
            if set(ctx) - {"doc_id", "relevance", "text"} or ctx.get("text") is not None:
                return None
            rel = ctx.get("relevance", 1)
            doc = str(ctx["doc_id"])
            parts.append(doc if rel == 1 and ":" not in doc else f"{doc}:{rel}")
        return "; ".join(parts)
    return None


def encode_cell(column: str, value: Any) -> str:
    """Turn a field value (from ``model_dump(mode="json")``) into cell text.

    The short form is used only when :func:`decode_cell` reads it back to the same value;
    otherwise JSON, which always reads back exactly.

    Args:
        column: A name from :data:`COLUMNS`.
        value: The field's JSON-mode value.

    Returns:
        The cell text; ``""`` for an absent value (``None`` or an empty list).

    """
    if value is None or value == []:
        return ""
    if column not in LIST_COLUMNS:
        return str(value)
    short = _short_form(column, value)
    if short is not None and short and not short.lstrip().startswith("["):
        try:
            back = decode_cell(column, short)
        except CellError:  # pragma: no cover - the short form is never JSON
            back = None
        if column == "gold_contexts" and isinstance(back, list):
            back = [{"relevance": 1, **b} for b in back]
            expected = [
                {"relevance": 1, **{k: v for k, v in c.items() if v is not None}} for c in value
            ]
            if back == expected:
                return short
        elif back == value:
            return short
    return json.dumps(value, ensure_ascii=False)
