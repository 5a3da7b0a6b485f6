"""The outbox dispatcher: sends queued rows through the platform ports.

Services write outbox rows in the transaction that caused them (``Repos.outbox.add``);
this module delivers them. A row is claimed with a lease, sent, then marked sent; a
transient failure puts it back with exponential backoff and jitter (never sooner than
the port's retry-after); a row that keeps failing becomes a dead letter that
``relais doctor`` lists. A crash between commit and send only delays a message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.ports import PermanentFailure, PlatformPort, RetryLater, Target
from bot.ui import Message
from bot.worker import Clock, Worker, utcnow
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
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 50,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, base_delay=base_delay, max_delay=max_delay, rng=rng)
        self.db = db
        self.ports = dict(ports)
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.max_attempts = max_attempts
        self.lease = lease
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
        outcomes = await asyncio.gather(*(self._deliver(row) for row in mine))
        delivered = [outcome for outcome in outcomes if outcome is not None]
        if delivered:
            # One transaction for the whole batch: per-row commits cost more than the sends.
            async with self.db.transaction() as repos:
                for row_id, result in delivered:
                    await repos.outbox.mark_sent(
                        row_id, self.worker_id, result=result, now=self.clock()
                    )
        return len(mine)

    async def _workspace_external_id(self, workspace_id: int) -> str:
        if workspace_id not in self._workspaces:
            async with self.db.transaction() as repos:
                ws = await repos.workspaces.get(workspace_id)
                self._workspaces[workspace_id] = ws.external_id
        return self._workspaces[workspace_id]

    async def _deliver(self, row: OutboxMessage) -> tuple[int, dict[str, Any] | None] | None:
        """Send one row; the (id, platform result) to mark sent, or None if it was not."""
        async with self._limit:
            port = self.ports[row.platform]
            try:
                workspace = await self._workspace_external_id(row.workspace_id)
                message = Message.from_json(row.payload)
                if row.kind == "update":
                    ref = await self._posted_ref(row)
                    if ref is None:
                        return None
                    await port.update(workspace, ref, message)
                    result: dict[str, Any] | None = ref
                else:
                    result = await port.post(workspace, Target.from_json(row.target), message)
            except RetryLater as exc:
                await self._failed(row, str(exc), exc.retry_after)
                return None
            except PermanentFailure as exc:
                await self._dead(row, f"permanent: {exc}")
                return None
            except Exception as exc:  # a bug or an unexpected SDK error: retry, then park
                log.exception("outbox row %s failed", row.id)
                await self._failed(row, f"{type(exc).__name__}: {exc}", None)
                return None
            return row.id, result

    async def _posted_ref(self, row: OutboxMessage) -> dict[str, Any] | None:
        """The platform reference of the post this update rewrites, or None to wait for it."""
        async with self.db.transaction() as repos:
            original = await repos.outbox.get(row.replaces_id) if row.replaces_id else None
            if original is None or original.status == "dead":
                await repos.outbox.mark_dead(
                    row.id, self.worker_id, error="the message to update was never delivered"
                )
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

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        log.error("outbox row %s is a dead letter: %s", row.id, error)
        async with self.db.transaction() as repos:
            await repos.outbox.mark_dead(row.id, self.worker_id, error=error)
