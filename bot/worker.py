"""The loop shared by the outbox dispatcher and the job runner.

A worker claims due rows in batches with a short lease, works on them, and sleeps until
it is woken (a commit queued something) or its poll interval passes (another replica
queued something). While the work runs, a heartbeat renews the lease of every row still
in hand, so a long send or download keeps its rows, and a worker that dies (``kill -9``,
a lost machine) lets them go within one lease: another worker, or the restarted process,
takes them over within seconds. Failures are retried with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.db import unreachable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# How long a claim lasts without a heartbeat, and how often the heartbeat renews it. A
# dead worker's rows are due again at most LEASE after its last heartbeat, so claimed work
# is resumed within LEASE plus one poll (DESIGN: within 15 s).
LEASE = timedelta(seconds=10)
HEARTBEAT = LEASE.total_seconds() / 3


def utcnow() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class Worker(ABC):
    """Base of the lease-claiming background loops."""

    name = "worker"

    def __init__(
        self,
        *,
        clock: Clock,
        base_delay: float,
        max_delay: float,
        lease: timedelta = LEASE,
        heartbeat: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 3
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        # Ids of the rows this worker has claimed and not yet recorded an outcome for.
        self._held: set[int] = set()
        self._holders = 0
        self._heartbeat: asyncio.Task[None] | None = None

    @abstractmethod
    async def claim(self) -> list[Any]:
        """Claim a batch of due rows for this worker (empty when nothing is due)."""

    @abstractmethod
    async def work(self, batch: list[Any]) -> None:
        """Work on a claimed batch until every row's outcome is recorded."""

    async def run_once(self) -> int:
        """Claim one batch and work on it; returns how many rows were claimed."""
        batch = await self.claim()
        if batch:
            await self.work(batch)
        return len(batch)

    @abstractmethod
    async def renew(self, ids: list[int], until: datetime) -> int:
        """Extend this worker's lease on ``ids``; returns how many it still held."""

    @abstractmethod
    async def give_back(self, ids: list[int]) -> int:
        """Hand back ``ids``, claimed by this worker and abandoned unfinished (it is
        stopping): due again at once for any worker. Returns how many were given back."""

    def in_hand(self) -> list[int]:
        """The rows claimed and not yet finished (what ``give_back`` takes on shutdown)."""
        return sorted(self._held)

    def wake(self) -> None:
        """Look at the table now instead of at the next poll."""
        self._wake.set()

    def backoff(
        self, attempts: int, retry_after: float | None, *, cap: float | None = None
    ) -> float:
        """Seconds before the next try: exponential with jitter (between half and all of
        ``base_delay * 2^(attempts-1)``, capped at ``cap`` or ``max_delay``), never sooner
        than retry-after."""
        limit = self.max_delay if cap is None else cap
        ceiling = min(limit, self.base_delay * 2 ** min(max(0, attempts - 1), 60))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after or 0.0)

    def release(self, row_id: int) -> None:
        """The outcome of ``row_id`` is recorded: the heartbeat stops renewing it."""
        self._held.discard(row_id)

    @contextlib.asynccontextmanager
    async def holding(self, ids: Iterable[int]) -> AsyncIterator[None]:
        """Keep the lease on ``ids`` alive while the block runs (until each is released).

        One heartbeat per worker renews every row in hand, whichever batch it came from.
        """
        ids = list(ids)
        self._held.update(ids)
        self._holders += 1
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat())
        try:
            yield
        finally:
            self._held.difference_update(ids)
            self._holders -= 1
            if self._holders == 0 and self._heartbeat is not None:
                beat, self._heartbeat = self._heartbeat, None
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            ids = sorted(self._held)
            if not ids:
                continue
            try:
                held = await self.renew(ids, self.clock() + self.lease)
            except Exception as exc:  # the database is unreachable: try at the next beat
                log.warning("%s: could not renew leases: %s", self.name, exc)
                continue
            still = self._held.intersection(ids)
            if held < len(still):
                log.warning(
                    "%s: lost the lease on %d row(s) (another worker may take them over)",
                    self.name,
                    len(still) - held,
                )

    async def persist(self, what: str, write: Callable[[], Awaitable[object]]) -> None:
        """Run ``write`` (a transaction recording an outcome) until it succeeds.

        Used once the platform has acted: giving up would let the lease run out and the
        work be done twice, so a database that is down is waited for instead.
        """
        delay = 0.05
        while True:
            try:
                await write()
                return
            except Exception as exc:
                log.warning("%s: recording %s failed (%s); retrying", self.name, what, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def drain(self, *, max_batches: int = 100) -> int:
        """Work through everything due now (used by the console and by tests)."""
        total = 0
        for _ in range(max_batches):
            done = await self.run_once()
            total += done
            if done == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, *, poll: float = 1.0, rounds: int = 4) -> None:
        """Work until ``stop`` is set, polling every ``poll`` seconds or when woken.

        Up to ``rounds`` claimed batches are worked on at once, so one slow send or job
        (a platform that takes its time to answer) does not hold back what is queued after
        it. On ``stop``, the batches in hand are finished.
        """
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                if len(running) < rounds:
                    self._wake.clear()
                    try:
                        batch = await self.claim()
                    except Exception as exc:
                        _failed(f"{self.name} round failed; retrying", exc)
                        batch = []
                    if batch:
                        task = asyncio.create_task(self._round(batch))
                        running.add(task)
                        task.add_done_callback(running.discard)
                        continue
                    waiters: list[asyncio.Future[Any]] = [
                        asyncio.ensure_future(stop.wait()),
                        asyncio.ensure_future(self._wake.wait()),
                    ]
                else:  # every round is busy: wait for one to finish
                    waiters = [asyncio.ensure_future(stop.wait()), *running]
                await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    if waiter not in running:
                        waiter.cancel()
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _round(self, batch: list[Any]) -> None:
        try:
            await self.work(batch)
        except Exception as exc:
            _failed(f"{self.name} round failed; its rows are retried when their lease ends", exc)


def _failed(what: str, error: Exception) -> None:
    """A failed round in the log: one line when the database cannot be reached (an outage
    repeats it every poll: a traceback each time would bury the log), else a traceback."""
    if unreachable(error):
        first = str(error).strip().splitlines()[:1]
        log.warning("%s (database unavailable: %s: %s)", what, type(error).__name__, *first or [""])
    else:
        log.exception(what)
