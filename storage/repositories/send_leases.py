"""Send leases: which dispatcher sends a workspace's outbox rows (see ``bot.outbox``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain import OutboxStatus
from storage.models import OutboxMessage, SendLease
from storage.repositories.dml import rowcount

Key = tuple[str, int]  # (platform, workspace id)


@dataclass(frozen=True)
class Waiting:
    """A workspace with outbox rows to send: how many are due now, how many more come due
    before ``soon``, when the oldest due one became due, and who holds its lease."""

    key: Key
    due: int
    coming: int
    oldest_due: datetime | None
    holder: str | None
    until: datetime | None


class SendLeaseRepository:
    """Rows of ``send_leases``, one per (platform, workspace) ever sent to."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def waiting(
        self, platforms: list[str], *, now: datetime, soon: datetime
    ) -> list[Waiting]:
        """Workspaces of ``platforms`` with rows due now (pending and due, or claimed with
        a lapsed claim) or pending until ``soon``, with their lease, oldest due first."""
        o = OutboxMessage
        due_now = or_(
            (o.status == OutboxStatus.PENDING.value) & (o.next_attempt_at <= now),
            (o.status == OutboxStatus.SENDING.value) & (o.claimed_until < now),
        )
        due_at = case((o.status == OutboxStatus.PENDING.value, o.next_attempt_at), else_=now)
        rows = (
            await self.s.execute(
                select(
                    o.platform,
                    o.workspace_id,
                    func.sum(case((due_now, 1), else_=0)),
                    func.count(),
                    func.min(case((due_now, due_at), else_=None)),
                    SendLease.holder,
                    SendLease.until,
                )
                .outerjoin(
                    SendLease,
                    and_(
                        SendLease.platform == o.platform, SendLease.workspace_id == o.workspace_id
                    ),
                )
                .where(
                    o.platform.in_(platforms),
                    or_(
                        due_now,
                        (o.status == OutboxStatus.PENDING.value) & (o.next_attempt_at <= soon),
                    ),
                )
                .group_by(o.platform, o.workspace_id, SendLease.holder, SendLease.until)
            )
        ).all()
        found = [
            Waiting(
                key=(platform, int(workspace_id)),
                due=int(due or 0),
                coming=int(count) - int(due or 0),
                oldest_due=_aware(oldest),
                holder=holder,
                until=until,
            )
            for platform, workspace_id, due, count, oldest, holder, until in rows
        ]
        return sorted(found, key=lambda w: (w.oldest_due is None, w.oldest_due or now, w.key))

    async def take(
        self, keys: list[Key], holder: str, *, now: datetime, until: datetime
    ) -> list[Key]:
        """Hold (or keep holding) the leases of ``keys`` until ``until``: those free, lapsed
        or already ``holder``'s. Returns the keys now held. Rows are locked one by one in
        key order, so two dispatchers taking overlapping sets never deadlock."""
        taken: list[Key] = []
        insert = (
            postgresql.insert if self.s.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        for platform, workspace_id in sorted(keys):
            await self.s.execute(
                insert(SendLease)
                .values(platform=platform, workspace_id=workspace_id, holder=holder, until=now)
                .on_conflict_do_nothing()
            )
            result = await self.s.execute(
                update(SendLease)
                .where(
                    SendLease.platform == platform,
                    SendLease.workspace_id == workspace_id,
                    or_(SendLease.holder == holder, SendLease.until <= now),
                )
                .values(holder=holder, until=until)
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) == 1:
                taken.append((platform, workspace_id))
        return taken

    async def renew(self, holder: str, *, now: datetime, until: datetime) -> int:
        """Extend ``holder``'s leases that have not lapsed; returns how many."""
        result = await self.s.execute(
            update(SendLease)
            .where(SendLease.holder == holder, SendLease.until > now)
            .values(until=until)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def release(self, holder: str, *, now: datetime) -> int:
        """Let ``holder``'s leases go now (a dispatcher that stops); returns how many."""
        result = await self.s.execute(
            update(SendLease)
            .where(SendLease.holder == holder, SendLease.until > now)
            .values(until=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def held(self, *, now: datetime) -> dict[Key, str]:
        """Every lease not lapsed: (platform, workspace) -> holder."""
        rows = await self.s.execute(
            select(SendLease.platform, SendLease.workspace_id, SendLease.holder).where(
                SendLease.until > now
            )
        )
        return {(p, int(w)): h for p, w, h in rows.all()}


def _aware(value: datetime | str | None) -> datetime | None:
    """``min()`` over a CASE loses the column type on SQLite (a naive string comes back)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
