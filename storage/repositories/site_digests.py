"""Rows of ``site_digests``: which sites have a local digest, and in which channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Site, SiteDigest
from storage.repositories.dml import rowcount


class SiteDigestRepository:
    """A site's local digest channel (one row per site, deleted with it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def set(
        self, workspace_id: int, site_id: int, channel: str, *, by: int | None, now: datetime
    ) -> None:
        """Post the site's digest in ``channel`` from now on (the caller holds the write
        lock of the change)."""
        row = await self.s.get(SiteDigest, site_id)
        if row is None:
            self.s.add(
                SiteDigest(
                    site_id=site_id,
                    workspace_id=workspace_id,
                    channel=channel,
                    set_by_id=by,
                    set_at=now,
                )
            )
        else:
            row.channel, row.set_by_id, row.set_at = channel, by, now
        await self.s.flush()

    async def clear(self, site_id: int) -> bool:
        """No local digest for the site any more; False when it had none."""
        result = await self.s.execute(delete(SiteDigest).where(SiteDigest.site_id == site_id))
        return rowcount(result) > 0

    async def channel(self, site_id: int) -> str | None:
        """The channel of the site's local digest; None when it has none."""
        row = await self.s.get(SiteDigest, site_id)
        return row.channel if row is not None else None

    async def channels(self, workspace_id: int) -> list[tuple[int, str, str]]:
        """(site id, site name, channel) of every site with a local digest, by name."""
        rows = await self.s.execute(
            select(Site.id, Site.name, SiteDigest.channel)
            .join(SiteDigest, SiteDigest.site_id == Site.id)
            .where(SiteDigest.workspace_id == workspace_id)
            .order_by(Site.key)
        )
        return [(int(i), name, channel) for i, name, channel in rows.all()]

    async def merge(self, source_id: int, into_id: int) -> bool:
        """Before ``source`` is merged into ``into``: ``into`` keeps its own channel, or
        takes ``source``'s when it had none; ``source``'s row goes. True when it moved."""
        moved = 0
        if await self.s.get(SiteDigest, into_id) is None:
            result = await self.s.execute(
                update(SiteDigest).where(SiteDigest.site_id == source_id).values(site_id=into_id)
            )
            moved = rowcount(result)
        await self.s.execute(delete(SiteDigest).where(SiteDigest.site_id == source_id))
        return moved > 0
