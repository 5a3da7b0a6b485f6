"""Persisted jobs: heavy work accepted before the ack and done after it.

An adapter validates a request, writes a ``jobs`` row (with an idempotency key) in a
transaction, acknowledges, and the ``JobRunner`` does the slow part: downloading and
cleaning photos, then recording the submission. A job is claimed with a short lease that
a heartbeat renews while it runs; a crash mid-way stops the heartbeat, the lease runs out
within seconds and another runner (or the restarted process) picks the job up again, so
the work resumes instead of being lost. Handlers must be idempotent (submissions carry a
``client_key``, so running one twice records it once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.ports import PermanentFailure, RetryLater
from bot.worker import LEASE, Clock, Worker, utcnow
from storage.db import Database
from storage.models import Job

log = logging.getLogger(__name__)


class JobHandler(Protocol):
    """What runs one kind of job."""

    async def run(self, payload: dict[str, Any]) -> None:
        """Do the work. Raise ``RetryLater`` for a transient failure (the job is retried)
        or ``PermanentFailure`` when retrying cannot help."""
        ...

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        """The job will not be retried again: tell the person who is waiting for it."""
        ...


class JobRunner(Worker):
    """Claims due jobs of the kinds it has handlers for and runs them."""

    name = "job runner"

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, JobHandler],
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        max_attempts: int = 6,
        base_delay: float = 5.0,
        max_delay: float = 900.0,
        lease: timedelta = LEASE,
        heartbeat: float | None = None,
        batch_size: int = 10,
        concurrency: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            base_delay=base_delay,
            max_delay=max_delay,
            lease=lease,
            heartbeat=heartbeat,
            rng=rng,
        )
        self.db = db
        self.handlers = dict(handlers)
        self.worker_id = worker_id or f"jobs-{uuid.uuid4().hex[:12]}"
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)

    async def claim(self) -> list[Job]:
        """Claim up to ``batch_size`` due jobs of the kinds this runner has handlers for."""
        if not self.handlers:
            return []
        async with self.db.transaction() as repos:
            return await repos.jobs.claim(
                self.worker_id,
                kinds=sorted(self.handlers),
                now=self.clock(),
                lease=self.lease,
                limit=self.batch_size,
                exclude=sorted(self._held),
            )

    async def work(self, batch: list[Job]) -> None:
        """Run a claimed batch of jobs, keeping their leases alive meanwhile."""
        async with self.holding(job.id for job in batch):
            outcomes = await asyncio.gather(
                *(self._run(job) for job in batch), return_exceptions=True
            )
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Recording a failure failed (the database went away): the lease runs out
                # and the job is tried again.
                log.error("job %s (%s): %s", job.id, job.kind, outcome)

    async def renew(self, ids: list[int], until: datetime) -> int:
        async with self.db.transaction() as repos:
            return await repos.jobs.renew(ids, self.worker_id, until=until)

    async def give_back(self, ids: list[int]) -> int:
        async with self.db.transaction() as repos:
            return await repos.jobs.give_back(ids, self.worker_id, now=self.clock())

    async def _run(self, job: Job) -> None:
        async with self._limit:
            handler = self.handlers[job.kind]
            try:
                await handler.run(dict(job.payload))
            except RetryLater as exc:
                await self._failed(job, handler, str(exc), exc.retry_after)
                return
            except PermanentFailure as exc:
                await self._dead(job, handler, f"permanent: {exc}")
                return
            except Exception as exc:  # a bug or an unexpected error: retry, then give up
                log.exception("job %s (%s) failed", job.id, job.kind)
                await self._failed(job, handler, f"{type(exc).__name__}: {exc}", None)
                return
            done_at = self.clock()

            async def record() -> None:
                async with self.db.transaction() as repos:
                    await repos.jobs.mark_done(job.id, self.worker_id, now=done_at)

            # The work is done (and the person may have been told): wait for the database
            # rather than let the lease run out and do it again.
            await self.persist(f"job {job.id} done", record)
            self.release(job.id)

    async def _failed(
        self, job: Job, handler: JobHandler, error: str, retry_after: float | None
    ) -> None:
        # A rate limit (the platform said when: Retry-After) is waited out as told and does
        # not count towards giving up: under a platform's sustained 429s a person's photos
        # are late, never lost. Other failures back off and count.
        limited = retry_after is not None
        if not limited and job.attempts >= self.max_attempts:
            await self._dead(job, handler, f"gave up after {job.attempts} tries: {error}")
            return
        delay = retry_after if retry_after is not None else self.backoff(job.attempts, None)
        log.warning("job %s (%s): %s; retry in %.1fs", job.id, job.kind, error, delay)
        async with self.db.transaction() as repos:
            await repos.jobs.mark_retry(
                job.id,
                self.worker_id,
                at=self.clock() + timedelta(seconds=delay),
                error=error,
                counted=not limited,
            )
        self.release(job.id)

    async def _dead(self, job: Job, handler: JobHandler, error: str) -> None:
        log.error("job %s (%s) failed for good: %s", job.id, job.kind, error)
        try:
            await handler.gave_up(dict(job.payload), error)
        except Exception:
            log.exception("job %s: telling the person that it failed also failed", job.id)
        async with self.db.transaction() as repos:
            await repos.jobs.mark_dead(job.id, self.worker_id, error=error, now=self.clock())
        self.release(job.id)
