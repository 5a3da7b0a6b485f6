"""The outbox dispatcher: sends queued rows through the platform ports.

Services write outbox rows in the transaction that caused them (``Repos.outbox.add``);
this module delivers them. A row is claimed with a short lease (renewed by a heartbeat
while its send runs), sent, and recorded as sent as soon as its send returns: sends that
finish while a record is being written are recorded together in the next transaction
(group commit), never held back for the rest of their batch. So a crash, or a database
that goes away, can only re-send the messages whose send had returned but whose record
was not yet committed: one message per send in flight. A transient failure puts a row
back with exponential backoff and jitter (never sooner than the port's retry-after); a
row that keeps failing becomes a dead letter that ``relais doctor`` lists.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.ports import PermanentFailure, PlatformPort, RetryLater, Target
from bot.ui import Message
from bot.worker import LEASE, Clock, Worker, utcnow
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

__all__ = ["Clock", "Dispatcher", "utcnow"]


class Dispatcher(Worker):
    """Delivers due outbox rows for the platforms it has ports for."""

    name = "outbox dispatcher"

    def __init__(
        self,
        db: Database,
        ports: Mapping[str, PlatformPort],
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 3600.0,
        lease: timedelta = LEASE,
        heartbeat: float | None = None,
        batch_size: int = 50,
        concurrency: int = 8,
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
        self.ports = dict(ports)
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._workspaces: dict[int, str] = {}

    async def run_once(self) -> int:
        """Claim one batch of due rows and deliver them; returns how many were claimed."""
        async with self.db.transaction() as repos:
            # Only rows for our platforms: a process without Slack settings leaves Slack rows
            # to a process that has them.
            mine = await repos.outbox.claim(
                self.worker_id,
                platforms=sorted(self.ports),
                now=self.clock(),
                lease=self.lease,
                limit=self.batch_size,
            )
        if not mine:
            return 0
        sent = _SentRecorder(self)
        async with self.holding(row.id for row in mine):
            outcomes = await asyncio.gather(
                *(self._deliver(row, sent) for row in mine), return_exceptions=True
            )
            await sent.flushed()
        for row, outcome in zip(mine, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Recording a failure failed (the database went away): the lease runs out
                # and the row is tried again.
                log.error("outbox row %s: %s", row.id, outcome)
        return len(mine)

    async def renew(self, ids: list[int], until: datetime) -> int:
        async with self.db.transaction() as repos:
            return await repos.outbox.renew(ids, self.worker_id, until=until)

    async def _workspace_external_id(self, workspace_id: int) -> str:
        if workspace_id not in self._workspaces:
            async with self.db.transaction() as repos:
                ws = await repos.workspaces.get(workspace_id)
                self._workspaces[workspace_id] = ws.external_id
        return self._workspaces[workspace_id]

    async def _deliver(self, row: OutboxMessage, sent: _SentRecorder) -> None:
        """Send one row and hand it to ``sent`` to record, or record why it was not sent."""
        async with self._limit:
            port = self.ports[row.platform]
            try:
                workspace = await self._workspace_external_id(row.workspace_id)
                message = Message.from_json(row.payload)
                if row.kind == "update":
                    ref = await self._posted_ref(row)
                    if ref is None:
                        return
                    await port.update(workspace, ref, message)
                    result: dict[str, Any] | None = ref
                else:
                    result = await port.post(workspace, Target.from_json(row.target), message)
            except RetryLater as exc:
                await self._failed(row, str(exc), exc.retry_after)
                return
            except PermanentFailure as exc:
                await self._dead(row, f"permanent: {exc}")
                return
            except Exception as exc:  # a bug or an unexpected SDK error: retry, then park
                log.exception("outbox row %s failed", row.id)
                await self._failed(row, f"{type(exc).__name__}: {exc}", None)
                return
            sent.add(row.id, result)

    async def _posted_ref(self, row: OutboxMessage) -> dict[str, Any] | None:
        """The platform reference of the post this update rewrites, or None to wait for it."""
        async with self.db.transaction() as repos:
            original = await repos.outbox.get(row.replaces_id) if row.replaces_id else None
            if original is None or original.status == "dead":
                await repos.outbox.mark_dead(
                    row.id, self.worker_id, error="the message to update was never delivered"
                )
                self.release(row.id)
                return None
            if original.status != "sent" or not original.result:
                # The card is still on its way; look again shortly without using up a try.
                await repos.outbox.mark_retry(
                    row.id,
                    self.worker_id,
                    at=self.clock() + timedelta(seconds=1),
                    error="waiting for the original message",
                    count_attempt=False,
                )
                self.release(row.id)
                return None
            return dict(original.result)

    async def _failed(self, row: OutboxMessage, error: str, retry_after: float | None) -> None:
        if row.attempts >= self.max_attempts:
            await self._dead(row, f"gave up after {row.attempts} tries: {error}")
            return
        delay = self.backoff(row.attempts, retry_after)
        log.warning("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
        async with self.db.transaction() as repos:
            await repos.outbox.mark_retry(
                row.id, self.worker_id, at=self.clock() + timedelta(seconds=delay), error=error
            )
        self.release(row.id)

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        log.error("outbox row %s is a dead letter: %s", row.id, error)
        async with self.db.transaction() as repos:
            await repos.outbox.mark_dead(row.id, self.worker_id, error=error)
        self.release(row.id)


class _SentRecorder:
    """Records delivered rows as sent, as soon as possible, in as few transactions as that
    allows: while one transaction is being written, rows whose send returns meanwhile
    queue up and go in the next one (group commit). Fast sends share a transaction (the
    batching gain), slow sends (a real platform) are recorded one by one, and no delivered
    row waits for the rest of its batch."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._queue: list[tuple[int, dict[str, Any] | None, datetime]] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, row_id: int, result: dict[str, Any] | None) -> None:
        """``row_id`` was delivered (the platform answered ``result``)."""
        self._queue.append((row_id, result, self.dispatcher.clock()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def flushed(self) -> None:
        """Wait until every delivered row is recorded."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    async def _write(self) -> None:
        d = self.dispatcher
        while self._queue:
            # In id order, so two transactions lock shared rows in the same order.
            batch = sorted(self._queue, key=lambda item: item[0])
            self._queue = []

            async def record(
                batch: list[tuple[int, dict[str, Any] | None, datetime]] = batch,
            ) -> None:
                async with d.db.transaction() as repos:
                    for row_id, result, at in batch:
                        await repos.outbox.mark_sent(row_id, d.worker_id, result=result, now=at)

            # The messages are out: wait for the database rather than let the lease expire
            # and send them again.
            await d.persist(f"{len(batch)} sent row(s)", record)
            for row_id, _, _ in batch:
                d.release(row_id)
