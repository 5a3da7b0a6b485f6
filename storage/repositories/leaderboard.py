"""The leaderboard's read of the points ledger.

The leaderboard sums ``points_ledger`` per member of one workspace (the ledger has no
workspace column: it is joined through ``members``, so another workspace's rows never
count), over a period (``at >= since``) and optionally the members of one site. The
database groups, so one row per contributor comes back, whatever the reason of the
credits (approvals, and any other reason the ledger learns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, PointsEntry


@dataclass(frozen=True)
class Contribution:
    """One member's credits over a period."""

    member_id: int
    name: str
    hidden: bool
    points: int
    # Approved photos: the ledger's ``approved`` rows.
    photos: int
    # When their last credit of the period was written: who reached a total first.
    reached_at: datetime


class LeaderboardRepository:
    """Read-only: contributions per member."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def contributions(
        self, workspace_id: int, *, since: datetime | None, site_id: int | None
    ) -> list[Contribution]:
        """Every member of the workspace (of ``site_id``, when given) with a positive
        total since ``since`` (None: all time), best first: more points, then who reached
        their total first, then who joined first (the member id)."""
        points = func.sum(PointsEntry.points)
        reached = func.max(PointsEntry.at)
        query = (
            select(
                Member.id,
                Member.display_name,
                Member.leaderboard_hidden,
                points,
                func.sum(case((PointsEntry.reason == "approved", 1), else_=0)),
                reached,
            )
            .join(PointsEntry, PointsEntry.member_id == Member.id)
            .where(Member.workspace_id == workspace_id)
            .group_by(Member.id, Member.display_name, Member.leaderboard_hidden)
            .having(points > 0)
            .order_by(points.desc(), reached.asc(), Member.id.asc())
        )
        if since is not None:
            query = query.where(PointsEntry.at >= since)
        if site_id is not None:
            query = query.where(Member.site_id == site_id)
        rows = (await self.s.execute(query)).all()
        return [
            Contribution(
                member_id=row[0],
                name=row[1],
                hidden=bool(row[2]),
                points=int(row[3]),
                photos=int(row[4] or 0),
                reached_at=row[5],
            )
            for row in rows
        ]
