"""The retention round: photos kept no longer than needed, and no stray files.

Once a day (the first tick at or after ``RUN_AT`` UTC; a day missed while down is caught up
on the next tick), two things, each claimed in ``schedule_runs`` like the other rounds
so that N replicas do it once:

- **Rejected and withdrawn submissions**: their photos' files are deleted
  ``RELAIS_RETENTION_DAYS`` after the decision or the withdrawal (``updated_at``: nothing
  moves a submission out of those states). The ``media`` row stays, marked
  ``purged_at``, so the submission, its review events and audit trail stay whole; views
  and cards stop showing the photo. A "changes requested" submission is not final (its
  author may resubmit at any time), so its photos are kept; one whose author withdraws it
  is purged as withdrawn. Photos replaced by a resubmission (linked to no submission any
  more) go ``RELAIS_RETENTION_DAYS`` after they were stored. Claimed per workspace and
  day (``retention`` / day / ``submissions``); the rows are marked in batches by a
  conditional UPDATE, so even two runs at once mark each row once, and a file is deleted
  only after its row is committed purged and only when no other photo row (the same
  picture sent again: files are content-addressed) or Teams draft still uses it.
- **Orphan files**: stored files that no photo row and no draft references, last stored
  more than ``ORPHAN_AFTER`` ago. That is a photo stored before a transaction that failed,
  a file whose deletion a crash interrupted, the photos of a person whose member row was
  deleted (their ``media`` rows go with them), and the charts and CSV exports that
  ``/relais stats`` and ``/relais export`` store: those are only sent (Slack uploads its
  own copy; Teams links to them for 72 h, the console prints the path), so once older than
  any link to them they are collected too. Storing the same bytes again renews a file's
  age. Claimed once a day for the whole store (under the first workspace's id, since
  ``schedule_runs`` rows belong to a workspace). Also removed: temporary files of intakes
  that crashed. When more than ``WRONG_DATABASE_FILES`` old files are stored and the
  database knows none of them, nothing is collected (an ERROR line says why): that is a
  database that is not this store's, not orphans. With ``MEDIA_URL`` (S3) the bucket is
  listed; each replica also trims its own cache of unreferenced files once a day
  (unclaimed: the cache is its own).

A crash anywhere is safe: a claimed day whose work stopped half-way is finished by the
next day's run (rows not marked are still due; files of marked rows are orphans).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot import metrics
from storage.db import Database
from storage.media_store import LocalMediaStore, S3MediaStore
from storage.repositories.retention import CHUNK

log = logging.getLogger(__name__)

KIND = "retention"
# The day's run starts on the first tick at or after this time (UTC): a quiet hour.
RUN_AT = time(3, 0)
# A file nobody references is collected once last stored this long ago: beyond a photo
# between its storage and its transaction (seconds), a DM's retries (24 h) and the
# signed links to charts and exports (72 h).
ORPHAN_AFTER = timedelta(days=7)
# More files than this, none of them known to the database: the database is not the media
# store's (a wrong DATABASE_URL, a restore in progress), so nothing is collected.
WRONG_DATABASE_FILES = 100


@dataclass(frozen=True, slots=True)
class RetentionDue:
    """What the next run would remove (``relais doctor``)."""

    submissions: int
    photos: int
    orphans: int
    last_run: datetime | None
    next_run: datetime | None  # None: due now, at the next tick of `relais serve`
    # The database knows none of many stored files: the orphans are not collected.
    wrong_database: bool = False


def wrong_database(orphans: int, listed: int) -> bool:
    """Whether ``orphans`` unreferenced files out of ``listed`` old ones say that the
    database is not the media store's."""
    return orphans > WRONG_DATABASE_FILES and orphans == listed


def period_of(now: datetime) -> date:
    """The day whose run is due at ``now`` (days start at ``RUN_AT`` UTC)."""
    shifted = now.astimezone(UTC) - timedelta(hours=RUN_AT.hour, minutes=RUN_AT.minute)
    return shifted.date()


