"""Review by people, without a server: an HTML page (or XLSX) out, a decisions file back in.

``review export`` writes one self-contained page: the data rides in a
``<script type="application/json">`` block (``<``, ``>`` and ``&`` escaped, so no text can
close it) and the page's script puts every string in the DOM with ``textContent``; a
Content-Security-Policy with hashes allows the page's own style and script and nothing else,
so it makes no request. Decisions are saved by the page as a JSON download.

Two modes:

* ``review``: accept, edit or reject candidate cases (a golden set written by ``datasets
  generate``); :func:`import_decisions` merges accepted and edited cases into a golden set and
  keeps rejections, with their reason, in ``review-rejected.jsonl`` beside the candidates,
  where generation reads them so it does not propose them again;
* ``label``: mark each answer of a finished run supported or not supported;
  :func:`import_labels` writes the JSONL ``judges calibrate --data`` reads, and
  :func:`agreement` gives Cohen's kappa between two people next to the judge's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ragwacht._io import write_atomic
from ragwacht.corpus import ingest
from ragwacht.datasets._write import ooxml_escape
from ragwacht.datasets.compare import DatasetDiff, diff
from ragwacht.datasets.io import load_golden_set, save_golden_set
from ragwacht.datasets.models import (
    CaseStatus,
    DatasetManifest,
    ExpectedBehavior,
    GoldenCase,
    GoldenSet,
    Provenance,
)
from ragwacht.errors import ConfigError, Problem
from ragwacht.errors import Location as _Loc
from ragwacht.metrics.calibration import binary_scores
from ragwacht.records import RunRecord, StrictModel

TEMPLATE_DIR = Path(__file__).parent / "templates"
DECISIONS_FORMAT = "ragwacht-review-decisions"
LABELS_FORMAT = "ragwacht-review-labels"
REVIEW_REJECTED = "review-rejected.jsonl"
REVIEW_LOG = "reviews.jsonl"
XLSX_COLUMNS = (
    "id",
    "kind",
    "question",
    "reference_answer",
    "expected_behavior",
    "passages",
    "quotes",
    "decision",
    "new_question",
    "new_reference_answer",
    "new_expected_behavior",
    "reason",
    "reviewer",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- decision and label files ------------------------------------------------------------------


class Decision(StrictModel):
    """A person's decision on one candidate case."""

    id: str = Field(min_length=1)
    decision: Literal["accept", "edit", "reject"]
    question: str | None = None
    reference_answer: str | None = None
    expected_behavior: ExpectedBehavior | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Decision:
        if self.decision == "reject" and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        if self.decision == "edit" and self.question is not None and not self.question.strip():
            raise ValueError("an edited question must not be empty")
        return self


class SetRef(StrictModel):
    """Which candidate set a decisions file is about."""

    name: str = ""
    version: str = ""
    digest: str = ""
    path: str | None = None


class Decisions(StrictModel):
    """A saved review: who, when, about which set, and one decision per reviewed case."""

    format: Literal["ragwacht-review-decisions"] = "ragwacht-review-decisions"
    version: int = 1
    reviewer: str = Field(min_length=1)
    saved_at: str | None = None
    set: SetRef = Field(default_factory=SetRef)
    decisions: list[Decision]


class ClaimLabel(StrictModel):
    """A person's verdict on one claim of an answer."""

    claim: str
    supported: bool


class AnswerLabel(StrictModel):
    """A person's verdict on one answer of a run."""

    id: str = Field(min_length=1)
    supported: bool
    claims: list[ClaimLabel] = Field(default_factory=list)
    note: str | None = None


class RunRef(StrictModel):
    """Which run a labels file is about."""

    run_id: str
    suite: str = ""
    variant: str = ""
    path: str | None = None


class Labels(StrictModel):
    """A saved labelling: who, when, about which run, one label per answer."""

    format: Literal["ragwacht-review-labels"] = "ragwacht-review-labels"
    version: int = 1
    reviewer: str = Field(min_length=1)
    saved_at: str | None = None
    run: RunRef
    labels: list[AnswerLabel]


# -- export ------------------------------------------------------------------------------------


def _passage_texts(corpus: str | Path | None) -> dict[str, dict[str, str]]:
    if corpus is None:
        return {}

    return {p.id: {"text": p.text, "title": p.title or ""} for p in ingest(Path(corpus)).passages}


