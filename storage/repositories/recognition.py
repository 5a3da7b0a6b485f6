"""Badges and the facts they are awarded from (a member's approved submissions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Status
from storage.models import Badge, Member, Submission
from storage.repositories.dml import insert_once


@dataclass(frozen=True)
class ApprovedFacts:
    """What a member's approved submissions add up to."""

    approved: int
    sites: int
    in_campaigns: int


class BadgeRepository:
    """Rows of ``badges``: one per member and badge."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def lock_member(self, member_id: int) -> None:
        """Hold the member's row until the transaction ends (``FOR NO KEY UPDATE`` on
        PostgreSQL, which rows pointing at the member do not wait for; SQLite's write lock
        already serialises), so two approvals of the same author's submissions count one
        after the other: each sees the other's once committed."""
        await self.s.execute(
            select(Member.id).where(Member.id == member_id).with_for_update(key_share=True)
        )

    async def approved_facts(self, member_id: int) -> ApprovedFacts:
        """Approved submissions of the member: how many, from how many different sites
        (the submissions' own sites), and how many sent to a campaign."""
        row = (
            await self.s.execute(
                select(
                    func.count(),
                    func.count(distinct(Submission.site_id)),
                    func.count(Submission.campaign_id),
                ).where(
                    Submission.author_id == member_id,
                    Submission.status == Status.APPROVED.value,
                )
            )
        ).one()
        return ApprovedFacts(approved=int(row[0]), sites=int(row[1]), in_campaigns=int(row[2]))

    async def award(
        self, member_id: int, badge: str, *, submission_id: int | None, now: datetime
    ) -> bool:
        """Award ``badge`` unless the member holds it; True when it is new."""
        return await insert_once(
            self.s,
            Badge,
            {
                "member_id": member_id,
                "badge": badge,
                "awarded_at": now,
                "submission_id": submission_id,
            },
            ("member_id", "badge"),
        )

    async def of(self, member_id: int) -> list[str]:
        """The member's badges, in the order they were earned."""
        rows = await self.s.scalars(
            select(Badge.badge).where(Badge.member_id == member_id).order_by(Badge.id)
        )
        return list(rows)
