"""Settings CMs change from chat, per workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WorkspaceSetting


class SettingsRepository:
    """Rows of ``workspace_settings``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, workspace_id: int, key: str) -> str | None:
        """The value set for ``key`` in the workspace, or None (use the default)."""
        return await self.s.scalar(
            select(WorkspaceSetting.value).where(
                WorkspaceSetting.workspace_id == workspace_id, WorkspaceSetting.key == key
            )
        )

    async def all(self, workspace_id: int) -> dict[str, str]:
        """Every value set in the workspace, by key."""
        rows = await self.s.execute(
            select(WorkspaceSetting.key, WorkspaceSetting.value).where(
                WorkspaceSetting.workspace_id == workspace_id
            )
        )
        return {key: value for key, value in rows.all()}

    async def set(
        self, workspace_id: int, key: str, value: str, *, by: int | None, now: datetime
    ) -> None:
        """Set ``key`` (the caller holds the write lock: one row per key)."""
        row = await self.s.scalar(
            select(WorkspaceSetting).where(
                WorkspaceSetting.workspace_id == workspace_id, WorkspaceSetting.key == key
            )
        )
        if row is None:
            self.s.add(
                WorkspaceSetting(
                    workspace_id=workspace_id,
                    key=key,
                    value=value,
                    updated_by_id=by,
                    updated_at=now,
                )
            )
        else:
            row.value, row.updated_by_id, row.updated_at = value, by, now
        await self.s.flush()
