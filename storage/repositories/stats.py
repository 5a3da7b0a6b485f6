"""The reads behind ``/relais stats`` and the CSV export.

Each figure read is bounded by the window it shows: submissions created since the
window's start (``(workspace_id, created_at)``, or ``(author_id, created_at)`` for one
person), decisions since then (``(workspace_id, status, decided_at)``), escalations since
then (``review_events (to_status, at)``) and the submissions of the campaigns shown
(``(campaign_id)``). The database counts (``FILTER`` aggregates, ``GROUP BY``) so few rows
come back. Only the ambassador and site counts read every member, which grows with the
programme, not with its history. The export reads everything, on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Float, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from domain import ConsentState, Role, Status, quantile
from storage.models import (
    Campaign,
    CampaignSite,
    Consent,
    Media,
    Member,
    MemberRole,
    ReviewEvent,
    Site,
    Submission,
    SubmissionMedia,
)


@dataclass(frozen=True)
class Scope:
    """Whose numbers: a whole workspace, one site of it, or one person's own."""

    workspace_id: int
    site_id: int | None = None
    author_id: int | None = None


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
    appears: str | None = None
    people_consented: bool = False
    internal_only: bool = False
    consent_withdrawn_at: datetime | None = None
    people_named: int = 0
    people_agreed: int = 0
    # What was sent: photos and videos (none: field news).
    photos: int = 0
    videos: int = 0


FINAL = (Status.APPROVED.value, Status.REJECTED.value)


_Ts = TypeVarTuple("_Ts")


def _scoped(stmt: Select[*_Ts], scope: Scope) -> Select[*_Ts]:
    if scope.author_id is not None:
        stmt = stmt.where(Submission.author_id == scope.author_id)
    if scope.site_id is not None:
        stmt = stmt.where(Submission.site_id == scope.site_id)
    return stmt.where(Submission.workspace_id == scope.workspace_id)


