"""Slack-specific rows Relais owns (Bolt's installation tables are written by Bolt)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackUpload


class SlackUploadRepository:
    """Which cleaned photo was uploaded to which workspace as which Slack file."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def file_id(self, team_id: str, media_key: str) -> str | None:
        """The Slack file id of ``media_key`` in ``team_id``, if uploaded before."""
        return await self.s.scalar(
            select(SlackUpload.file_id).where(
                SlackUpload.team_id == team_id, SlackUpload.media_key == media_key
            )
        )

    async def remember(self, team_id: str, media_key: str, file_id: str, *, now: datetime) -> str:
        """Record an upload; when another replica won the race, keep (and return) theirs."""
        existing = await self.file_id(team_id, media_key)
        if existing is not None:
            return existing
        self.s.add(
            SlackUpload(team_id=team_id, media_key=media_key, file_id=file_id, created_at=now)
        )
        await self.s.flush()
        return file_id
