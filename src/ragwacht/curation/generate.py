"""Candidate golden cases generated from a corpus by an OpenAI-compatible LLM, then filtered.

Every candidate is written with ``status: candidate`` and its provenance (passage ids, the
verbatim answer quote, the generator) for people to review; nothing here accepts a case.
Each kind costs one call per attempt, refusals two (the second checks that the nearest
passages do not answer the question). Every call is cached on disk, so an interrupted
generation resumes without asking the model again.

Quality filters, each counted in :class:`GenerationStats`:

* ``malformed``: the reply was not the JSON asked for, or a field was empty;
* ``answer_not_in_passage``: the quote is not found in its gold passage (whitespace, case and
  punctuation ignored; at least 80% of its words as one run in the passage);
* ``copies_passage``: the question repeats a run of ``max_copied_words`` words of a passage;
* ``wrong_language``: the question is not in the asked language;
* ``duplicate``: a kept or existing question is nearly the same (embedding cosine);
* ``answered_by_corpus``: a refusal question that the nearest passages do answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import ConfigDict, Field

from ragwacht.datasets.models import (
    CaseStatus,
    ExpectedBehavior,
    GoldContext,
    GoldenCase,
    Provenance,
    Turn,
)
from ragwacht.demo.corpus import Passage
from ragwacht.metrics.judges.cache import JudgeCache, cache_key
from ragwacht.metrics.judges.llm import parse_json_reply
from ragwacht.metrics.prompts import Prompt
from ragwacht.records import StrictModel

Kind = Literal["factual", "synthesis", "refuse", "followup", "rephrase"]
KINDS: tuple[Kind, ...] = ("factual", "synthesis", "refuse", "followup", "rephrase")
DEFAULT_MIX: dict[str, float] = {
    "factual": 0.4,
    "synthesis": 0.15,
    "refuse": 0.15,
    "followup": 0.15,
    "rephrase": 0.15,
}
PROMPT_DIR = Path(__file__).parent / "prompts"
FILTERS = (
    "malformed",
    "answer_not_in_passage",
    "copies_passage",
    "wrong_language",
    "duplicate",
    "answered_by_corpus",
    "call_failed",
)


class GenerationPlan(StrictModel):
    """What to generate and how strictly to filter."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1, le=100_000, description="candidates to keep")
    language: Literal["nl", "en"] = "nl"
    mix: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    seed: int = 0
    max_attempts_factor: float = Field(
        default=3.0, ge=1.0, description="attempts per wanted candidate before giving up"
    )
    max_copied_words: int = Field(default=8, ge=3, description="longest run copied from a passage")
    duplicate_cosine: float = Field(default=0.92, gt=0.0, le=1.0)
    prefix: str = Field(default="gen", pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")

    def wanted(self) -> dict[str, int]:
        """Candidates wanted per kind: the mix scaled to ``n`` (largest remainders)."""
        mix = {k: v for k, v in self.mix.items() if v > 0}
        total = sum(mix.values())
        raw = {k: self.n * v / total for k, v in mix.items()}
        out = {k: int(v) for k, v in raw.items()}
        for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[
            : self.n - sum(out.values())
        ]:
            out[k] += 1
        return out


@dataclass
class GenerationStats:
    """What one generation asked for, kept, rejected (per filter), and what it cost."""

    wanted: dict[str, int] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def n_kept(self) -> int:
        """Candidates kept over all kinds."""
        return sum(self.kept.values())

    def per_kept(self, value: float) -> float | None:
        """``value`` divided by the candidates kept (None when none was kept)."""
        return value / self.n_kept if self.n_kept else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (written as ``generation.json`` beside the candidates)."""
        calls_total = self.calls + self.cached_calls
        return {
            "wanted": dict(self.wanted),
            "attempts": dict(self.attempts),
            "kept": dict(self.kept),
            "rejected": {k: self.rejected.get(k, 0) for k in FILTERS},
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "calls_per_kept": self.per_kept(calls_total),
            "tokens_per_kept": self.per_kept(self.prompt_tokens + self.completion_tokens),
        }


class ChatClient(Protocol):
    """The one call generation needs: messages in, text and token usage out."""

    model: str

    async def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> tuple[str, int, int]:
        """Return ``(text, prompt_tokens, completion_tokens)``."""
        ...


class JudgeChat:
    """:class:`ChatClient` over a configured LLM judge (its retries, limits and JSON mode)."""

    def __init__(self, verifier: Any) -> None:
        self._verifier = verifier
        self.model = str(verifier.model)

    async def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> tuple[str, int, int]:
        """One completion constrained to ``schema``."""
        result: tuple[str, int, int] = await self._verifier.complete_json(
            messages, schema, name="candidate"
        )
        return result


class _Cached:
    """Calls through a :class:`JudgeCache`: a repeated prompt is answered from disk."""

    def __init__(self, chat: ChatClient, cache: JudgeCache | None, stats: GenerationStats) -> None:
        self.chat = chat
        self.cache = cache
        self.stats = stats

    async def ask(self, prompt: Prompt, schema: dict[str, Any], **values: Any) -> dict[str, Any]:
        text = prompt.render(**values)
        messages = [{"role": "user", "content": text}]
        key = cache_key(
            model=self.chat.model, prompt=prompt.sha256, messages=messages, schema=schema
        )
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None and isinstance(hit.get("text"), str):
            self.stats.cached_calls += 1
            reply = str(hit["text"])
        else:
            reply, p_tok, c_tok = await self.chat.complete(messages, schema)
            self.stats.calls += 1
            self.stats.prompt_tokens += p_tok
            self.stats.completion_tokens += c_tok
            if self.cache is not None:
                self.cache.put(key, {"text": reply, "prompt_tokens": p_tok, "completion": c_tok})
        data = parse_json_reply(reply)
        if not isinstance(data, dict):
            raise ValueError("the reply is not a JSON object")
        return data


def _schema(*fields: str, boolean: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {f: {"type": "string", "minLength": 1} for f in fields}
    if boolean:
        props[boolean] = {"type": "boolean"}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


_SCHEMAS: dict[str, dict[str, Any]] = {
    "factual": _schema("question", "answer", "quote"),
    "synthesis": _schema("question", "answer", "quote", "quote_2"),
    "refuse": _schema("question"),
    "followup": _schema("question", "answer", "follow_up", "follow_up_answer", "quote"),
    "rephrase": _schema("question"),
    "absent_check": _schema(boolean="answered"),
}


def load_generation_prompt(kind: str, language: str) -> Prompt:
    """The packaged generation prompt ``<kind>_v1.<language>.j2``."""
    name = f"{kind}_v1"
    path = PROMPT_DIR / f"{name}.{language}.j2"
    return Prompt(name=name, language=language, source=path.read_text("utf-8"), path=path)


# -- checks -----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words that tell Dutch from English in a short question.
_NL_WORDS = (
    "de het een en van is in op te dat die er niet met voor zijn aan ook als bij of wat wie "
    "waar hoe wanneer welke mijn ik u je jij we kan moet wordt worden heb heeft mag kun"
)
_EN_WORDS = (
    "the a an and of is in on to that it not with for are be at also as or what who where how "
    "when which my i you we can must will have has may do does"
)
_NL = frozenset(_NL_WORDS.split())
_EN = frozenset(_EN_WORDS.split())


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _WORD.findall(text.casefold())


def detect_language(text: str) -> str | None:
    """``nl`` or ``en`` by function words; None when neither shows (too short to tell)."""
    toks = words(text)
    nl = sum(t in _NL for t in toks)
    en = sum(t in _EN for t in toks)
    if nl == en:
        return None
    return "nl" if nl > en else "en"


def quote_in_passage(quote: str, passage: str, *, min_share: float = 0.8) -> bool:
    """True when at least ``min_share`` of the quote's words appear as one run in the passage."""
    q, p = words(quote), words(passage)
    if not q:
        return False
    m = SequenceMatcher(None, q, p, autojunk=False).find_longest_match(0, len(q), 0, len(p))
    return m.size >= max(1, int(np.ceil(min_share * len(q))))


def longest_copied_run(question: str, passage: str) -> int:
    """Length in words of the longest run the question shares with the passage."""
    q, p = words(question), words(passage)
    if not q or not p:
        return 0
    return SequenceMatcher(None, q, p, autojunk=False).find_longest_match(0, len(q), 0, len(p)).size


def _case_id(prefix: str, kind: str, question: str) -> str:
    digest = hashlib.sha256(" ".join(words(question)).encode()).hexdigest()[:10]
    return f"{prefix}-{kind}-{digest}"


@dataclass
class Rejected:
    """A candidate a filter removed, kept for the summary and for people to look at."""

    kind: str
    reason: str
    question: str
    passage_ids: list[str]


@dataclass
class GenerationResult:
    """Kept candidates, the rejected ones with their reason, and the stats."""

    cases: list[GoldenCase]
    rejected: list[Rejected]
    stats: GenerationStats


class Embedder(Protocol):
    """Question and passage vectors (the demo's embedders fit)."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...  # noqa: D102

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...  # noqa: D102


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.atleast_2d(np.asarray(v, dtype=np.float32))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms == 0, 1.0, norms)


class Generator:
    """Generates candidates from passages with one :class:`ChatClient`.

    Args:
        passages: The corpus.
        chat: The LLM.
        plan: What to generate.
        embedder: For near-duplicate removal and for the passages nearest to a refusal
            question; None: exact duplicates only, nearest passages by shared words.
        existing: Cases of the set the candidates will join (their questions count as
            duplicates, their ids are not reused).
        rejected_questions: Questions people rejected in review; they count as duplicates
            too, so a rejected candidate is not generated again.
        cache_dir: Folder of the call cache (None: no cache).
        concurrency: Calls at once.

    """

    def __init__(
        self,
        passages: Sequence[Passage],
        chat: ChatClient,
        plan: GenerationPlan,
        *,
        embedder: Embedder | None = None,
        existing: Sequence[GoldenCase] = (),
        rejected_questions: Sequence[str] = (),
        cache_dir: Path | None = None,
        concurrency: int = 2,
        generator_name: str | None = None,
    ) -> None:
        if not passages:
            raise ValueError("no passages to generate from")
        self.passages = list(passages)
        self.plan = plan
        self.stats = GenerationStats(wanted=plan.wanted())
        self.llm = _Cached(chat, JudgeCache(cache_dir) if cache_dir else None, self.stats)
        self.embedder = embedder
        self.existing = list(existing)
        self.rng = random.Random(plan.seed)
        self.sem = asyncio.Semaphore(concurrency)
        self.generator_name = generator_name or chat.model
        self.kept: list[GoldenCase] = []
        self.rejected: list[Rejected] = []
        self._ids = {c.id for c in self.existing}
        self._questions: list[str] = [c.question for c in self.existing]
        self._questions += [q for q in rejected_questions if q.strip()]
        self._vectors: np.ndarray | None = None
        self._passage_vectors: np.ndarray | None = None

    def _embed_q(self, texts: Sequence[str]) -> np.ndarray:
        assert self.embedder is not None
        return _unit(self.embedder.embed_queries(list(texts)))

    # -- public -------------------------------------------------------------------------

    async def run(self, progress: Callable[[str], None] | None = None) -> GenerationResult:
        """Generate until each kind has its wanted count or its attempts run out."""
        if self.embedder is not None and self._questions:
            self._vectors = self._embed_q(self._questions)
        order = [k for k in KINDS if k != "rephrase" and self.stats.wanted.get(k)]
        for kind in order:
            await self._fill(kind, progress)
        if self.stats.wanted.get("rephrase"):
            await self._fill("rephrase", progress)
        return GenerationResult(self.kept, self.rejected, self.stats)

    # -- per kind -----------------------------------------------------------------------

    async def _fill(self, kind: str, progress: Callable[[str], None] | None) -> None:
        want = self.stats.wanted[kind]
        budget = int(np.ceil(want * self.plan.max_attempts_factor))
        sources = self._sources(kind, budget)
        i = 0
        while self.stats.kept[kind] < want and i < len(sources):
            batch = sources[i : i + max(1, want - self.stats.kept[kind])]
            i += len(batch)
            results = await asyncio.gather(*(self._attempt(kind, s) for s in batch))
            for made in results:
                if made is not None and self.stats.kept[kind] < want:
                    self._accept(kind, made)
            if progress is not None:
                progress(kind)

    def _sources(self, kind: str, budget: int) -> list[Any]:
        if kind == "rephrase":
            pool = [c for c in self.kept if c.provenance and c.provenance.kind == "factual"]
            self.rng.shuffle(pool)
            return pool[:budget]
        idx = list(range(len(self.passages)))
        self.rng.shuffle(idx)
        picks = [idx[j % len(idx)] for j in range(budget)]
        if kind == "synthesis":
            return [(p, self._related(p)) for p in picks if len(self.passages) > 1]
        return picks

    def _related(self, i: int) -> int:
        """The passage most similar to passage ``i`` (same document first), not ``i`` itself."""
        me = self.passages[i]
        doc = me.id.split("#", 1)[0]
        same = [j for j, p in enumerate(self.passages) if j != i and p.id.split("#", 1)[0] == doc]
        if same:
            return same[self.rng.randrange(len(same))]
        mine = set(words(me.text))
        scores = [
            (len(mine & set(words(p.text))) if j != i else -1, j)
            for j, p in enumerate(self.passages)
        ]
        return max(scores)[1]

    async def _attempt(self, kind: str, source: Any) -> dict[str, Any] | None:
        self.stats.attempts[kind] += 1
        lang = self.plan.language
        async with self.sem:
            try:
                if kind == "rephrase":
                    case: GoldenCase = source
                    data = await self.llm.ask(
                        load_generation_prompt(kind, lang), _SCHEMAS[kind], question=case.question
                    )
                    return self._check(kind, data, [], base=case)
                if kind == "synthesis":
                    a, b = (self.passages[source[0]], self.passages[source[1]])
                    data = await self.llm.ask(
                        load_generation_prompt(kind, lang),
                        _SCHEMAS[kind],
                        passage=a.text,
                        passage_2=b.text,
                    )
                    return self._check(kind, data, [a, b])
                p = self.passages[source]
                data = await self.llm.ask(
                    load_generation_prompt(kind, lang), _SCHEMAS[kind], passage=p.text
                )
                made = self._check(kind, data, [p])
                if made is not None and kind == "refuse":
                    return await self._absent(made)
                return made
            except ValueError:
                return self._reject(kind, "malformed", "", [])
            except Exception as exc:  # an API error: counted, the next source is tried
                return self._reject(kind, "call_failed", f"{exc.__class__.__name__}", [])

    def _reject(
        self, kind: str, reason: str, question: str, ids: list[str]
    ) -> dict[str, Any] | None:
        """Count and keep a rejected candidate; returns None (nothing made)."""
        self.stats.rejected[reason] += 1
        self.rejected.append(Rejected(kind, reason, question, ids))
        return None

    def _check(
        self, kind: str, data: dict[str, Any], ps: list[Passage], base: GoldenCase | None = None
    ) -> dict[str, Any] | None:
        fields = [k for k in _SCHEMAS[kind]["properties"]]
        if any(not isinstance(data.get(f), str) or not data[f].strip() for f in fields):
            return self._reject(kind, "malformed", str(data.get("question", "")), [])
        q = " ".join(data["question"].split())
        ids = [p.id for p in ps] if base is None else [c.doc_id for c in base.gold_contexts]
        asked = data.get("follow_up", q) if kind == "followup" else q
        if kind in ("factual", "followup", "synthesis"):
            quotes = [data["quote"]] + ([data["quote_2"]] if kind == "synthesis" else [])
            if not all(quote_in_passage(qt, p.text) for qt, p in zip(quotes, ps, strict=True)):
                return self._reject(kind, "answer_not_in_passage", q, ids)
        for p in ps:
            for text in {q, asked}:
                if longest_copied_run(text, p.text) >= self.plan.max_copied_words:
                    return self._reject(kind, "copies_passage", q, ids)
        for text in {q, asked}:
            if detect_language(text) not in (self.plan.language, None):
                return self._reject(kind, "wrong_language", q, ids)
        if base is not None and " ".join(words(q)) == " ".join(words(base.question)):
            return self._reject(kind, "duplicate", q, ids)
        if self._is_duplicate(asked, besides=base.question if base is not None else None):
            return self._reject(kind, "duplicate", q, ids)
        return {"data": data, "question": q, "passages": ps, "base": base}

    def _is_duplicate(self, question: str, *, besides: str | None = None) -> bool:
        """Near-duplicate of a kept or existing question (``besides``, a rephrase's base, not)."""
        norm = " ".join(words(question))
        skip = " ".join(words(besides)) if besides else None
        keys = [" ".join(words(x)) for x in self._questions]
        if any(k == norm for k in keys if k != skip):
            return True
        if self.embedder is None or self._vectors is None or not len(self._vectors):
            return False
        sims = self._vectors @ self._embed_q([question])[0]
        mask = np.array([k != skip for k in keys], dtype=bool)
        return bool(mask.any() and np.max(sims[mask]) >= self.plan.duplicate_cosine)

    async def _absent(self, made: dict[str, Any]) -> dict[str, Any] | None:
        """Second call for a refusal: check that the nearest passages do not answer it."""
        q = made["question"]
        near = self._nearest(q, 3)
        data = await self.llm.ask(
            load_generation_prompt("absent_check", self.plan.language),
            _SCHEMAS["absent_check"],
            question=q,
            passages=[p.text for p in near],
        )
        if not isinstance(data.get("answered"), bool):
            return self._reject("refuse", "malformed", q, [])
        if data["answered"]:
            return self._reject("refuse", "answered_by_corpus", q, [p.id for p in near])
        made["near"] = near
        return made

    def _nearest(self, question: str, k: int) -> list[Passage]:
        if self.embedder is not None:
            if self._passage_vectors is None:
                texts = [p.text for p in self.passages]
                self._passage_vectors = _unit(self.embedder.embed_passages(texts))
            sims = self._passage_vectors @ self._embed_q([question])[0]
            order = np.argsort(-sims)[:k]
            return [self.passages[int(i)] for i in order]
        qw = set(words(question))
        ranked = sorted(self.passages, key=lambda p: -len(qw & set(words(p.text))))
        return ranked[:k]

    def _accept(self, kind: str, made: dict[str, Any]) -> None:
        data, q, ps, base = made["data"], made["question"], made["passages"], made["base"]
        lang = self.plan.language
        asked = " ".join(data["follow_up"].split()) if kind == "followup" else q
        case_id = _case_id(self.plan.prefix, kind, asked)
        if case_id in self._ids:
            self._reject(kind, "duplicate", q, [p.id for p in ps])
            return
        prompt = load_generation_prompt(kind, lang)
        prov = Provenance(
            kind=kind,
            passage_ids=[p.id for p in ps]
            or ([c.doc_id for c in base.gold_contexts] if base else []),
            quotes=[data[k] for k in ("quote", "quote_2") if k in data],
            generator=f"{self.generator_name} {prompt.version}",
            derived_from=base.id if base is not None else None,
        )
        tags = [f"kind:{kind}", f"lang:{lang}", "source:generated"]
        common: dict[str, Any] = {
            "id": case_id,
            "status": CaseStatus.CANDIDATE,
            "provenance": prov,
        }
        if kind == "refuse":
            near = made.get("near") or []
            prov.passage_ids = [p.id for p in ps] + [p.id for p in near if p not in ps]
            case = GoldenCase(
                question=q, expected_behavior=ExpectedBehavior.REFUSE, tags=tags, **common
            )
        elif kind == "rephrase":
            assert base is not None
            case = GoldenCase(
                question=q,
                reference_answer=base.reference_answer,
                gold_contexts=base.gold_contexts,
                tags=[*tags, "style:informal"],
                **common,
            )
        elif kind == "followup":
            case = GoldenCase(
                question=asked,
                reference_answer=data["follow_up_answer"].strip(),
                gold_contexts=[GoldContext(doc_id=p.id) for p in ps],
                history=[
                    Turn(role="user", content=q),
                    Turn(role="assistant", content=data["answer"].strip()),
                ],
                tags=tags,
                **common,
            )
        else:
            case = GoldenCase(
                question=q,
                reference_answer=data["answer"].strip(),
                gold_contexts=[GoldContext(doc_id=p.id) for p in ps],
                tags=tags,
                **common,
            )
        self._ids.add(case_id)
        self.kept.append(case)
        self.stats.kept[kind] += 1
        self._questions.append(asked)
        if self.embedder is not None:
            v = self._embed_q([asked])
            self._vectors = v if self._vectors is None else np.vstack([self._vectors, v])