def _default_corpus(set_dir: Path) -> Path | None:
    meta = set_dir / "generation.json"
    if not meta.is_file():
        return None
    try:
        corpus = json.loads(meta.read_text("utf-8")).get("corpus")
    except (OSError, ValueError):
        return None
    if not isinstance(corpus, str):
        return None
    path = Path(corpus)
    if not path.is_absolute() and not path.exists():
        path = set_dir / path
    return path if path.exists() else None


def review_data(
    set_path: str | Path, *, corpus: str | Path | None = None, lang: str = "nl"
) -> dict[str, Any]:
    """The data of a review page: the set, its candidates and their source passages.

    Args:
        set_path: The candidate golden set (folder or cases file).
        corpus: Documents or passages JSONL for the passage texts; default: the corpus named
            in the set's ``generation.json``; passages without text show their gold text.
        lang: Page language, ``nl`` or ``en``.

    Returns:
        A JSON-ready dict (``mode: review``).

    """
    golden = load_golden_set(set_path)
    set_dir = Path(golden.path or set_path)
    if set_dir.is_file():
        set_dir = set_dir.parent
    texts = _passage_texts(corpus if corpus is not None else _default_corpus(set_dir))
    cases: list[dict[str, Any]] = []
    for case in golden.cases:
        if case.status == CaseStatus.ACCEPTED:
            continue
        prov = case.provenance
        ids = list(prov.passage_ids) if prov else []
        ids += [g.doc_id for g in case.gold_contexts if g.doc_id not in ids]
        gold_text = {g.doc_id: g.text for g in case.gold_contexts if g.text}
        passages = [
            {
                "id": pid,
                "title": texts.get(pid, {}).get("title", ""),
                "text": texts.get(pid, {}).get("text") or gold_text.get(pid) or "",
            }
            for pid in ids
        ]
        cases.append(
            {
                "id": case.id,
                "kind": prov.kind if prov else "",
                "question": case.question,
                "reference_answer": case.reference_answer or "",
                "expected_behavior": case.expected_behavior.value,
                "history": [t.model_dump(mode="json") for t in case.history],
                "tags": list(case.tags),
                "quotes": list(prov.quotes) if prov else [],
                "passages": passages,
            }
        )
    return {
        "mode": "review",
        "lang": lang,
        "set": {
            "name": golden.manifest.name,
            "version": golden.manifest.version,
            "digest": golden.digest,
            "path": str(set_dir.resolve()),
        },
        "cases": cases,
    }


def label_data(run_dir: str | Path, *, lang: str = "nl") -> dict[str, Any]:
    """The data of a label page: every answered case of a run with its contexts and claims.

    Args:
        run_dir: A run's output folder (``run.json``) or the record file itself.
        lang: Page language.

    Returns:
        A JSON-ready dict (``mode: label``).

    """
    path = _run_json(run_dir)
    record = RunRecord.load(path)
    items: list[dict[str, Any]] = []
    for c in record.cases:
        r = c.response
        if r.error or not r.answer:
            continue
        claims: list[str] = []
        for name in ("faithfulness", "hallucination_rate"):
            m = c.metrics.get(name)
            if m is not None and m.details and isinstance(m.details.get("claims"), list):
                claims = [str(x.get("claim", "")) for x in m.details["claims"] if x.get("claim")]
                break
        items.append(
            {
                "id": c.case_id,
                "question": c.question,
                "answer": r.answer,
                "contexts": [{"id": x.doc_id or "", "text": x.text or ""} for x in r.contexts],
                "claims": claims,
            }
        )
    return {
        "mode": "label",
        "lang": lang,
        "run": {
            "run_id": record.run_id,
            "suite": record.suite,
            "variant": record.variant,
            "path": str(path.resolve()),
        },
        "items": items,
    }


def _run_json(run_dir: str | Path) -> Path:
    path = Path(run_dir)
    return path / "run.json" if path.is_dir() else path


