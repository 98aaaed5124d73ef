"""Build verifiers from judge configurations (a suite's ``judges:`` entries or a YAML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from ragwacht._registry import Registry
from ragwacht._yaml import read_yaml
from ragwacht.errors import ConfigError, Problem
from ragwacht.errors import Location as _Loc
from ragwacht.metrics.judges.base import Verifier
from ragwacht.metrics.judges.config import JudgeConfig

_ADAPTER: TypeAdapter[Any] = TypeAdapter(JudgeConfig)
JUDGE_TYPES = ("lexical", "llm", "local-llm", "nli", "learned")


class VerifierClass(Protocol):
    """A verifier class: builds its verifier from a parsed judge entry."""

    def from_config(self, cfg: Any, *, cache_dir: Path | None = None) -> Verifier:
        """The verifier for ``cfg``."""
        ...


# Verifier classes by judge ``type``; only the backend a suite names is imported.
JUDGES: Registry[VerifierClass] = Registry(
    "judge type",
    {
        "lexical": "ragwacht.metrics.judges.lexical:LexicalVerifier",
        "llm": "ragwacht.metrics.judges.llm:LLMVerifier",
        "local-llm": "ragwacht.metrics.judges.local_llm:LocalLLMVerifier",
        "nli": "ragwacht.metrics.judges.nli:NLIVerifier",
        "learned": "ragwacht.metrics.judges.learned:LearnedVerifier",
    },
    field="type",
)


def parse_judge_config(
    raw: dict[str, Any] | str,
    *,
    file: str | Path | None = None,
    field: str | None = None,
    line: int | None = None,
) -> JudgeConfig:
    """Validate one judge entry; errors name the file, field and how to fix it.

    ``raw`` may be a bare type name (``"lexical"``) for judges without required settings.
    """
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict) or "type" not in raw:
        raise ConfigError(
            "a judge needs a 'type'",
            file=file,
            line=line,
            field=f"{field}.type" if field else "type",
            hint=f"set type: to one of {', '.join(JUDGE_TYPES)}",
        )
    if raw["type"] not in JUDGE_TYPES:
        raise ConfigError(
            f"unknown judge type '{raw['type']}'",
            file=file,
            line=line,
            field=f"{field}.type" if field else "type",
            hint=f"use one of {', '.join(JUDGE_TYPES)}",
        )
    try:
        cfg: JudgeConfig = _ADAPTER.validate_python(raw)
        return cfg
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(x) for x in err.get("loc", ()) if str(x) != raw["type"]]
            where = ".".join(x for x in [field, *loc] if x)
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
            hint = None
            if err.get("type") == "extra_forbidden":
                hint = "remove it or check its spelling"
            elif err.get("type") == "missing":
                hint = "add it"
            problems.append(Problem(msg, _Loc(file, line, where or None), hint))
        raise ConfigError(problems=problems) from None


def load_judge_file(path: str | Path, *, name: str | None = None) -> JudgeConfig:
    """Read a judge from YAML: a judge mapping (``type: ...``) or a suite with ``judges:``.

    Args:
        path: the YAML file.
        name: which entry of a suite's ``judges:`` to use; may be omitted when there is one.

    """
    p = Path(path)
    _text, data = read_yaml(p, "judge file")
    if isinstance(data, dict) and "type" in data:
        return parse_judge_config(data, file=p)
    judges = data.get("judges") if isinstance(data, dict) else None
    if not isinstance(judges, dict) or not judges:
        raise ConfigError(
            "no judge found",
            file=p,
            field="judges",
            hint="write a judge mapping (type: llm, ...) or a suite with a judges: section",
        )
    if name is None:
        if len(judges) != 1:
            raise ConfigError(
                f"the suite defines {len(judges)} judges; say which",
                file=p,
                field="judges",
                hint=f"pass one of: {', '.join(judges)}",
            )
        name = next(iter(judges))
    if name not in judges:
        raise ConfigError(
            f"no judge named '{name}'",
            file=p,
            field="judges",
            hint=f"use one of: {', '.join(judges)}",
        )
    return parse_judge_config(judges[name], file=p, field=f"judges.{name}")


def make_verifier(cfg: JudgeConfig, *, cache_dir: Path | None = None) -> Verifier:
    """Instantiate the verifier for ``cfg`` (heavy libraries load lazily, on first use).

    Args:
        cfg: a parsed judge configuration.
        cache_dir: folder for the on-disk judge cache of LLM judges (None: no cache).

    """
    return JUDGES.get(cfg.type).from_config(cfg, cache_dir=cache_dir)
