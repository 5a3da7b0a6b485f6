"""The jobs table: work accepted before the ack and done after it, resumed after a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import JobStatus
from storage.models import Job
from storage.repositories.leases import claim_due, finish, give_back, renew


class JobRepository:
    """Rows of ``jobs``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, *, kind: str, key: str, payload: dict[str, Any], now: datetime) -> bool:
        """Queue a job unless one with ``key`` exists; True when this call added it."""
        existing = await self.s.scalar(select(Job.id).where(Job.key == key))
        if existing is not None:
            return False
        try:
            # A savepoint: when a concurrent request inserted the same key first (a double
            # submit on PostgreSQL), only this insert is undone, not the caller's transaction.
            async with self.s.begin_nested():
                self.s.add(
                    Job(
                        kind=kind,
                        key=key,
                        payload=payload,
                        status=JobStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def claim(
        self,
        worker: str,
        *,
        kinds: list[str],
        now: datetime,
        lease: timedelta,
        limit: int,
        exclude: list[int] | None = None,
    ) -> list[Job]:
        """Take up to ``limit`` due jobs of ``kinds`` for ``worker``."""
        return await claim_due(
            self.s,
            Job,
            worker=worker,
            now=now,
            lease=lease,
            limit=limit,
            exclude=exclude,
            pending=JobStatus.PENDING.value,
            running=JobStatus.RUNNING.value,
            where=(Job.kind.in_(kinds),),
        )

    async def renew(self, ids: list[int], worker: str, *, until: datetime) -> int:
        """Keep ``worker``'s lease on the jobs it is still running (see ``leases.renew``)."""
        return await renew(self.s, Job, ids, worker, JobStatus.RUNNING.value, until=until)

    async def give_back(self, ids: list[int], worker: str, *, now: datetime) -> int:
        """Hand back jobs ``worker`` is abandoning unfinished (see ``leases.give_back``)."""
        return await give_back(
            self.s,
            Job,
            ids,
            worker,
            running=JobStatus.RUNNING.value,
            pending=JobStatus.PENDING.value,
            now=now,
        )

    async def _finish(self, job_id: int, worker: str, **values: Any) -> bool:
        return await finish(self.s, Job, job_id, worker, JobStatus.RUNNING.value, **values)

    async def mark_done(self, job_id: int, worker: str, *, now: datetime) -> bool:
        """The job finished (successfully, or with an answer already sent to the person)."""
        return await self._finish(
            job_id, worker, status=JobStatus.DONE.value, finished_at=now, claimed_until=None
        )

    async def mark_retry(
        self, job_id: int, worker: str, *, at: datetime, error: str, counted: bool = True
    ) -> bool:
        """Try again at ``at``; with ``counted=False`` this try does not count towards
        giving up (the platform only asked to wait: a rate limit)."""
        extra: dict[str, Any] = {} if counted else {"attempts": Job.attempts - 1}
        return await self._finish(
            job_id,
            worker,
            status=JobStatus.PENDING.value,
            next_attempt_at=at,
            claimed_until=None,
            last_error=error[:2000],
            **extra,
        )

    async def mark_dead(self, job_id: int, worker: str, *, error: str, now: datetime) -> bool:
        """Give up; ``relais doctor`` lists it."""
        return await self._finish(
            job_id,
            worker,
            status=JobStatus.DEAD.value,
            finished_at=now,
            claimed_until=None,
            last_error=error[:2000],
        )

    async def unfinished(self, *, limit: int = 50) -> list[Job]:
        """Pending, running and dead jobs, oldest first (for ``relais doctor``)."""
        rows = await self.s.scalars(
            select(Job).where(Job.status != JobStatus.DONE.value).order_by(Job.id).limit(limit)
        )
        return list(rows)

    async def backlog(self) -> dict[str, int]:
        """Jobs not done, per status (pending, running, dead)."""
        rows = await self.s.execute(
            select(Job.status, func.count())
            .where(
                Job.status.in_(
                    (JobStatus.PENDING.value, JobStatus.RUNNING.value, JobStatus.DEAD.value)
                )
            )
            .group_by(Job.status)
        )
        return {status: int(n) for status, n in rows.all()}

    async def counts(self) -> dict[str, int]:
        """Number of jobs per status."""
        rows = await self.s.execute(select(Job.status, func.count()).group_by(Job.status))
        return {status: int(n) for status, n in rows.all()}