class HoursBetween(FunctionElement[float]):
    """Hours from ``start`` to ``end`` (two timestamps), computed by the database so the
    figures fetch one number per decision instead of two timestamps."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(HoursBetween, "postgresql")
def _hours_postgresql(element: HoursBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


@compiles(HoursBetween, "sqlite")
def _hours_sqlite(element: HoursBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@dataclass(frozen=True)
class Decisions:
    """Approvals and rejections, and the hours they took (median, 90th percentile)."""

    approved: int
    rejected: int
    median_hours: float | None
    p90_hours: float | None

    @property
    def count(self) -> int:
        return self.approved + self.rejected


@dataclass(frozen=True)
class SiteCounts:
    """A site's submissions in the window, this month, and this month's contributors."""

    site_id: int | None
    window: int
    month: int
    contributors_month: int


class StatsRepository:
    """Read-only queries for the CM's numbers: counted by the database, bounded by the
    window."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def weekly(self, scope: Scope, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        """(submitted, approved) for each week [bounds[i], bounds[i + 1]), by creation."""
        approved = Submission.status == Status.APPROVED.value
        columns: list[Any] = []
        for low, high in itertools.pairwise(bounds):
            week = and_(Submission.created_at >= low, Submission.created_at < high)
            columns += [func.count().filter(week), func.count().filter(and_(week, approved))]
        stmt = select(*columns).where(
            Submission.created_at >= bounds[0], Submission.created_at < bounds[-1]
        )
        row = (await self.s.execute(_scoped(stmt, scope))).one()
        return [(int(row[i]), int(row[i + 1])) for i in range(0, len(row), 2)]

    async def active_authors(self, scope: Scope, since: datetime) -> int:
        """People who sent something since ``since``."""
        stmt = select(func.count(func.distinct(Submission.author_id))).where(
            Submission.created_at >= since
        )
        return int(await self.s.scalar(_scoped(stmt, scope)) or 0)

    async def decisions(self, scope: Scope, since: datetime) -> Decisions:
        """Approvals and rejections decided at or after ``since``, and how long they took
        (median and 90th percentile, interpolated): PostgreSQL computes them
        (``percentile_cont``) and sends one row; SQLite, which has no percentiles, sends
        one number per decision and they are computed here in the same way."""
        hours = HoursBetween(Submission.created_at, Submission.decided_at)
        where = (Submission.status.in_(FINAL), Submission.decided_at >= since)
        approved = func.count().filter(Submission.status == Status.APPROVED.value)
        if self.s.get_bind().dialect.name == "postgresql":
            stmt = select(
                approved,
                func.count(),
                func.percentile_cont(0.5).within_group(hours),
                func.percentile_cont(0.9).within_group(hours),
            ).where(*where)
            ok, total, median, p90 = (await self.s.execute(_scoped(stmt, scope))).one()
            return Decisions(
                int(ok),
                int(total) - int(ok),
                None if median is None else float(median),
                None if p90 is None else float(p90),
            )
        rows = (
            await self.s.execute(_scoped(select(Submission.status, hours).where(*where), scope))
        ).all()
        times = [float(h) for _, h in rows]
        ok = sum(1 for status, _ in rows if status == Status.APPROVED.value)
        return Decisions(ok, len(rows) - ok, quantile(times, 0.5), quantile(times, 0.9))

    async def per_site(
        self, scope: Scope, window_start: datetime, month_start: datetime
    ) -> list[SiteCounts]:
        """Each site's submissions in the window and this month (the month lies within the
        window), and this month's contributors."""
        month = Submission.created_at >= month_start
        stmt = (
            select(
                Submission.site_id,
                func.count(),
                func.count().filter(month),
                func.count(func.distinct(Submission.author_id)).filter(month),
            )
            .where(Submission.created_at >= window_start)
            .group_by(Submission.site_id)
        )
        rows = (await self.s.execute(_scoped(stmt, scope))).all()
        return [SiteCounts(r[0], r[1], r[2], r[3]) for r in rows]

    async def ambassador_counts(
        self, workspace_id: int, site_id: int | None, since: datetime
    ) -> tuple[int, int]:
        """(current ambassadors, of whom given the role at or after ``since``)."""
        stmt = (
            select(func.count(), func.count().filter(MemberRole.granted_at >= since))
            .join(Member, Member.id == MemberRole.member_id)
            .where(Member.workspace_id == workspace_id, MemberRole.role == Role.AMBASSADOR.value)
        )
        if site_id is not None:
            stmt = stmt.where(Member.site_id == site_id)
        total, joined = (await self.s.execute(stmt)).one()
        return int(total), int(joined)

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
        """Campaigns still running on or after ``start`` (the window), oldest first; with
        ``site_id``, those whose chosen sites include it."""
        stmt = select(Campaign.id, Campaign.title, Campaign.starts_on, Campaign.ends_on).where(
            Campaign.workspace_id == workspace_id, Campaign.ends_on >= start
        )
        if site_id is not None:
            targets = select(CampaignSite.campaign_id).where(CampaignSite.site_id == site_id)
            stmt = stmt.where(Campaign.id.in_(targets))
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
        """Every submission of the workspace, oldest first, for the CSV export (with who
        appears and how many of the people named agreed)."""
        decider = aliased(Member)
        per_submission = Consent.submission_id == Submission.id
        named = select(func.count(Consent.id)).where(per_submission).scalar_subquery()
        agreed = (
            select(func.count(Consent.id))
            .where(per_submission, Consent.state == ConsentState.AGREED.value)
            .scalar_subquery()
        )
        media = (
            select(func.count(SubmissionMedia.id))
            .join(Media, Media.id == SubmissionMedia.media_id)
            .where(SubmissionMedia.submission_id == Submission.id)
        )
        is_video = Media.mime.like("video/%")
        photos = media.where(~is_video)
        videos = media.where(is_video)
        stmt = (
            select(
                Submission.id,
                Submission.created_at,
                Site.name,
                Campaign.title,
                Submission.status,
                Submission.decided_at,
                decider.display_name,
                Submission.appears,
                Submission.people_consented,
                Submission.internal_only,
                Submission.consent_withdrawn_at,
                named,
                agreed,
                photos.scalar_subquery(),
                videos.scalar_subquery(),
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
