"""The one strict base model for everything ragwacht persists, exchanges or reads from a file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that refuses unknown fields (a typo is an error, never ignored)."""

    model_config = ConfigDict(extra="forbid")
