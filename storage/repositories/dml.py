"""What an UPDATE or DELETE reports back; an INSERT that a unique key makes idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (``execute`` types it as a plain Result)."""
    assert isinstance(result, CursorResult), "rowcount of a statement that returns rows"
    return result.rowcount


def dialect_insert(session: AsyncSession) -> Any:
    """``insert`` of the session's dialect (PostgreSQL or SQLite): the one with ON CONFLICT."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def insert_once(
    session: AsyncSession, model: type[Any], values: dict[str, Any], key: Sequence[str]
) -> bool:
    """INSERT a row unless one with the same unique ``key`` exists (``ON CONFLICT DO
    NOTHING`` on SQLite and PostgreSQL, no savepoint, no error); True when inserted."""
    statement = (
        dialect_insert(session)(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
    )
    return rowcount(await session.execute(statement)) == 1
