"""Versioned judge prompts (jinja2), one file per prompt, version and language.

File names are ``<prompt>_v<N>.<lang>.j2``. A changed prompt gets a new version number so old
and new results are never compared as if they were the same judge; the sha256 of the template
is recorded with every verdict as well.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ragwacht.errors import ConfigError

PROMPT_DIR = Path(__file__).parent
LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt template with its identity."""

    name: str
    language: str
    source: str
    path: Path

    @property
    def version(self) -> str:
        """``<name>.<lang>``, e.g. ``faithfulness_v1.nl``."""
        return f"{self.name}.{self.language}"

    @property
    def sha256(self) -> str:
        """sha256 of the template source."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def render(self, **values: Any) -> str:
        """Render with strict undefined variables (a typo must fail, not vanish)."""
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
        )
        return env.from_string(self.source).render(**values).strip() + "\n"


def pick_language(language: str | None) -> str:
    """Map a case language (``nl``, ``nl-NL``, ``en``, ``de``...) to a prompt language."""
    lang = (language or "nl").lower().split("-")[0].split("_")[0]
    # Dutch first; every other language gets the English prompt.
    return lang if lang in LANGUAGES else "en"


def load_prompt(name: str, language: str, *, override_dir: str | Path | None = None) -> Prompt:
    """Load prompt ``name`` (e.g. ``faithfulness_v1``) for ``language``.

    A file of the same name in ``override_dir`` wins over the packaged one.
    """
    lang = pick_language(language)
    fname = f"{name}.{lang}.j2"
    candidates = [Path(override_dir) / fname] if override_dir else []
    candidates.append(PROMPT_DIR / fname)
    for path in candidates:
        if path.is_file():
            return Prompt(name=name, language=lang, source=path.read_text("utf-8"), path=path)
    raise ConfigError(
        f"prompt '{fname}' not found",
        field="prompt_dir",
        hint=f"packaged prompts: {', '.join(sorted(p.name for p in PROMPT_DIR.glob('*.j2')))}",
    )
