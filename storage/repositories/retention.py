"""The reads and writes of the retention round (``bot/services/retention.py``).

A photo is *due* when every submission it belongs to is rejected or withdrawn and was last
moved (``updated_at``: the decision or the withdrawal, after which nothing moves it again)
before the cutoff, or when it belongs to no submission any more (replaced by a
resubmission) and was stored before the cutoff. Purging a photo sets ``media.purged_at``
with a conditional UPDATE, so two replicas purging at once each get a different set of
rows, never the same one twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Status
from storage.models import Draft, Media, Member, ScheduleRun, Submission, SubmissionMedia

# Final states whose photos are deleted after RELAIS_RETENTION_DAYS.
PURGED_STATES = (Status.REJECTED.value, Status.WITHDRAWN.value)
# Keys per IN (...) list: well under SQLite's and asyncpg's parameter limits.
CHUNK = 500


class RetentionRepository:
    """``media.purged_at`` and the references that keep a stored file alive."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def _final(self, workspace_id: int | None, cutoff: datetime) -> Select[int, int]:
        """(media id, submission id) of the photos not purged yet of submissions rejected or
        withdrawn before ``cutoff``, that no submission in another state also holds. Driven
        by the submissions' ``(workspace_id, status, created_at)`` index."""
        live_link = SubmissionMedia.__table__.alias("live_link")
        live = Submission.__table__.alias("live")
        query = (
            select(Media.id, Submission.id)
            .select_from(Submission)
            .join(SubmissionMedia, SubmissionMedia.submission_id == Submission.id)
            .join(Media, Media.id == SubmissionMedia.media_id)
            .where(
                Submission.status.in_(PURGED_STATES),
                # updated_at >= created_at: this bound lets the index do the work.
                Submission.created_at < cutoff,
                Submission.updated_at < cutoff,
                Media.purged_at.is_(None),
                ~exists()
                .where(live_link.c.media_id == Media.id)
                .where(live.c.id == live_link.c.submission_id)
                .where(~and_(live.c.status.in_(PURGED_STATES), live.c.updated_at < cutoff)),
            )
        )
        if workspace_id is not None:
            query = query.where(Submission.workspace_id == workspace_id)
        return query

    def _replaced(self, workspace_id: int | None, cutoff: datetime) -> Select[int]:
        """Photos not purged yet that belong to no submission, stored before ``cutoff``:
        replaced by the author's resubmission (``attach_media`` replaces the links)."""
        query = select(Media.id).where(
            Media.purged_at.is_(None),
            Media.created_at < cutoff,
            ~exists().where(SubmissionMedia.media_id == Media.id),
        )
        if workspace_id is not None:
            owners = select(Member.id).where(Member.workspace_id == workspace_id)
            query = query.where(Media.owner_id.in_(owners))
        return query

    async def due(
        self, workspace_id: int | None, cutoff: datetime, *, limit: int = CHUNK
    ) -> list[int]:
        """Ids of up to ``limit`` photos whose file is due for deletion."""
        final = await self.s.execute(self._final(workspace_id, cutoff).limit(limit))
        ids = list(dict.fromkeys(media_id for media_id, _ in final.all()))
        if len(ids) < limit:
            replaced = await self.s.scalars(
                self._replaced(workspace_id, cutoff).order_by(Media.id).limit(limit - len(ids))
            )
            ids.extend(replaced)
        return ids

    async def count_due(self, cutoff: datetime) -> tuple[int, int]:
        """(submissions, photos) whose files the next run would delete, everywhere; the
        photos include those replaced by a resubmission."""
        final = self._final(None, cutoff).subquery()
        submissions = await self.s.scalar(select(func.count(func.distinct(final.c[1]))))
        photos = await self.s.scalar(select(func.count(func.distinct(final.c[0]))))
        replaced = await self.s.scalar(
            select(func.count()).select_from(self._replaced(None, cutoff).subquery())
        )
        return int(submissions or 0), int(photos or 0) + int(replaced or 0)

    async def purge(self, media_ids: Sequence[int], now: datetime) -> list[str]:
        """Mark these photos purged, unless someone did first; the storage keys of the rows
        this call marked (the files to delete once committed), a video's poster frame
        included."""
        if not media_ids:
            return []
        result = await self.s.execute(
            update(Media)
            .where(Media.id.in_(list(media_ids)), Media.purged_at.is_(None))
            .values(purged_at=now)
            .returning(Media.storage_key, Media.poster_key)
            .execution_options(synchronize_session=False)
        )
        return [key for row in result.all() for key in row if key]

    async def referenced(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that a photo not purged, or a draft, still uses."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            rows = await self.s.scalars(
                select(Media.storage_key)
                .where(Media.storage_key.in_(chunk), Media.purged_at.is_(None))
                .distinct()
            )
            found.update(rows)
            posters = await self.s.scalars(
                select(Media.poster_key)
                .where(Media.poster_key.in_(chunk), Media.purged_at.is_(None))
                .distinct()
            )
            found.update(k for k in posters if k)
        if wanted:
            found.update(await self.draft_keys() & set(wanted))
        return found

    async def last_run(self, kind: str) -> datetime | None:
        """When a retention round last started (any workspace); None before the first."""
        return await self.s.scalar(select(func.max(ScheduleRun.at)).where(ScheduleRun.kind == kind))

    async def draft_keys(self) -> set[str]:
        """Storage keys of the photos waiting in drafts (Teams: photos before their form)."""
        keys: set[str] = set()
        for photos in await self.s.scalars(select(Draft.photos)):
            for photo in (photos or {}).get("photos", []):
                keys.update(_keys_of(photo))
        return keys


def _keys_of(photo: Any) -> set[str]:
    """The stored files a draft's photo names: the photo (or video) and a poster frame."""
    if not isinstance(photo, dict):
        return set()
    keys = (photo.get("storage_key"), photo.get("poster_key"))
    return {k for k in keys if isinstance(k, str) and k}
