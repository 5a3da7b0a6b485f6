"""The loop shared by the outbox dispatcher and the job runner.

A worker claims due rows in batches with a lease, works on them, and sleeps until it
is woken (a commit queued something) or its poll interval passes (another replica
queued something). Failures are retried with exponential backoff and full jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()

    @abstractmethod
    async def run_once(self) -> int:
        """Claim one batch and work on it; returns how many rows were claimed."""

    def wake(self) -> None:
        """Look at the table now instead of at the next poll."""
        self._wake.set()

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next try: exponential with full jitter, floored by retry-after."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after or 0.0)

    async def drain(self, *, max_batches: int = 100) -> int:
        """Work through everything due now (used by the console and by tests)."""
        total = 0
        for _ in range(max_batches):
            done = await self.run_once()
            total += done
            if done == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, *, poll: float = 1.0) -> None:
        """Work until ``stop`` is set, polling every ``poll`` seconds or when woken."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("%s round failed; retrying", self.name)
                claimed = 0
            if claimed:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
