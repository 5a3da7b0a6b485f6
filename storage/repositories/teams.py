"""Rows the Teams adapter needs: conversation references and photo drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationRef, Draft


class ConversationRefRepository:
    """Bot Framework conversation references, per person and per channel."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def save(
        self,
        workspace_id: int,
        kind: str,
        key: str,
        reference: dict[str, Any],
        *,
        now: datetime,
        name: str = "",
    ) -> None:
        """Insert or refresh the reference (safe when two requests race)."""
        row = await self._get(workspace_id, kind, key)
        if row is None:
            try:
                async with self.s.begin_nested():
                    self.s.add(
                        ConversationRef(
                            workspace_id=workspace_id,
                            kind=kind,
                            key=key,
                            name=name,
                            reference=reference,
                            updated_at=now,
                        )
                    )
                return
            except IntegrityError:
                row = await self._get(workspace_id, kind, key)
                if row is None:
                    raise
        if row.reference != reference or (name and row.name != name):
            row.reference = reference
            row.name = name or row.name
            row.updated_at = now

    async def _get(self, workspace_id: int, kind: str, key: str) -> ConversationRef | None:
        return await self.s.scalar(
            select(ConversationRef).where(
                ConversationRef.workspace_id == workspace_id,
                ConversationRef.kind == kind,
                ConversationRef.key == key,
            )
        )

    async def get(self, workspace_id: int, kind: str, key: str) -> dict[str, Any] | None:
        """The stored reference, if any."""
        row = await self._get(workspace_id, kind, key)
        return dict(row.reference) if row is not None else None


class DraftRepository:
    """Photos waiting for their form."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self,
        token: str,
        member_id: int,
        photos: list[dict[str, Any]],
        caption: str,
        *,
        now: datetime,
    ) -> None:
        """Keep photos for ``member_id`` under ``token``."""
        self.s.add(
            Draft(
                token=token,
                member_id=member_id,
                photos={"photos": photos},
                caption=caption,
                created_at=now,
            )
        )
        await self.s.flush()

    async def get(self, token: str) -> Draft | None:
        """A draft by token."""
        return await self.s.scalar(select(Draft).where(Draft.token == token))
