"""Claiming due rows with a lease: shared by the outbox and the jobs table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.dml import rowcount

Row = TypeVar("Row")


async def claim_due(
    s: AsyncSession,
    model: type[Row],
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    pending: str,
    running: str,
    where: tuple[ColumnElement[bool], ...] = (),
    exclude: list[int] | None = None,
) -> list[Row]:
    """Take up to ``limit`` due rows of ``model`` for ``worker``.

    One UPDATE over a ``FOR UPDATE SKIP LOCKED`` sub-select: on PostgreSQL two workers
    never get the same row; on SQLite the write lock serialises claims. A row whose
    lease ran out (its worker died mid-way) becomes due again. ``model`` needs the
    columns ``id, status, next_attempt_at, claimed_by, claimed_until, attempts``.
    ``exclude``: rows the worker still has in hand (their lease may have lapsed while the
    database was away), never claimed again by it.
    """
    m: Any = model
    if exclude:
        where = (*where, m.id.not_in(exclude))
    due = (
        select(m.id)
        .where(
            *where,
            or_(
                (m.status == pending) & (m.next_attempt_at <= now),
                (m.status == running) & (m.claimed_until < now),
            ),
        )
        .order_by(m.next_attempt_at, m.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await s.scalars(
        update(m)
        .where(m.id.in_(due.scalar_subquery()))
        .values(
            status=running,
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=m.attempts + 1,
        )
        .returning(m)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows, key=lambda r: r.id)


async def finish(
    s: AsyncSession, model: type[Any], row_id: int, worker: str, running: str, **values: Any
) -> bool:
    """Update a row this worker still holds; False when its lease was lost meanwhile."""
    result = await s.execute(
        update(model)
        .where(model.id == row_id, model.claimed_by == worker, model.status == running)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def renew(
    s: AsyncSession,
    model: type[Any],
    ids: list[int],
    worker: str,
    running: str,
    *,
    until: datetime,
) -> int:
    """Extend this worker's lease on ``ids`` to ``until``; returns how many it still held.

    The heartbeat of a worker whose sends or jobs are still running: a short lease kept
    alive while the work runs, so a worker that dies loses its rows within one lease.
    """
    if not ids:
        return 0
    result = await s.execute(
        update(model)
        .where(model.id.in_(ids), model.claimed_by == worker, model.status == running)
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def give_back(
    s: AsyncSession,
    model: type[Any],
    ids: list[int],
    worker: str,
    *,
    running: str,
    pending: str,
    now: datetime,
) -> int:
    """Hand back rows this worker claimed and is abandoning unfinished (it is stopping):
    due again at once for any worker, and this try does not count. Rows it no longer
    holds are left alone. Returns how many were given back."""
    if not ids:
        return 0
    result = await s.execute(
        update(model)
        .where(model.id.in_(ids), model.claimed_by == worker, model.status == running)
        .values(
            status=pending,
            claimed_by=None,
            claimed_until=None,
            next_attempt_at=now,
            attempts=model.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
