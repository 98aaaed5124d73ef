"""Bidirectional-text controls in untrusted text.

A doc id or answer that carries U+202E (right-to-left override) or another embedding,
override or isolate control can reorder the report's own text that follows it ("Officiële
bron · Score 0,120" shown mirrored). HTML isolates every untrusted inline value (``<bdi>``,
``unicode-bidi: isolate``), so the control ends with the value; text outputs without such
markup (Markdown, JUnit, the page title) drop the controls instead.
"""

from __future__ import annotations

import re

# LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM; ALM (U+061C) for good measure.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional embedding, override, isolate or mark characters."""
    return BIDI_CONTROLS.sub("", text)


__all__ = ["BIDI_CONTROLS", "strip_bidi"]
