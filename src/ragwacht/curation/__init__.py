"""Curation: candidate golden cases generated from a team's own corpus, for people to review."""

from ragwacht.curation.generate import (
    DEFAULT_MIX,
    FILTERS,
    KINDS,
    GenerationPlan,
    GenerationResult,
    GenerationStats,
    Generator,
    JudgeChat,
)
from ragwacht.curation.job import generate_candidates, resolve_generation_judge

__all__ = [
    "DEFAULT_MIX",
    "FILTERS",
    "KINDS",
    "GenerationPlan",
    "GenerationResult",
    "GenerationStats",
    "Generator",
    "JudgeChat",
    "generate_candidates",
    "resolve_generation_judge",
]
