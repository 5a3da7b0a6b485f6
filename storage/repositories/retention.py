"""The reads and writes of the retention round (``bot/services/retention.py``).

A photo is *due* when every submission it belongs to is rejected or withdrawn and was last
moved (``updated_at``: the decision or the withdrawal, after which nothing moves it again)
before the cutoff. Purging a photo sets ``media.purged_at`` with a conditional UPDATE, so
two replicas purging at once each get a different set of rows, never the same one twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain import Status
from storage.models import Draft, Media, ScheduleRun, Submission, SubmissionMedia

# Final states whose photos are deleted after RELAIS_RETENTION_DAYS.
PURGED_STATES = (Status.REJECTED.value, Status.WITHDRAWN.value)
# Keys per IN (...) list: well under SQLite's and asyncpg's parameter limits.
CHUNK = 500


class RetentionRepository:
    """``media.purged_at`` and the references that keep a stored file alive."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def _due(self, workspace_id: int | None, cutoff: datetime) -> ColumnElement[bool]:
        """Media not purged yet, of a submission in a final state since before ``cutoff``,
        and of no submission outside those states."""
        ended = [
            Submission.status.in_(PURGED_STATES),
            Submission.updated_at < cutoff,
            # updated_at >= created_at: bounds the (workspace_id, status, created_at) index.
            Submission.created_at < cutoff,
        ]
        if workspace_id is not None:
            ended.append(Submission.workspace_id == workspace_id)
        other = SubmissionMedia.__table__.alias("other_link")
        live = Submission.__table__.alias("live")
        return and_(
            Media.purged_at.is_(None),
            exists()
            .where(SubmissionMedia.media_id == Media.id)
            .where(SubmissionMedia.submission_id == Submission.id)
            .where(*ended),
            ~exists()
            .where(other.c.media_id == Media.id)
            .where(other.c.submission_id == live.c.id)
            .where(
                ~and_(
                    live.c.status.in_(PURGED_STATES),
                    live.c.updated_at < cutoff,
                )
            ),
        )

    async def due(
        self, workspace_id: int | None, cutoff: datetime, *, limit: int = CHUNK
    ) -> list[int]:
        """Ids of up to ``limit`` photos whose file is due for deletion."""
        rows = await self.s.scalars(
            select(Media.id).where(self._due(workspace_id, cutoff)).order_by(Media.id).limit(limit)
        )
        return list(rows)

    async def count_due(self, cutoff: datetime) -> tuple[int, int]:
        """(submissions, photos) the next purge would delete the photos of, everywhere."""
        photos = await self.s.scalar(select(func.count(Media.id)).where(self._due(None, cutoff)))
        due_ids = select(Media.id).where(self._due(None, cutoff)).scalar_subquery()
        submissions = await self.s.scalar(
            select(func.count(func.distinct(SubmissionMedia.submission_id))).where(
                SubmissionMedia.media_id.in_(due_ids)
            )
        )
        return int(submissions or 0), int(photos or 0)

    async def purge(self, media_ids: Sequence[int], now: datetime) -> list[str]:
        """Mark these photos purged, unless someone did first; the storage keys of the rows
        this call marked (the files to delete once committed)."""
        if not media_ids:
            return []
        result = await self.s.execute(
            update(Media)
            .where(Media.id.in_(list(media_ids)), Media.purged_at.is_(None))
            .values(purged_at=now)
            .returning(Media.storage_key)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars().all())

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
                key = _key_of(photo)
                if key:
                    keys.add(key)
        return keys


def _key_of(photo: Any) -> str | None:
    key = photo.get("storage_key") if isinstance(photo, dict) else None
    return key if isinstance(key, str) else None
