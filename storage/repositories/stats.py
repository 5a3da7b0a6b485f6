"""The reads behind ``/relais stats`` and the CSV export.

Each figure read is bounded by the window it shows: submissions created since the
window's start (``(workspace_id, created_at)``, or ``(author_id, created_at)`` for one
person), decisions since then (``(workspace_id, status, decided_at)``), escalations since
then (``review_events (to_status, at)``) and the submissions of the campaigns shown
(``(campaign_id)``). Only the ambassador and site counts read every member, which grows
with the programme, not with its history. The export reads everything, on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain import Role, Status
from storage.models import (
    Campaign,
    Member,
    MemberRole,
    ReviewEvent,
    Site,
    Submission,
)


@dataclass(frozen=True)
class Scope:
    """Whose numbers: a whole workspace, one site of it, or one person's own."""

    workspace_id: int
    site_id: int | None = None
    author_id: int | None = None


@dataclass(frozen=True)
class SubmissionRow:
    """What the figures need of one submission."""

    id: int
    author_id: int
    site_id: int | None
    campaign_id: int | None
    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class EscalationRow:
    """One escalation: when it happened and what became of the submission."""

    submission_id: int
    escalated_at: datetime
    status: str
    decided_at: datetime | None


@dataclass(frozen=True)
class SiteRow:
    id: int
    name: str
    ambassadors: int


@dataclass(frozen=True)
class CampaignRow:
    id: int
    title: str
    starts_on: date
    ends_on: date
    site_id: int | None


@dataclass(frozen=True)
class CampaignCount:
    campaign_id: int
    submissions: int
    approved: int
    contributors: int


@dataclass(frozen=True)
class ExportRow:
    """One line of the CSV export."""

    id: int
    created_at: datetime
    site: str | None
    campaign: str | None
    status: str
    decided_at: datetime | None
    decided_by: str | None


_COLUMNS = (
    Submission.id,
    Submission.author_id,
    Submission.site_id,
    Submission.campaign_id,
    Submission.status,
    Submission.created_at,
    Submission.decided_at,
)
FINAL = (Status.APPROVED.value, Status.REJECTED.value)


_Ts = TypeVarTuple("_Ts")


def _scoped(stmt: Select[*_Ts], scope: Scope) -> Select[*_Ts]:
    if scope.author_id is not None:
        stmt = stmt.where(Submission.author_id == scope.author_id)
    if scope.site_id is not None:
        stmt = stmt.where(Submission.site_id == scope.site_id)
    return stmt.where(Submission.workspace_id == scope.workspace_id)


def _row(row: Any) -> SubmissionRow:
    return SubmissionRow(*row)


class StatsRepository:
    """Read-only queries for the CM's numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def created_since(self, scope: Scope, start: datetime) -> list[SubmissionRow]:
        """Submissions created at or after ``start`` (any status)."""
        stmt = _scoped(select(*_COLUMNS).where(Submission.created_at >= start), scope)
        return [_row(r) for r in (await self.s.execute(stmt)).all()]

    async def decided_since(self, scope: Scope, start: datetime) -> list[SubmissionRow]:
        """Submissions approved or rejected at or after ``start``."""
        stmt = select(*_COLUMNS).where(Submission.status.in_(FINAL), Submission.decided_at >= start)
        return [_row(r) for r in (await self.s.execute(_scoped(stmt, scope))).all()]

    async def escalated_since(self, scope: Scope, start: datetime) -> list[EscalationRow]:
        """Escalations at or after ``start`` (the first one of a submission in the window)."""
        stmt = (
            select(
                ReviewEvent.submission_id,
                func.min(ReviewEvent.at),
                Submission.status,
                Submission.decided_at,
            )
            .join(Submission, Submission.id == ReviewEvent.submission_id)
            .where(ReviewEvent.to_status == Status.ESCALATED.value, ReviewEvent.at >= start)
            .group_by(ReviewEvent.submission_id, Submission.status, Submission.decided_at)
        )
        rows = (await self.s.execute(_scoped(stmt, scope))).all()
        return [EscalationRow(r[0], r[1], r[2], r[3]) for r in rows]

    async def ambassadors(self, workspace_id: int, site_id: int | None = None) -> list[datetime]:
        """When each current ambassador was given the role (one per ambassador)."""
        stmt = (
            select(MemberRole.granted_at)
            .join(Member, Member.id == MemberRole.member_id)
            .where(Member.workspace_id == workspace_id, MemberRole.role == Role.AMBASSADOR.value)
        )
        if site_id is not None:
            stmt = stmt.where(Member.site_id == site_id)
        return list((await self.s.scalars(stmt)).all())

    async def sites(self, workspace_id: int) -> list[SiteRow]:
        """Every site of the workspace with its number of ambassadors."""
        counted = (
            select(Member.site_id, func.count().label("n"))
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(Member.workspace_id == workspace_id, MemberRole.role == Role.AMBASSADOR.value)
            .group_by(Member.site_id)
            .subquery()
        )
        stmt = (
            select(Site.id, Site.name, func.coalesce(counted.c.n, 0))
            .outerjoin(counted, counted.c.site_id == Site.id)
            .where(Site.workspace_id == workspace_id)
            .order_by(Site.name)
        )
        return [SiteRow(*r) for r in (await self.s.execute(stmt)).all()]

    async def campaigns_since(
        self, workspace_id: int, start: date, site_id: int | None = None
    ) -> list[CampaignRow]:
        """Campaigns still running on or after ``start`` (the window), oldest first."""
        stmt = select(
            Campaign.id, Campaign.title, Campaign.starts_on, Campaign.ends_on, Campaign.site_id
        ).where(Campaign.workspace_id == workspace_id, Campaign.ends_on >= start)
        if site_id is not None:
            stmt = stmt.where(Campaign.site_id == site_id)
        stmt = stmt.order_by(Campaign.starts_on, Campaign.id)
        return [CampaignRow(*r) for r in (await self.s.execute(stmt)).all()]

    async def campaign_counts(self, scope: Scope, ids: Sequence[int]) -> list[CampaignCount]:
        """Submissions, approvals and contributors of each campaign in ``ids``."""
        if not ids:
            return []
        approved = func.count().filter(Submission.status == Status.APPROVED.value)
        stmt = (
            select(
                Submission.campaign_id,
                func.count(),
                approved,
                func.count(func.distinct(Submission.author_id)),
            )
            .where(Submission.campaign_id.in_(ids))
            .group_by(Submission.campaign_id)
        )
        rows = (await self.s.execute(_scoped(stmt, scope))).all()
        return [CampaignCount(r[0] or 0, r[1], r[2], r[3]) for r in rows]

    async def export(self, workspace_id: int) -> AsyncIterator[ExportRow]:
        """Every submission of the workspace, oldest first, for the CSV export."""
        decider = aliased(Member)
        stmt = (
            select(
                Submission.id,
                Submission.created_at,
                Site.name,
                Campaign.title,
                Submission.status,
                Submission.decided_at,
                decider.display_name,
            )
            .outerjoin(Site, Site.id == Submission.site_id)
            .outerjoin(Campaign, Campaign.id == Submission.campaign_id)
            .outerjoin(decider, decider.id == Submission.decided_by_id)
            .where(Submission.workspace_id == workspace_id)
            .order_by(Submission.id)
        )
        result = await self.s.stream(stmt.execution_options(yield_per=1000))
        async for row in result:
            yield ExportRow(*row)
