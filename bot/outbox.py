"""The outbox dispatcher: sends queued rows through the platform ports.

Services write outbox rows in the transaction that caused them (``Repos.outbox.add``);
this module delivers them. A row is claimed with a short lease (renewed by a heartbeat
while its send runs), sent, and recorded as sent as soon as its send returns: sends that
finish while a record is being written are recorded together in the next transaction
(group commit), never held back for the rest of their batch. So a crash, or a database
that goes away, can only re-send the messages whose send had returned but whose record
was not yet committed: one message per send in flight.

A transient failure puts a row back with exponential backoff and jitter (never sooner than
the port's retry-after). What a person is owed (DMs, channel posts such as review cards,
and card updates) keeps trying for a day, at most ``KEEP_TRYING_MAX_DELAY`` apart; only
replies to a click (ephemeral) and home views, which are stale by then, stop after
``max_attempts`` tries. A row that has failed ``max_attempts`` times or waited longer than
``STUCK_AFTER`` is "stuck": ``relais doctor`` and ``/readyz`` count it, and when it is a
review card the CMs are told by DM. What cannot be sent becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot import metrics, notify
from bot.i18n import translator
from bot.ports import PermanentFailure, PlatformPort, RetryLater, Target
from bot.ui import Context, Message, Paragraph
from bot.worker import LEASE, Clock, Worker, utcnow
from domain import Role
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

__all__ = ["Clock", "Dispatcher", "keeps_trying", "stuck_count", "utcnow"]

# How long a message a person is owed keeps being retried, and the longest wait between
# two tries (the backoff grows to it, with jitter).
KEEP_TRYING = timedelta(hours=24)
KEEP_TRYING_MAX_DELAY = 900.0
# A message still not sent this long after it was queued is stuck (as is one that failed
# max_attempts times).
STUCK_AFTER = timedelta(minutes=15)


def keeps_trying(row: OutboxMessage) -> bool:
    """True for messages that matter for hours: DMs, channel posts (review cards, the
    digest) and card updates; False for ephemeral replies and home views."""
    return row.kind == "update" or (row.target or {}).get("kind") in ("user", "channel")


async def stuck_count(db: Database, *, now: datetime, max_attempts: int) -> int:
    """How many outbox rows are stuck (see the module docstring), for health checks."""
    async with db.read() as r:
        return await r.outbox.count_stuck(attempts=max_attempts, queued_before=now - STUCK_AFTER)


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
        keep_trying: timedelta = KEEP_TRYING,
        keep_trying_max_delay: float = KEEP_TRYING_MAX_DELAY,
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
        self.keep_trying = keep_trying
        self.keep_trying_max_delay = keep_trying_max_delay
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._workspaces: dict[int, str] = {}

    async def claim(self) -> list[OutboxMessage]:
        """Claim up to ``batch_size`` due rows of the platforms this dispatcher sends to."""
        async with self.db.transaction() as repos:
            # Only rows for our platforms: a process without Slack settings leaves Slack rows
            # to a process that has them.
            return await repos.outbox.claim(
                self.worker_id,
                platforms=sorted(self.ports),
                now=self.clock(),
                lease=self.lease,
                limit=self.batch_size,
                exclude=sorted(self._held),
            )

    async def work(self, batch: list[OutboxMessage]) -> None:
        """Deliver a claimed batch, recording each row as soon as its send returns."""
        sent = _SentRecorder(self)
        async with self.holding(row.id for row in batch):
            await self._load_workspaces({row.workspace_id for row in batch})
            outcomes = await asyncio.gather(
                *(self._deliver(row, sent) for row in batch), return_exceptions=True
            )
            await sent.flushed()
        for row, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Recording a failure failed (the database went away): the lease runs out
                # and the row is tried again.
                log.error("outbox row %s: %s", row.id, outcome)

    async def renew(self, ids: list[int], until: datetime) -> int:
        async with self.db.transaction() as repos:
            return await repos.outbox.renew(ids, self.worker_id, until=until)

    async def _load_workspaces(self, ids: set[int]) -> None:
        """Look up the batch's workspaces once, before its sends start (in claim order)."""
        missing = sorted(ids - self._workspaces.keys())
        if missing:
            async with self.db.read() as repos:
                for workspace_id in missing:
                    ws = await repos.workspaces.get(workspace_id)
                    self._workspaces[workspace_id] = ws.external_id

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
                reason = "rate_limited" if exc.retry_after is not None else "transient"
                metrics.SEND_FAILURES.labels(row.platform, reason).inc()
                await self._failed(row, str(exc), exc.retry_after)
                return
            except PermanentFailure as exc:
                metrics.SEND_FAILURES.labels(row.platform, "permanent").inc()
                await self._dead(row, f"permanent: {exc}")
                return
            except Exception as exc:  # a bug or an unexpected SDK error: retry, then park
                metrics.SEND_FAILURES.labels(row.platform, "error").inc()
                log.exception("outbox row %s failed", row.id)
                await self._failed(row, f"{type(exc).__name__}: {exc}", None)
                return
            metrics.SENDS.labels(row.platform, row.kind).inc()
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
        if keeps_trying(row):
            if self.clock() - row.created_at >= self.keep_trying:
                hours = self.keep_trying.total_seconds() / 3600
                await self._dead(row, f"gave up after {hours:g} h, {row.attempts} tries: {error}")
                return
            delay = self.backoff(row.attempts, retry_after, cap=self.keep_trying_max_delay)
        elif row.attempts >= self.max_attempts:
            await self._dead(row, f"gave up after {row.attempts} tries: {error}")
            return
        else:
            delay = self.backoff(row.attempts, retry_after)
        log.warning("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
        async with self.db.transaction() as repos:
            await repos.outbox.mark_retry(
                row.id, self.worker_id, at=self.clock() + timedelta(seconds=delay), error=error
            )
        self.release(row.id)
        if row.attempts == self.max_attempts:
            log.error("outbox row %s is stuck after %d tries: %s", row.id, row.attempts, error)
            await self._tell_cms(row, error)

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        log.error("outbox row %s is a dead letter: %s", row.id, error)
        metrics.DEAD_LETTERS.labels(row.platform).inc()
        async with self.db.transaction() as repos:
            await repos.outbox.mark_dead(row.id, self.worker_id, error=error)
        self.release(row.id)
        await self._tell_cms(row, error)

    async def _tell_cms(self, row: OutboxMessage, error: str) -> None:
        """A review card is stuck or dead: tell each CM by DM (at most once an hour each),
        since the author was told it is waiting for review."""
        parts = (row.dedupe_key or "").split(":")
        if row.kind != "post" or parts[0] != "card" or len(parts) < 2:
            return
        hour = self.clock().strftime("%Y-%m-%dT%H")
        hours = round(self.keep_trying.total_seconds() / 3600)
        try:
            async with self.db.transaction() as r:
                for cm in await r.members.with_role(row.workspace_id, Role.CM):
                    key = f"stuck:{row.workspace_id}:{cm.id}:{hour}"
                    if await r.outbox.has_dedupe_key(key):
                        continue
                    t = translator(cm.locale)
                    text = t(
                        "outbox.card_stuck",
                        id=parts[1],
                        tries=row.attempts,
                        error=error[:200],
                        hours=hours,
                    )
                    message = Message(text, (Paragraph(text), Context(f"outbox #{row.id}")))
                    await notify.dm(r, cm, message, now=self.clock(), dedupe_key=key)
        except Exception:  # a concurrent notice, or the database: the doctor still shows it
            log.exception("outbox row %s: telling the CMs that it is stuck failed", row.id)
            return
        self.wake()


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
