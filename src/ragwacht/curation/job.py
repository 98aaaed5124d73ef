"""``datasets generate`` as a library call: corpus in, a candidate golden-set folder out."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ragwacht._io import write_atomic
from ragwacht.corpus import ingest
from ragwacht.curation.generate import GenerationPlan, GenerationResult, Generator, JudgeChat
from ragwacht.curation.review import reviewer_rejections
from ragwacht.datasets.io import load_golden_set, save_golden_set
from ragwacht.datasets.models import DatasetManifest, GoldenCase, GoldenSet
from ragwacht.demo.corpus import Passage, corpus_digest
from ragwacht.errors import ConfigError
from ragwacht.metrics.judges.config import JudgeConfig, LLMJudgeConfig, LocalLLMJudgeConfig
from ragwacht.metrics.judges.factory import load_judge_file, make_verifier, parse_judge_config

BASE_URL_ENV = "RAGWACHT_JUDGE_BASE_URL"
MODEL_ENV = "RAGWACHT_JUDGE_MODEL"
GGUF_ENV = "RAGWACHT_JUDGE_GGUF"
HOW_TO = (
    "pass --judge FILE (a judge of type llm or local-llm, or a suite with one), or export "
    f"{BASE_URL_ENV}=http://host:port/v1 (and {MODEL_ENV}), or {GGUF_ENV}=/path/model.gguf; "
    "`ragwacht judges serve --gguf` serves a local model"
)


def resolve_generation_judge(
    judge: str | Path | None, *, name: str | None = None
) -> LLMJudgeConfig | LocalLLMJudgeConfig:
    """The LLM that writes candidates: ``--judge``, else the judge environment variables.

    Raises:
        ConfigError: No LLM is configured, or the configured judge is not an LLM (exit 2);
            generation never falls back to anything that would make cases up.

    """
    cfg: JudgeConfig
    if judge is not None:
        cfg = load_judge_file(judge, name=name)
    elif os.environ.get(BASE_URL_ENV):
        cfg = parse_judge_config(
            {
                "type": "llm",
                "base_url_env": BASE_URL_ENV,
                "model": os.environ.get(MODEL_ENV) or "local",
            },
            field=BASE_URL_ENV,
        )
    elif os.environ.get(GGUF_ENV):
        cfg = parse_judge_config({"type": "local-llm", "gguf_env": GGUF_ENV}, field=GGUF_ENV)
    else:
        raise ConfigError("generating candidates needs an LLM, and none is configured", hint=HOW_TO)
    if not isinstance(cfg, LLMJudgeConfig | LocalLLMJudgeConfig):
        raise ConfigError(
            f"a judge of type {cfg.type!r} cannot write questions",
            field="--judge",
            hint=HOW_TO,
        )
    return cfg


def _passages(corpus: Path) -> list[Passage]:
    result = ingest(corpus)
    return [Passage(id=p.id, text=p.text, title=p.title) for p in result.passages]


def generate_candidates(
    corpus: str | Path,
    to: str | Path,
    plan: GenerationPlan,
    cfg: LLMJudgeConfig | LocalLLMJudgeConfig,
    *,
    existing: str | Path | None = None,
    name: str | None = None,
    cache_dir: Path | None = Path(".ragwacht/generate-cache"),
    embedder: Any = None,
    concurrency: int = 2,
    progress: Callable[[str], None] | None = None,
) -> GenerationResult:
    """Generate candidates from ``corpus`` into the golden-set folder ``to``.

    The folder gets ``dataset.yaml``, ``cases.jsonl`` (every case ``status: candidate`` with
    provenance), ``rejected.jsonl`` (what each filter removed, so nobody asks for it again)
    and ``generation.json`` (plan, corpus digest, counts, calls and tokens).

    Raises:
        ConfigError: ``to`` holds a golden set that is not a generation output, or the
            corpus or existing set cannot be read.

    """
    out = Path(to)
    if (out / "dataset.yaml").exists() and not (out / "generation.json").exists():
        raise ConfigError(
            "the target folder holds a golden set that was not generated here",
            file=out,
            hint="write candidates to a new folder; `ragwacht review import` merges them",
        )
    passages = _passages(Path(corpus))
    old: list[GoldenCase] = load_golden_set(existing).cases if existing else []
    # Questions people rejected in review (review-rejected.jsonl, which generation never
    # rewrites) are not proposed again.

    by_people = reviewer_rejections(out)
    verifier = make_verifier(cfg)

    async def go() -> GenerationResult:
        try:
            chat = JudgeChat(verifier)
            gen = Generator(
                passages,
                chat,
                plan,
                embedder=embedder,
                existing=old,
                rejected_questions=[str(r.get("question", "")) for r in by_people],
                cache_dir=cache_dir,
                concurrency=concurrency,
            )
            return await gen.run(progress)
        finally:
            await verifier.aclose()

    result = asyncio.run(go())
    manifest = DatasetManifest(
        name=name or out.name or "candidates",
        version="0",
        description=(
            f"Candidate cases generated from {Path(corpus).name} by {cfg.model}; not reviewed. "
            "Review with `ragwacht review export`."
        ),
        language=plan.language,
    )
    save_golden_set(GoldenSet(manifest=manifest, cases=result.cases), out)
    rejected = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in result.rejected)
    write_atomic(out / "rejected.jsonl", rejected.encode("utf-8"))
    summary = {
        "plan": plan.model_dump(mode="json"),
        "corpus": str(Path(corpus)),
        "corpus_digest": corpus_digest(passages),
        "passages": len(passages),
        "generator": cfg.model,
        **result.stats.as_dict(),
    }
    write_atomic(out / "generation.json", json.dumps(summary, indent=2).encode("utf-8"))
    return result
