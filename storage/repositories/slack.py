"""Slack-specific rows Relais owns (Bolt's installation tables are written by Bolt)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackUpload

# The steps of an upload, in order (see ``SlackUpload.state``).
RESERVED = "reserved"
UPLOADED = "uploaded"
COMPLETE = "complete"


class SlackUploadRepository:
    """Which cleaned photo was uploaded to which workspace as which Slack file, and how far
    an unfinished upload got."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def file_id(self, team_id: str, media_key: str) -> str | None:
        """The Slack file id of ``media_key`` in ``team_id``, if its upload completed."""
        return await self.s.scalar(
            select(SlackUpload.file_id).where(
                SlackUpload.team_id == team_id,
                SlackUpload.media_key == media_key,
                SlackUpload.state == COMPLETE,
            )
        )

    async def get(self, team_id: str, media_key: str) -> SlackUpload | None:
        """The upload of ``media_key`` in ``team_id`` in whatever state it is, fresh."""
        return await self.s.scalar(
            select(SlackUpload)
            .where(SlackUpload.team_id == team_id, SlackUpload.media_key == media_key)
            .execution_options(populate_existing=True)
        )

    async def reserve(
        self, team_id: str, media_key: str, file_id: str, upload_url: str, *, now: datetime
    ) -> SlackUpload:
        """Record step one (a file id and its upload URL); when another worker recorded one
        first, keep (and return) theirs."""
        try:
            async with self.s.begin_nested():
                self.s.add(
                    SlackUpload(
                        team_id=team_id,
                        media_key=media_key,
                        file_id=file_id,
                        state=RESERVED,
                        upload_url=upload_url,
                        created_at=now,
                    )
                )
        except IntegrityError:
            pass
        found = await self.get(team_id, media_key)
        assert found is not None
        return found

    async def advance(self, team_id: str, media_key: str, file_id: str, state: str) -> None:
        """Record that the upload of ``file_id`` reached ``state``."""
        values: dict[str, object] = {"state": state}
        if state == COMPLETE:
            values["upload_url"] = None
        await self.s.execute(
            update(SlackUpload)
            .where(
                SlackUpload.team_id == team_id,
                SlackUpload.media_key == media_key,
                SlackUpload.file_id == file_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def abandon(self, team_id: str, media_key: str, file_id: str) -> None:
        """Forget an unfinished upload Slack no longer accepts, so the next try starts over."""
        await self.s.execute(
            delete(SlackUpload)
            .where(
                SlackUpload.team_id == team_id,
                SlackUpload.media_key == media_key,
                SlackUpload.file_id == file_id,
                SlackUpload.state != COMPLETE,
            )
            .execution_options(synchronize_session=False)
        )
