"""Queries behind the weekly digest and the nudges, and the claim of each round.

Every digest query is bounded by the week (``decided_at`` range on the
``(workspace_id, status, decided_at)`` index), so its cost follows the week's content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Role, Status
from storage.models import Member, MemberRole, ScheduleRun, Site, Submission, Workspace


class RoundRepository:
    """``schedule_runs`` and the reads the rounds need."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # -- claims ---------------------------------------------------------------------------

    async def claim(
        self,
        workspace_id: int,
        kind: str,
        period: str,
        target: str,
        *,
        now: datetime,
        status: str = "sent",
    ) -> bool:
        """Claim a round for this transaction; False when it was claimed before (by this
        process earlier, or by another replica: on PostgreSQL the second insert waits for
        the first transaction and then fails on the unique key)."""
        try:
            async with self.s.begin_nested():
                self.s.add(
                    ScheduleRun(
                        workspace_id=workspace_id,
                        kind=kind,
                        period=period,
                        target=target,
                        status=status,
                        at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def claimed(self, workspace_id: int, kind: str, period: str, target: str) -> bool:
        """True when this round already ran (or was skipped)."""
        found = await self.s.scalar(
            select(ScheduleRun.id).where(
                ScheduleRun.workspace_id == workspace_id,
                ScheduleRun.kind == kind,
                ScheduleRun.period == period,
                ScheduleRun.target == target,
            )
        )
        return found is not None

    async def digest_covered_until(self, workspace_id: int, until: datetime) -> datetime | None:
        """The end of the latest digest period at or before ``until`` (a digest claim's
        ``at`` is the end of the period it covered), in any channel; None before the first."""
        return await self.s.scalar(
            select(func.max(ScheduleRun.at)).where(
                ScheduleRun.workspace_id == workspace_id,
                ScheduleRun.kind == "digest",
                ScheduleRun.at <= until,
            )
        )

    async def covered_until(
        self, workspace_id: int, kind: str, target: str, until: datetime
    ) -> datetime | None:
        """The end of the latest period of ``kind`` for ``target`` at or before ``until``
        (a site's local digest: where the next one starts); None before the first."""
        return await self.s.scalar(
            select(func.max(ScheduleRun.at)).where(
                ScheduleRun.workspace_id == workspace_id,
                ScheduleRun.kind == kind,
                ScheduleRun.target == target,
                ScheduleRun.at <= until,
            )
        )

    async def recent_targets(self, workspace_id: int, kind: str, since: datetime) -> set[str]:
        """Targets that received a round of ``kind`` since ``since`` (frequency caps)."""
        rows = await self.s.scalars(
            select(ScheduleRun.target).where(
                ScheduleRun.workspace_id == workspace_id,
                ScheduleRun.kind == kind,
                ScheduleRun.at >= since,
            )
        )
        return set(rows)

    async def claimed_targets(self, workspace_id: int, kind: str, period: str) -> set[str]:
        """Targets that already have the round ``kind`` of ``period``."""
        rows = await self.s.scalars(
            select(ScheduleRun.target).where(
                ScheduleRun.workspace_id == workspace_id,
                ScheduleRun.kind == kind,
                ScheduleRun.period == period,
            )
        )
        return set(rows)

    # -- the digest ---------------------------------------------------------------------

    def _approved_in(
        self, workspace_id: int, start: datetime, end: datetime, site_id: int | None = None
    ) -> Any:
        """Approved in [start, end); of one site's submissions when ``site_id`` is given
        (a local digest: the submission's site, filtered on the same index range)."""
        approved = and_(
            Submission.workspace_id == workspace_id,
            Submission.status == Status.APPROVED.value,
            Submission.decided_at >= start,
            Submission.decided_at < end,
        )
        return approved if site_id is None else and_(approved, Submission.site_id == site_id)

    async def approved_ids(
        self,
        workspace_id: int,
        start: datetime,
        end: datetime,
        *,
        limit: int,
        site_id: int | None = None,
    ) -> list[int]:
        """The first ``limit`` submissions approved in [start, end), by decision time,
        without those whose consent was withdrawn (their photos are not shown again)."""
        rows = await self.s.scalars(
            select(Submission.id)
            .where(
                self._approved_in(workspace_id, start, end, site_id),
                # A photo whose consent was withdrawn is never shown again.
                Submission.consent_withdrawn_at.is_(None),
            )
            .order_by(Submission.decided_at, Submission.id)
            .limit(limit)
        )
        return list(rows)

    async def approved_by_author(
        self, workspace_id: int, start: datetime, end: datetime, *, site_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(author id, approvals) in [start, end), most first."""
        count = func.count(Submission.id)
        rows = await self.s.execute(
            select(Submission.author_id, count)
            .where(self._approved_in(workspace_id, start, end, site_id))
            .group_by(Submission.author_id)
            .order_by(count.desc(), Submission.author_id)
        )
        return [(int(a), int(n)) for a, n in rows.all()]

    async def approved_by_site(
        self, workspace_id: int, start: datetime, end: datetime
    ) -> list[tuple[str | None, int]]:
        """(site name or None, approvals) in [start, end), most first."""
        count = func.count(Submission.id)
        rows = await self.s.execute(
            select(Site.name, count)
            .select_from(Submission)
            .outerjoin(Site, Site.id == Submission.site_id)
            .where(self._approved_in(workspace_id, start, end))
            .group_by(Site.name)
            .order_by(count.desc(), Site.name)
        )
        return [(name, int(n)) for name, n in rows.all()]

    async def approved_total(self, workspace_id: int, before: datetime) -> int:
        """Approvals decided before ``before`` (for milestones): the workspace's running
        total minus the approvals since (a short range on the index, usually empty)."""
        total = await self.s.scalar(
            select(Workspace.approved_total).where(Workspace.id == workspace_id)
        )
        since = await self.s.scalar(
            select(func.count()).where(
                Submission.workspace_id == workspace_id,
                Submission.status == Status.APPROVED.value,
                Submission.decided_at >= before,
            )
        )
        return int(total or 0) - int(since or 0)

    async def joined(
        self, workspace_id: int, start: datetime, end: datetime, *, site_id: int | None = None
    ) -> list[int]:
        """Members who became ambassadors in [start, end) (of one site: its members now)."""
        query = (
            select(Member.id)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(
                Member.workspace_id == workspace_id,
                MemberRole.role == Role.AMBASSADOR.value,
                MemberRole.granted_at >= start,
                MemberRole.granted_at < end,
            )
            .order_by(MemberRole.granted_at, Member.id)
        )
        if site_id is not None:
            query = query.where(Member.site_id == site_id)
        return list(await self.s.scalars(query))

    # -- nudges -------------------------------------------------------------------------

    async def ambassadors_to_nudge(
        self, workspace_id: int, now: datetime
    ) -> list[tuple[int, datetime, datetime | None]]:
        """(member id, ambassador since, last submission) of ambassadors who may be nudged:
        not snoozed, not opted out."""
        last = (
            select(Submission.author_id, func.max(Submission.created_at).label("last"))
            .where(Submission.workspace_id == workspace_id)
            .group_by(Submission.author_id)
            .subquery()
        )
        rows = await self.s.execute(
            select(Member.id, MemberRole.granted_at, last.c.last)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .outerjoin(last, last.c.author_id == Member.id)
            .where(
                Member.workspace_id == workspace_id,
                MemberRole.role == Role.AMBASSADOR.value,
                Member.nudges_opt_out.is_(False),
                or_(Member.snoozed_until.is_(None), Member.snoozed_until <= now),
            )
            .order_by(Member.id)
        )
        return [(int(m), granted, latest) for m, granted, latest in rows.all()]
