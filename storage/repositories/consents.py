"""Rows of ``consents``: the people named in a submission's photos and their answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import ConsentLine, ConsentState, Status
from storage.models import Consent, Member, Submission
from storage.repositories.dml import rowcount


class ConsentRepository:
    """Who was asked, what they answered, and the reminders sent."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def ask(self, submission_id: int, member_id: int, *, now: datetime) -> tuple[int, bool]:
        """The request to ``member_id`` about ``submission_id``: (its id, True when new).
        Asking again someone already asked keeps their answer."""
        found = await self.s.scalar(
            select(Consent.id).where(
                Consent.submission_id == submission_id, Consent.member_id == member_id
            )
        )
        if found is not None:
            return found, False
        row = Consent(
            submission_id=submission_id,
            member_id=member_id,
            state=ConsentState.PENDING.value,
            asked_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return row.id, True

    async def keep_only(self, submission_id: int, member_ids: Collection[int]) -> None:
        """Drop the requests of people no longer named (a resubmission changed the list)."""
        stmt = delete(Consent).where(Consent.submission_id == submission_id)
        if member_ids:
            stmt = stmt.where(Consent.member_id.not_in(list(member_ids)))
        await self.s.execute(stmt)

    async def get(self, consent_id: int) -> Consent | None:
        """One request, read afresh."""
        return await self.s.get(Consent, consent_id, populate_existing=True)

    async def lines(self, submission_id: int) -> tuple[ConsentLine, ...]:
        """The people named in ``submission_id`` and their answers, in the order asked."""
        rows = await self.s.execute(
            select(
                Consent.id,
                Consent.member_id,
                Member.display_name,
                Consent.state,
                Member.external_id,
            )
            .join(Member, Member.id == Consent.member_id)
            .where(Consent.submission_id == submission_id)
            .order_by(Consent.id)
        )
        return tuple(
            ConsentLine(i, m, name, ConsentState(state), ext) for i, m, name, state, ext in rows
        )

    async def answer(
        self,
        consent_id: int,
        *,
        expected: Sequence[ConsentState],
        new: ConsentState,
        now: datetime,
    ) -> bool:
        """Move the answer from one of ``expected`` to ``new``; False when it was not in
        one of them any more (a double click, or another replica first)."""
        result = await self.s.execute(
            update(Consent)
            .where(Consent.id == consent_id, Consent.state.in_([e.value for e in expected]))
            .values(state=new.value, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def of_member(self, member_id: int) -> list[Consent]:
        """Every request made to ``member_id`` (the photos they appear in), newest first."""
        rows = await self.s.scalars(
            select(Consent).where(Consent.member_id == member_id).order_by(Consent.id.desc())
        )
        return list(rows)

    async def withdraw_all(self, member_id: int, *, now: datetime) -> list[int]:
        """Every pending or agreed answer of ``member_id`` taken back (``forget``); returns
        the submissions concerned. A decline stays a decline."""
        rows = await self.s.execute(
            select(Consent.id, Consent.submission_id).where(
                Consent.member_id == member_id,
                Consent.state.in_([ConsentState.PENDING.value, ConsentState.AGREED.value]),
            )
        )
        found = rows.all()
        if found:
            await self.s.execute(
                update(Consent)
                .where(Consent.id.in_([i for i, _ in found]))
                .values(state=ConsentState.WITHDRAWN.value, answered_at=now)
                .execution_options(synchronize_session=False)
            )
        return sorted({s for _, s in found})

    async def due_reminders(
        self, workspace_id: int, asked_before: datetime, *, limit: int = 500
    ) -> list[tuple[int, int, int]]:
        """(consent id, member id, submission id) of requests unanswered since before
        ``asked_before``, never reminded, about a submission still pending review or
        approved; oldest first."""
        rows = await self.s.execute(
            select(Consent.id, Consent.member_id, Consent.submission_id)
            .join(Submission, Submission.id == Consent.submission_id)
            .where(
                Submission.workspace_id == workspace_id,
                Submission.status.in_(
                    [Status.PENDING.value, Status.ESCALATED.value, Status.APPROVED.value]
                ),
                Consent.state == ConsentState.PENDING.value,
                Consent.reminded_at.is_(None),
                Consent.asked_at <= asked_before,
            )
            .order_by(Consent.asked_at, Consent.id)
            .limit(limit)
        )
        return [(int(i), int(m), int(s)) for i, m, s in rows.all()]

    async def mark_reminded(self, consent_id: int, *, now: datetime) -> bool:
        """Record the one reminder; False when it was already recorded."""
        result = await self.s.execute(
            update(Consent)
            .where(Consent.id == consent_id, Consent.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1
