"""What an UPDATE or DELETE reports back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (``execute`` types it as a plain Result)."""
    assert isinstance(result, CursorResult), "rowcount of a statement that returns rows"
    return result.rowcount