def json_for_script(data: Any) -> str:
    r"""JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\u003c`` etc., so no ``</script>`` or ``<!--`` can end
    or change the block; U+2028/9 are escaped for old parsers. ``JSON.parse`` reads it back.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_page(data: dict[str, Any]) -> str:
    """The self-contained review or label page for ``data`` (from :func:`review_data`)."""
    css = (TEMPLATE_DIR / "review.css").read_text("utf-8")
    js = (TEMPLATE_DIR / "review.js").read_text("utf-8")
    page = (TEMPLATE_DIR / "review.html").read_text("utf-8")
    csp = (
        "default-src 'none'; "
        f"style-src 'sha256-{_sha256_b64(css)}'; script-src 'sha256-{_sha256_b64(js)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    lang = "en" if data.get("lang") == "en" else "nl"
    # Plain substitution of four trusted values: the data goes in only as escaped JSON.
    return (
        page.replace("@@LANG@@", lang)
        .replace("@@CSP@@", csp)
        .replace("@@CSS@@", css)
        .replace("@@JS@@", js)
        .replace("@@DATA@@", json_for_script(data))
    )


def _defuse(text: str) -> str:
    # A cell a spreadsheet would read as a formula gets a leading apostrophe-free guard: a
    # quote character that shows and is stripped again on import.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _undefuse(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def review_xlsx(data: dict[str, Any]) -> bytes:
    """The review as a workbook: one row per candidate, decision and edit columns empty."""
    from openpyxl import Workbook  # lazy: heavy, only for XLSX
    from openpyxl.styles import Font  # lazy: heavy, only for XLSX
    from openpyxl.worksheet.datavalidation import DataValidation  # lazy: heavy, only for XLSX

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "review"
    ws.append(list(XLSX_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rownum, case in enumerate(data["cases"], start=2):
        values = {
            "id": case["id"],
            "kind": case["kind"],
            "question": case["question"],
            "reference_answer": case["reference_answer"],
            "expected_behavior": case["expected_behavior"],
            "passages": "\n\n".join(f"[{p['id']}] {p['text']}" for p in case["passages"]),
            "quotes": "\n".join(case["quotes"]),
        }
        for colnum, name in enumerate(XLSX_COLUMNS, start=1):
            text = values.get(name, "")
            if not text:
                continue
            cell = ws.cell(row=rownum, column=colnum, value=ooxml_escape(_defuse(text)[:32000]))
            cell.data_type = "s"  # text stays text: never a formula
    dv = DataValidation(type="list", formula1='"accept,edit,reject"', allow_blank=True)
    ws.add_data_validation(dv)
    col = XLSX_COLUMNS.index("decision") + 1
    dv.add(f"{chr(64 + col)}2:{chr(64 + col)}{max(2, len(data['cases']) + 1)}")
    meta = wb.create_sheet("about")
    for key, value in data["set"].items():
        meta.append([key, _defuse(str(value))])
    ws.freeze_panes = "A2"
    for i, name in enumerate(XLSX_COLUMNS):
        width = {"question": 50, "reference_answer": 50, "passages": 70}.get(name, 16)
        ws.column_dimensions[chr(65 + i)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_review(
    source: str | Path,
    to: str | Path,
    *,
    mode: Literal["review", "label"] = "review",
    lang: str = "nl",
    corpus: str | Path | None = None,
) -> dict[str, Any]:
    """Write the review (or label) page, or the review workbook, and return its data.

    Raises:
        ConfigError: Unknown extension or mode, or an unreadable set or run.

    """
    to = Path(to)
    suffix = to.suffix.lower()
    if suffix not in (".html", ".xlsx"):
        raise ConfigError(
            f"cannot export a review to {to.suffix or 'a file without extension'}",
            file=to,
            hint="use --to review.html or --to review.xlsx",
        )
    if lang not in ("nl", "en"):
        raise ConfigError(f"--lang must be nl or en, not {lang!r}", field="--lang")
    if mode == "label":
        if suffix != ".html":
            raise ConfigError("label mode writes an HTML page", file=to, hint="use .html")
        data = label_data(source, lang=lang)
    else:
        data = review_data(source, corpus=corpus, lang=lang)
    out = review_xlsx(data) if suffix == ".xlsx" else render_page(data).encode("utf-8")
    write_atomic(to, out)
    return data


# -- reading decision files --------------------------------------------------------------------


def _item_lines(text: str, key: str) -> list[int]:
    """Line number of each element of the top-level list ``key`` (empty when not found)."""
    m = re.search(r'"' + key + r'"\s*:\s*\[', text)
    if m is None:
        return []
    dec = json.JSONDecoder()
    pos = m.end()
    lines: list[int] = []
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text) or text[pos] == "]":
                return lines
            lines.append(text.count("\n", 0, pos) + 1)
            _, pos = dec.raw_decode(text, pos)
    except ValueError:
        return []


def _problems(exc: ValidationError, path: Path, key: str, lines: list[int]) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        line = None
        if len(loc) >= 2 and loc[0] == key and loc[1].isdigit() and int(loc[1]) < len(lines):
            line = lines[int(loc[1])]
        field = ".".join(loc) or None
        hint = None
        if "decision" in loc:
            hint = "decision is accept, edit or reject"
        elif "reviewer" in loc:
            hint = "fill in the reviewer name"
        elif "expected_behavior" in loc:
            hint = "expected_behavior is answer or refuse"
        elif "rejection needs a reason" in str(err.get("msg")):
            hint = "give the reason for rejecting the case"
        msg = str(err.get("msg")).removeprefix("Value error, ")
        out.append(Problem(msg, _Loc(file=path, line=line, field=field), hint))
    return out


def _read_json(path: Path) -> tuple[dict[str, Any], str]:
    if not path.is_file():
        raise ConfigError("file not found", file=path, hint="give the file the page saved")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=path) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"not valid JSON: {exc.msg}",
            file=path,
            line=exc.lineno,
            hint="use the file the review page saved, unchanged",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError("the file must hold one JSON object", file=path)
    return raw, text


def read_decisions(path: str | Path) -> Decisions:
    """Read a decisions file saved by the review page (``.json``) or the workbook (``.xlsx``).

    Raises:
        ConfigError: Every problem, with file, line (JSON) or row (XLSX) and field.

    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return _read_decisions_xlsx(path)
    raw, text = _read_json(path)
    if raw.get("format") == LABELS_FORMAT:
        raise ConfigError(
            "this is a labels file",
            file=path,
            field="format",
            hint="import labels with --labels-out FILE.jsonl",
        )
    try:
        return Decisions.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            problems=_problems(exc, path, "decisions", _item_lines(text, "decisions"))
        ) from None


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = _undefuse(str(value)).strip()
    return text or None


