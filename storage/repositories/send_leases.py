"""Send leases: which dispatcher sends a workspace's outbox rows, and which dispatchers
are running to share them (see ``bot.outbox``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, delete, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import OutboxStatus
from storage.models import OutboxMessage, SendDispatcher, SendLease, UTCDateTime
from storage.repositories.dml import dialect_insert, insert_once, rowcount

Key = tuple[str, int]  # (platform, workspace id)


@dataclass(frozen=True)
class Waiting:
    """A workspace with outbox rows to send: how many are due now, how many more come due
    before ``soon``, when the oldest due one became due, who holds its lease, and how many
    of its rows another dispatcher has in hand (claimed, its claim not lapsed)."""

    key: Key
    due: int
    coming: int
    oldest_due: datetime | None
    holder: str | None
    until: datetime | None
    in_others_hands: int = 0


class SendLeaseRepository:
    """Rows of ``send_leases``, one per (platform, workspace) ever sent to."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def waiting(
        self, platforms: list[str], *, now: datetime, soon: datetime, me: str = ""
    ) -> list[Waiting]:
        """Workspaces of ``platforms`` with rows due now (pending and due, or claimed with
        a lapsed claim), pending until ``soon`` or in a dispatcher's hands, with their
        lease and how many rows dispatchers other than ``me`` have in hand, oldest due
        first."""
        o = OutboxMessage
        due_now = or_(
            (o.status == OutboxStatus.PENDING.value) & (o.next_attempt_at <= now),
            (o.status == OutboxStatus.SENDING.value) & (o.claimed_until < now),
        )
        in_hand = (o.status == OutboxStatus.SENDING.value) & (o.claimed_until >= now)
        coming = (o.status == OutboxStatus.PENDING.value) & (o.next_attempt_at <= soon)
        due_at = case((o.status == OutboxStatus.PENDING.value, o.next_attempt_at), else_=now)
        rows = (
            await self.s.execute(
                select(
                    o.platform,
                    o.workspace_id,
                    func.sum(case((due_now, 1), else_=0)),
                    func.sum(case((coming & ~due_now, 1), else_=0)),
                    # SQLite loses the column's type through MIN over a CASE: made UTC again.
                    type_coerce(func.min(case((due_now, due_at), else_=None)), UTCDateTime()),
                    func.sum(case((in_hand & (o.claimed_by != me), 1), else_=0)),
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
                    or_(due_now, coming, in_hand),
                )
                .group_by(o.platform, o.workspace_id, SendLease.holder, SendLease.until)
            )
        ).all()
        found = [
            Waiting(
                key=(platform, int(workspace_id)),
                due=int(due or 0),
                coming=int(later or 0),
                oldest_due=oldest,
                holder=holder,
                until=until,
                in_others_hands=int(others or 0),
            )
            for platform, workspace_id, due, later, oldest, others, holder, until in rows
        ]
        return sorted(found, key=lambda w: (w.oldest_due is None, w.oldest_due or now, w.key))

    async def create(self, keys: list[Key], *, now: datetime) -> None:
        """Make sure ``keys`` have a lease row (nobody's, free to take), in key order."""
        for platform, workspace_id in sorted(keys):
            await insert_once(
                self.s,
                SendLease,
                {"platform": platform, "workspace_id": workspace_id, "holder": "", "until": now},
                key=("platform", "workspace_id"),
            )

    async def take_free(self, key: Key, holder: str, *, now: datetime, until: datetime) -> bool:
        """Hold ``key``'s lease (its row exists) if it is free, lapsed or ``holder``'s and
        no other transaction is taking it right now (PostgreSQL: ``SKIP LOCKED``, so this
        never waits, and dispatchers trying free workspaces in different orders never
        deadlock; SQLite serialises writers). True when taken."""
        platform, workspace_id = key
        found = await self.s.scalar(
            select(SendLease.holder)
            .where(
                SendLease.platform == platform,
                SendLease.workspace_id == workspace_id,
                or_(SendLease.holder == holder, SendLease.until <= now),
            )
            .with_for_update(skip_locked=True)
        )
        if found is None:
            return False
        await self.s.execute(
            update(SendLease)
            .where(SendLease.platform == platform, SendLease.workspace_id == workspace_id)
            .values(holder=holder, until=until)
            .execution_options(synchronize_session=False)
        )
        return True

    async def take(
        self, keys: list[Key], holder: str, *, now: datetime, until: datetime
    ) -> list[Key]:
        """Hold (or keep holding) the leases of ``keys`` until ``until``: those free, lapsed
        or already ``holder``'s. Returns the keys now held. Rows are locked one by one in
        key order, so two dispatchers taking overlapping sets never deadlock."""
        taken: list[Key] = []
        await self.create(keys, now=now)
        for platform, workspace_id in sorted(keys):
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

    async def release(self, holder: str, *, now: datetime, free_at: datetime) -> int:
        """Let ``holder``'s leases go (nobody's, free to take from ``free_at``) and count
        it out of the running dispatchers (a dispatcher that stops); returns how many
        leases."""
        await self.s.execute(
            delete(SendDispatcher)
            .where(SendDispatcher.holder == holder)
            .execution_options(synchronize_session=False)
        )
        result = await self.s.execute(
            update(SendLease)
            .where(SendLease.holder == holder, SendLease.until > now)
            .values(holder="", until=free_at)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def present(
        self, platforms: list[str], holder: str, *, now: datetime, until: datetime
    ) -> None:
        """``holder`` is running and sends to ``platforms`` until ``until`` (renewed by
        its claims); dispatchers gone past their time are forgotten."""
        await self.s.execute(
            delete(SendDispatcher)
            .where(SendDispatcher.until <= now)
            .execution_options(synchronize_session=False)
        )
        insert = dialect_insert(self.s)
        for platform in sorted(platforms):
            statement = insert(SendDispatcher).values(platform=platform, holder=holder, until=until)
            await self.s.execute(
                statement.on_conflict_do_update(
                    index_elements=[SendDispatcher.platform, SendDispatcher.holder],
                    set_={"until": statement.excluded.until},
                )
            )

    async def running(self, platforms: list[str], *, now: datetime) -> dict[str, int]:
        """How many dispatchers are running per platform of ``platforms`` (0: none)."""
        rows = await self.s.execute(
            select(SendDispatcher.platform, func.count())
            .where(SendDispatcher.platform.in_(platforms), SendDispatcher.until > now)
            .group_by(SendDispatcher.platform)
        )
        counts = {platform: 0 for platform in platforms}
        counts.update({platform: int(n) for platform, n in rows.all()})
        return counts

    async def held(self, *, now: datetime) -> dict[Key, str]:
        """Every lease held and not lapsed: (platform, workspace) -> holder."""
        rows = await self.s.execute(
            select(SendLease.platform, SendLease.workspace_id, SendLease.holder).where(
                SendLease.until > now, SendLease.holder != ""
            )
        )
        return {(p, int(w)): h for p, w, h in rows.all()}
