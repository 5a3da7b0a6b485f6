"""Rows of ``thanks``: a CM's thank-you, at most one per submission."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Thanks


class ThanksRepository:
    """Rows of ``thanks``: at most one per submission."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, submission_id: int) -> Thanks | None:
        """The thank-you sent for this submission, if any."""
        query = select(Thanks).where(Thanks.submission_id == submission_id)
        return (await self.s.execute(query)).scalar_one_or_none()

    async def add(self, submission_id: int, *, by_id: int, note: str, now: datetime) -> bool:
        """Record the thank-you; False when the submission was thanked already (the unique
        key: a concurrent click that committed first makes this insert fail in its
        savepoint, the transaction goes on)."""
        try:
            async with self.s.begin_nested():
                self.s.add(
                    Thanks(
                        submission_id=submission_id,
                        by_id=by_id,
                        note=note,
                        at=now,
                    )
                )
        except IntegrityError:
            return False
        return True
