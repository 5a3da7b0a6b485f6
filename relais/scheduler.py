"""The clock of ``relais serve``: APScheduler triggers the scheduled rounds.

APScheduler's job store lives in memory in each replica and only *triggers* ticks; the
database decides what is due and claims each round (``bot/services/rounds.py``), so
every replica may tick and each round is still sent once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.core import Core
from storage.db import unreachable

log = logging.getLogger(__name__)

TICK_SECONDS = 60


@asynccontextmanager
async def scheduling(core: Core, *, every: float = TICK_SECONDS) -> AsyncIterator[AsyncIOScheduler]:
    """Tick now (catching up what was missed while down), then every ``every`` seconds."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        _tick,
        IntervalTrigger(seconds=every, jitter=min(5.0, every / 4)),
        args=[core],
        id="rounds",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(every)),
    )
    scheduler.add_job(_tick, args=[core], id="rounds-at-start", max_instances=1)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


async def _tick(core: Core) -> None:
    try:
        sent = await core.rounds.tick()
    except Exception as exc:
        if not unreachable(exc):
            log.exception("scheduled rounds failed; the next tick tries again")
            return
        log.warning(
            "scheduled rounds failed, database unavailable (%s: %s); the next tick tries again",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        return
    if sent:
        log.info("scheduled rounds: %d message(s) queued", sent)