class Retention:
    """Runs the daily retention round; also tells what it would remove."""

    def __init__(
        self,
        db: Database,
        store: LocalMediaStore,
        retention_days: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.store = store
        self.keep = timedelta(days=retention_days)
        self.clock = clock
        self._cache_trimmed: date | None = None

    async def tick(self) -> int:
        """Run the day's retention work if nobody did; the number of files deleted."""
        now = self.clock()
        day = period_of(now)
        async with self.db.read() as r:
            workspaces = await r.workspaces.ids()
        removed = 0
        for workspace_id in workspaces:
            removed += await self.purge_workspace(workspace_id, day, now)
        if workspaces:
            removed += await self.collect_orphans(workspaces[0], day, now)
        if isinstance(self.store, S3MediaStore) and self._cache_trimmed != day:
            self._cache_trimmed = day
            await self.trim_cache(now)
        return removed

    async def purge_workspace(self, workspace_id: int, day: date, now: datetime) -> int:
        """Delete the files of the workspace's photos that are due, once per day."""
        period = day.isoformat()
        async with self.db.read() as r:
            if await r.rounds.claimed(workspace_id, KIND, period, "submissions"):
                return 0
        cutoff = now - self.keep
        deleted = 0
        first = True
        while True:
            async with self.db.transaction() as r:
                if first and not await r.rounds.claim(
                    workspace_id, KIND, period, "submissions", now=now
                ):
                    return 0
                ids = await r.retention.due(workspace_id, cutoff, limit=CHUNK)
                keys = await r.retention.purge(ids, now)
            if first:
                metrics.ROUNDS.labels(KIND).inc()
            first = False
            deleted += await self._delete_unreferenced(keys)
            if len(ids) < CHUNK:
                break
        if deleted:
            log.info(
                "retention: deleted %d photo file(s) of rejected or withdrawn submissions "
                "in workspace %s",
                deleted,
                workspace_id,
            )
        metrics.RETENTION_FILES.labels("submission").inc(deleted)
        return deleted

    async def collect_orphans(self, workspace_id: int, day: date, now: datetime) -> int:
        """Delete the stored files nothing references, once per day for the whole store."""
        period = day.isoformat()
        async with self.db.read() as r:
            if await r.rounds.claimed(workspace_id, KIND, period, "orphans"):
                return 0
        async with self.db.transaction() as r:
            if not await r.rounds.claim(workspace_id, KIND, period, "orphans", now=now):
                return 0
        metrics.ROUNDS.labels(KIND).inc()
        before = now - ORPHAN_AFTER
        await asyncio.to_thread(self.store.remove_stale_temps, before)
        orphans, listed = await self.orphans(before)
        if wrong_database(len(orphans), listed):
            log.error(
                "retention: none of the %d files in the media store is known to this "
                "database: not deleting them (is DATABASE_URL the database of this MEDIA_DIR "
                "or MEDIA_URL?)",
                listed,
            )
            return 0
        deleted = 0
        for key in orphans:
            # Stored again since it was listed (the same bytes sent again): keep it.
            stored = await asyncio.to_thread(self.store.stored_at, key)
            if stored is None or stored >= before:
                continue
            await asyncio.to_thread(self.store.delete, key)
            deleted += 1
        if deleted:
            log.info("retention: deleted %d orphan file(s)", deleted)
        metrics.RETENTION_FILES.labels("orphan").inc(deleted)
        return deleted

    async def orphans(self, before: datetime) -> tuple[list[str], int]:
        """Keys of the files last stored before ``before`` that nothing references, and
        how many files were stored before then."""
        listed = await asyncio.to_thread(lambda: list(self.store.stored_before(before)))
        return await self._unreferenced(listed), len(listed)

    async def trim_cache(self, now: datetime) -> int:
        """S3: drop this replica's cached copies of files nothing references any more
        (a purged photo, an old chart); the bucket is the claimed run's."""
        before = now - ORPHAN_AFTER
        cached = await asyncio.to_thread(lambda: list(self.store.cached_before(before)))
        stale = await self._unreferenced(cached)
        for key in stale:
            await asyncio.to_thread(self.store.uncache, key)
        return len(stale)

    async def due(self) -> RetentionDue:
        """What the next run would remove, and when it runs (``relais doctor``)."""
        now = self.clock()
        async with self.db.read() as r:
            submissions, photos = await r.retention.count_due(now - self.keep)
            last = await r.retention.last_run(KIND)
            workspaces = await r.workspaces.ids()
            done = bool(workspaces) and await r.rounds.claimed(
                workspaces[0], KIND, period_of(now).isoformat(), "orphans"
            )
        orphans, listed = await self.orphans(now - ORPHAN_AFTER)
        next_run = None
        if done or not workspaces:
            next_run = datetime.combine(period_of(now) + timedelta(days=1), RUN_AT, UTC)
        return RetentionDue(
            submissions,
            photos,
            len(orphans),
            last,
            next_run,
            wrong_database=wrong_database(len(orphans), listed),
        )

    async def _unreferenced(self, keys: list[str]) -> list[str]:
        found: set[str] = set()
        for start in range(0, len(keys), CHUNK):
            async with self.db.read() as r:
                found |= await r.retention.referenced(keys[start : start + CHUNK])
        return [k for k in keys if k not in found]

    async def _delete_unreferenced(self, keys: list[str]) -> int:
        """Delete the files of just-purged photos that nothing else uses."""
        deleted = 0
        for key in await self._unreferenced(list(dict.fromkeys(keys))):
            await asyncio.to_thread(self.store.delete, key)
            deleted += 1
        return deleted
