"""The outbox table: written with the change that caused a message, claimed by dispatchers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import OutboxStatus
from storage.models import OutboxMessage
from storage.repositories.dml import rowcount
from storage.repositories.leases import claim_due, finish, give_back, renew


class OutboxRepository:
    """Rows of ``outbox``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self,
        *,
        workspace_id: int,
        platform: str,
        kind: str,
        target: dict[str, Any],
        payload: dict[str, Any],
        now: datetime,
        replaces_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> int:
        """Queue one message in the caller's transaction and return its id."""
        row = OutboxMessage(
            workspace_id=workspace_id,
            platform=platform,
            kind=kind,
            target=target,
            payload=payload,
            replaces_id=replaces_id,
            dedupe_key=dedupe_key,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return row.id

    async def claim(
        self,
        worker: str,
        *,
        platforms: list[str],
        now: datetime,
        lease: timedelta,
        limit: int,
        exclude: list[int] | None = None,
        workspaces: list[tuple[str, int]] | None = None,
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due rows of ``platforms`` for ``worker`` (see ``claim_due``);
        with ``workspaces`` ((platform, workspace id) pairs), only rows of those."""
        where: list[ColumnElement[bool]] = [OutboxMessage.platform.in_(platforms)]
        if workspaces is not None:
            if not workspaces:
                return []
            by_platform: dict[str, list[int]] = {}
            for platform, workspace_id in workspaces:
                by_platform.setdefault(platform, []).append(workspace_id)
            where.append(
                or_(
                    *(
                        (OutboxMessage.platform == platform) & OutboxMessage.workspace_id.in_(ids)
                        for platform, ids in sorted(by_platform.items())
                    )
                )
            )
        return await claim_due(
            self.s,
            OutboxMessage,
            worker=worker,
            now=now,
            lease=lease,
            limit=limit,
            exclude=exclude,
            pending=OutboxStatus.PENDING.value,
            running=OutboxStatus.SENDING.value,
            where=tuple(where),
        )

    async def renew(self, ids: list[int], worker: str, *, until: datetime) -> int:
        """Keep ``worker``'s lease on the rows it is still sending (see ``leases.renew``)."""
        return await renew(
            self.s, OutboxMessage, ids, worker, OutboxStatus.SENDING.value, until=until
        )

    async def give_back(self, ids: list[int], worker: str, *, now: datetime) -> int:
        """Hand back rows ``worker`` is abandoning unsent (see ``leases.give_back``)."""
        return await give_back(
            self.s,
            OutboxMessage,
            ids,
            worker,
            running=OutboxStatus.SENDING.value,
            pending=OutboxStatus.PENDING.value,
            now=now,
        )

    async def _finish(self, row_id: int, worker: str, **values: Any) -> bool:
        return await finish(
            self.s, OutboxMessage, row_id, worker, OutboxStatus.SENDING.value, **values
        )

    async def mark_sent(
        self, row_id: int, worker: str, *, result: dict[str, Any] | None, now: datetime
    ) -> bool:
        """Record a delivered row and what the platform answered."""
        return await self._finish(
            row_id,
            worker,
            status=OutboxStatus.SENT.value,
            result=result,
            sent_at=now,
            claimed_until=None,
            last_error=None,
        )

    async def mark_retry(
        self, row_id: int, worker: str, *, at: datetime, error: str, count_attempt: bool = True
    ) -> bool:
        """Put a row back in the queue for ``at``."""
        values: dict[str, Any] = dict(
            status=OutboxStatus.PENDING.value,
            next_attempt_at=at,
            claimed_until=None,
            last_error=error[:2000],
        )
        if not count_attempt:
            values["attempts"] = OutboxMessage.attempts - 1
        return await self._finish(row_id, worker, **values)

    async def put_back(self, row_id: int, worker: str, *, at: datetime) -> bool:
        """Give back a claimed row unsent, due again at ``at``, without counting a try (its
        recipient's pace had no room for it); its last error is kept."""
        return await self._finish(
            row_id,
            worker,
            status=OutboxStatus.PENDING.value,
            next_attempt_at=at,
            claimed_until=None,
            attempts=OutboxMessage.attempts - 1,
        )

    async def mark_dead(self, row_id: int, worker: str, *, error: str) -> bool:
        """Park a row as a dead letter for ``relais doctor``."""
        return await self._finish(
            row_id,
            worker,
            status=OutboxStatus.DEAD.value,
            claimed_until=None,
            last_error=error[:2000],
        )

    async def has_dedupe_key(self, key: str) -> bool:
        """True when a message with this dedupe key was already queued."""
        found = await self.s.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key).limit(1)
        )
        return found is not None

    async def get(self, row_id: int) -> OutboxMessage | None:
        """A row by id, fresh from the database."""
        return await self.s.get(OutboxMessage, row_id, populate_existing=True)

    async def dead_letters(self, *, limit: int = 50) -> list[OutboxMessage]:
        """Rows that could not be delivered, newest first."""
        rows = await self.s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD.value)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        return list(rows)

    @staticmethod
    def _stuck(attempts: int, queued_before: datetime) -> ColumnElement[bool]:
        unsent = OutboxMessage.status.in_((OutboxStatus.PENDING.value, OutboxStatus.SENDING.value))
        return unsent & (
            (OutboxMessage.attempts >= attempts) | (OutboxMessage.created_at < queued_before)
        )

    async def stuck(
        self, *, attempts: int, queued_before: datetime, limit: int = 50
    ) -> list[OutboxMessage]:
        """Rows still not sent after ``attempts`` tries or since before ``queued_before``,
        oldest first (still being retried: not dead letters)."""
        rows = await self.s.scalars(
            select(OutboxMessage)
            .where(self._stuck(attempts, queued_before))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(rows)

    async def count_stuck(self, *, attempts: int, queued_before: datetime) -> int:
        """How many rows ``stuck`` would list, without the limit."""
        found = await self.s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(self._stuck(attempts, queued_before))
        )
        return int(found or 0)

    async def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        rows = await self.s.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in rows.all()}

    async def backlog(self) -> tuple[dict[str, int], datetime | None]:
        """Rows not sent, per status (pending, sending, dead), and when the oldest row still
        to send was queued; sent rows are not counted (the status index keeps it cheap)."""
        unsent = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
        rows = await self.s.execute(
            select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status.in_((*unsent, OutboxStatus.DEAD.value)))
            .group_by(OutboxMessage.status)
        )
        counts: dict[str, int] = {}
        oldest: datetime | None = None
        for status, n, first in rows.all():
            counts[status] = int(n)
            if status in unsent and first is not None and (oldest is None or first < oldest):
                oldest = first
        return counts, oldest

    async def requeue_dead(self, *, now: datetime) -> int:
        """Give every dead letter a fresh set of attempts; returns how many."""
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD.value)
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)