def _read_decisions_xlsx(path: Path) -> Decisions:
    from openpyxl import load_workbook  # lazy: heavy, only for XLSX

    if not path.is_file():
        raise ConfigError("file not found", file=path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise ConfigError(f"not a readable XLSX workbook: {exc}", file=path) from None
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    about = (
        {str(r[0]): _cell(r[1]) for r in wb["about"].iter_rows(values_only=True)}
        if ("about" in wb.sheetnames)
        else {}
    )
    wb.close()
    if not rows:
        raise ConfigError("the first sheet is empty", file=path)
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    missing = [c for c in ("id", "decision") if c not in header]
    if missing:
        raise ConfigError(
            f"column(s) {', '.join(missing)} missing",
            file=path,
            line=1,
            hint="use the workbook `ragwacht review export --to review.xlsx` wrote",
        )
    problems: list[Problem] = []
    decisions: list[Decision] = []
    reviewers: set[str] = set()
    for rownum, row in enumerate(rows[1:], start=2):
        cells = {h: _cell(v) for h, v in zip(header, row, strict=False) if h}
        if not cells.get("decision"):
            continue  # not reviewed yet
        if cells.get("reviewer"):
            reviewers.add(str(cells["reviewer"]))
        fields = {
            "id": cells.get("id") or "",
            "decision": (cells.get("decision") or "").lower(),
            "question": cells.get("new_question"),
            "reference_answer": cells.get("new_reference_answer"),
            "expected_behavior": cells.get("new_expected_behavior"),
            "reason": cells.get("reason"),
        }
        try:
            decisions.append(Decision.model_validate(fields))
        except ValidationError as exc:
            for p in _problems(exc, path, "", []):
                problems.append(Problem(p.message, _Loc(path, rownum, p.location.field), p.hint))
    if not reviewers and not problems:
        problems.append(
            Problem(
                "no reviewer named",
                _Loc(file=path, field="reviewer"),
                "write your name in the reviewer column of the rows you decided",
            )
        )
    if problems:
        raise ConfigError(problems=problems)
    return Decisions(
        reviewer=", ".join(sorted(reviewers)),
        set=SetRef(
            name=about.get("name") or "",
            version=about.get("version") or "",
            digest=about.get("digest") or "",
            path=about.get("path"),
        ),
        decisions=decisions,
    )


def read_labels(path: str | Path) -> Labels:
    """Read a labels file saved by the label page.

    Raises:
        ConfigError: Every problem, with file, line and field.

    """
    path = Path(path)
    raw, text = _read_json(path)
    if raw.get("format") == DECISIONS_FORMAT:
        raise ConfigError(
            "this is a review decisions file, not labels",
            file=path,
            field="format",
            hint="import decisions with --into SET",
        )
    try:
        return Labels.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            problems=_problems(exc, path, "labels", _item_lines(text, "labels"))
        ) from None


def file_kind(path: str | Path) -> Literal["decisions", "labels"]:
    """Whether a saved file holds review decisions or answer labels."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return "decisions"
    raw, _ = _read_json(path)
    return "labels" if raw.get("format") == LABELS_FORMAT else "decisions"


# -- import ------------------------------------------------------------------------------------


class ImportResult(StrictModel):
    """What one ``review import`` did to the golden set."""

    target: str
    accepted: list[str]
    edited: list[str]
    rejected: list[str]
    undecided: int
    old_version: str | None
    new_version: str
    diff: DatasetDiff
    reviewer: str
    reviewed_at: str
    warnings: list[str] = Field(default_factory=list)


def bump_version(version: str) -> str:
    """The next version: ``3`` → ``4``, ``1.2`` → ``1.3``, ``v1`` → ``v2``, else ``x.1``."""
    m = re.match(r"^(.*?)(\d+)$", version)
    if m is None:
        return f"{version}.1" if version else "1"
    return f"{m.group(1)}{int(m.group(2)) + 1}"


def _jsonl_append(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    new = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    write_atomic(path, old + new)


def reviewer_rejections(candidate_dir: str | Path) -> list[dict[str, Any]]:
    """Candidates people rejected in review (``review-rejected.jsonl``), oldest first."""
    path = Path(candidate_dir) / REVIEW_REJECTED
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    for line in path.read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a hand-damaged line must not stop a generation
        if isinstance(row, dict):
            rows.append(row)
    return rows


def import_decisions(
    decisions_path: str | Path,
    into: str | Path,
    *,
    candidates: str | Path | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Merge accepted and edited candidates into the golden set ``into``.

    Accepted and edited cases get ``status: accepted`` and ``provenance.reviewed_by`` /
    ``reviewed_at``; a case already in the set with the same id is replaced. The set's
    version is bumped and the review logged in ``reviews.jsonl`` beside it. Rejected
    candidates go, with the reason, to ``review-rejected.jsonl`` beside the candidates.

    Args:
        decisions_path: The file the review page (``.json``) or workbook (``.xlsx``) saved.
        into: The golden-set folder to merge into (created when it does not exist).
        candidates: The candidate set; default: the one named in the decisions file.
        now: Review time (default: now, UTC).

    Raises:
        ConfigError: A bad decisions file, unknown case ids, or no candidate set.

    """
    decisions_path = Path(decisions_path)
    dec = read_decisions(decisions_path)
    cand_path = candidates if candidates is not None else dec.set.path
    if not cand_path:
        raise ConfigError(
            "the decisions file does not name its candidate set",
            file=decisions_path,
            field="set.path",
            hint="pass --candidates DIR",
        )
    cand = load_golden_set(cand_path)
    cand_dir = Path(cand.path or cand_path)
    if cand_dir.is_file():
        cand_dir = cand_dir.parent
    warnings: list[str] = []
    if dec.set.digest and dec.set.digest != cand.digest:
        warnings.append(
            f"the candidates changed since the review was exported ({dec.set.digest[:15]} → "
            f"{cand.digest[:15]}); decisions are matched by case id"
        )
    by_id = cand.by_id()
    problems: list[Problem] = []
    seen: set[str] = set()
    lines = (
        _item_lines(decisions_path.read_text("utf-8"), "decisions")
        if (decisions_path.suffix.lower() == ".json")
        else []
    )
    for i, d in enumerate(dec.decisions):
        where = _Loc(
            file=decisions_path,
            line=lines[i] if i < len(lines) else None,
            field=f"decisions.{i}.id",
        )
        if d.id not in by_id:
            problems.append(
                Problem(
                    f"case id {d.id!r} is not in the candidate set", where, "check --candidates"
                )
            )
        elif d.id in seen:
            problems.append(Problem(f"case id {d.id!r} is decided twice", where, "keep one"))
        seen.add(d.id)
    if problems:
        raise ConfigError(problems=problems)

    when = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    target = Path(into)
    exists = (target / "dataset.yaml").is_file()
    old = load_golden_set(target) if exists else None
    merged: dict[str, GoldenCase] = {c.id: c for c in (old.cases if old else [])}
    accepted: list[str] = []
    edited: list[str] = []
    rejected_rows: list[dict[str, Any]] = []
    for d in dec.decisions:
        case = by_id[d.id]
        prov = case.provenance or Provenance(kind="manual")
        if d.decision == "reject":
            rejected_rows.append(
                {
                    "case_id": case.id,
                    "kind": prov.kind,
                    "reason": "reviewer",
                    "note": d.reason,
                    "question": case.question,
                    "passage_ids": list(prov.passage_ids),
                    "reviewed_by": dec.reviewer,
                    "reviewed_at": when,
                }
            )
            continue
        fields = case.model_dump(mode="python")
        if d.decision == "edit":
            if d.question is not None:
                fields["question"] = d.question
            if d.reference_answer is not None:
                fields["reference_answer"] = d.reference_answer
            if d.expected_behavior is not None:
                fields["expected_behavior"] = d.expected_behavior
        fields["status"] = CaseStatus.ACCEPTED
        fields["provenance"] = prov.model_copy(
            update={"reviewed_by": dec.reviewer, "reviewed_at": when, "review_note": d.reason}
        ).model_dump()
        try:
            new_case = GoldenCase.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                f"case {d.id!r}: {err['msg']}",
                file=decisions_path,
                field=".".join(str(x) for x in err["loc"]),
            ) from None
        (edited if d.decision == "edit" else accepted).append(d.id)
        merged[d.id] = new_case

    if old is not None:
        manifest = old.manifest.model_copy(update={"version": bump_version(old.manifest.version)})
    else:
        manifest = DatasetManifest(
            name=target.name or cand.manifest.name,
            version="1",
            description=f"Reviewed cases from {cand.manifest.name}.",
            language=cand.manifest.language,
        )
    new_set = GoldenSet(manifest=manifest, cases=list(merged.values()), path=str(target))
    empty = GoldenSet(
        manifest=manifest.model_copy(update={"version": ""}), cases=[], path=str(target)
    )
    changes = diff(old if old is not None else empty, new_set)
    if accepted or edited or old is None:
        save_golden_set(new_set, target)
        _jsonl_append(
            target / REVIEW_LOG,
            [
                {
                    "reviewed_by": dec.reviewer,
                    "reviewed_at": when,
                    "decisions_file": decisions_path.name,
                    "candidates": cand.manifest.name,
                    "candidates_digest": cand.digest,
                    "accepted": accepted,
                    "edited": edited,
                    "rejected": [r["case_id"] for r in rejected_rows],
                    "old_version": old.manifest.version if old else None,
                    "new_version": manifest.version,
                    "old_digest": changes.old_digest,
                    "new_digest": changes.new_digest,
                }
            ],
        )
    else:
        manifest = old.manifest
        warnings.append("no case accepted: the golden set is unchanged")
    if rejected_rows:
        known = {r.get("case_id") for r in reviewer_rejections(cand_dir)}
        _jsonl_append(
            cand_dir / REVIEW_REJECTED, [r for r in rejected_rows if r["case_id"] not in known]
        )
    return ImportResult(
        target=str(target),
        accepted=accepted,
        edited=edited,
        rejected=[r["case_id"] for r in rejected_rows],
        undecided=sum(1 for c in cand.cases if c.id not in seen),
        old_version=old.manifest.version if old else None,
        new_version=manifest.version,
        diff=changes,
        reviewer=dec.reviewer,
        reviewed_at=when,
        warnings=warnings,
    )


# -- labels ------------------------------------------------------------------------------------


class LabelImport(StrictModel):
    """What ``review import --labels-out`` wrote."""

    out: str
    written: int
    supported: int
    not_supported: int
    skipped: list[str] = Field(default_factory=list)


def import_labels(
    labels_path: str | Path, out: str | Path, *, run: str | Path | None = None
) -> LabelImport:
    """Write a labels file as calibration JSONL (``judges calibrate --data`` reads it).

    One line per labelled answer: ``id``, ``question``, ``contexts`` and ``answer`` from the
    run record, ``hallucinated`` (not supported), ``dataset`` (the suite), ``labelled_by``.

    Raises:
        ConfigError: A bad labels file, or a run that is not the one labelled.

    """
    labels_path = Path(labels_path)
    labels = read_labels(labels_path)
    run_path = run if run is not None else labels.run.path
    if not run_path:
        raise ConfigError(
            "the labels file does not name its run",
            file=labels_path,
            field="run.path",
            hint="pass --run RUN_DIR",
        )
    record = RunRecord.load(_run_json(run_path))
    if record.run_id != labels.run.run_id:
        raise ConfigError(
            f"the labels are for run {labels.run.run_id!r}, not {record.run_id!r}",
            file=labels_path,
            field="run.run_id",
            hint="pass --run with the run that was labelled",
        )
    cases = record.case_map()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for lab in labels.labels:
        c = cases.get(lab.id)
        if c is None or not c.response.answer:
            skipped.append(lab.id)
            continue
        rows.append(
            {
                "id": lab.id,
                "question": c.question,
                "contexts": [x.text or "" for x in c.response.contexts],
                "answer": c.response.answer,
                "hallucinated": not lab.supported,
                "dataset": f"{record.suite}-team-labels",
                "labelled_by": labels.reviewer,
            }
        )
    out = Path(out)
    write_atomic(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    n_sup = sum(1 for r in rows if not r["hallucinated"])
    return LabelImport(
        out=str(out),
        written=len(rows),
        supported=n_sup,
        not_supported=len(rows) - n_sup,
        skipped=skipped,
    )


class Agreement(StrictModel):
    """Cohen's kappa between two people, and the judge's agreement with each."""

    reviewers: tuple[str, str]
    n_common: int
    observed_agreement: float | None
    cohen_kappa: float | None
    judge: str | None = None
    judge_kappa: dict[str, float | None] = Field(default_factory=dict)
    judge_n: int = 0


def _judge_hallucinated(run_path: str | None) -> tuple[str | None, dict[str, bool]]:
    if not run_path:
        return None, {}

    path = _run_json(run_path)
    if not path.is_file():
        return None, {}
    record = RunRecord.load(path)
    out: dict[str, bool] = {}
    judge = None
    for c in record.cases:
        m = c.metrics.get("hallucination_rate")
        if m is not None and m.value is not None:
            out[c.case_id] = m.value >= 0.5
            judge = judge or m.judge
    return judge, out


def agreement(a_path: str | Path, b_path: str | Path) -> Agreement:
    """Cohen's kappa between two labels files on the items both labelled.

    When the run they label is at hand, the judge's kappa with each person (on the items it
    scored) is given too: a judge cannot be trusted more than people agree with each other.

    Raises:
        ConfigError: A bad file, or files about different runs.

    """
    a, b = read_labels(a_path), read_labels(b_path)
    if a.run.run_id != b.run.run_id:
        raise ConfigError(
            f"the files label different runs ({a.run.run_id} and {b.run.run_id})",
            file=b_path,
            field="run.run_id",
            hint="compare two labellings of the same label page",
        )
    la = {x.id: not x.supported for x in a.labels}
    lb = {x.id: not x.supported for x in b.labels}
    common = [i for i in la if i in lb]
    scores = binary_scores([la[i] for i in common], [lb[i] for i in common]) if common else None
    judge, pred = _judge_hallucinated(a.run.path or b.run.path)
    jk: dict[str, float | None] = {}
    judged = [i for i in common if i in pred]
    for who, lab in ((a.reviewer, la), (b.reviewer, lb)):
        if judged:
            jk[who] = binary_scores([lab[i] for i in judged], [pred[i] for i in judged]).cohen_kappa
    return Agreement(
        reviewers=(a.reviewer, b.reviewer),
        n_common=len(common),
        observed_agreement=scores.accuracy if scores else None,
        cohen_kappa=scores.cohen_kappa if scores else None,
        judge=judge,
        judge_kappa=jk,
        judge_n=len(judged),
    )
