"""The weekly digest: what was approved this week, who sent it, who joined, what's next.

``Digests.build`` reads one period with a handful of queries bounded by the period
(so the cost follows the week's content, not the history); ``cards.digest_message``
turns it into a message in the workspace's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.services.submissions import load_view
from domain import CampaignLine, Digest
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

HIGHLIGHTS = 4
MILESTONES = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000)


class Digests:
    """Builds digests."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def build(
        self,
        workspace_id: int,
        start: datetime,
        end: datetime,
        *,
        site: tuple[int, str] | None = None,
    ) -> Digest:
        """The digest of [start, end) in its own read (of one site with ``site``)."""
        async with self.core.db.read() as r:
            return await self.build_in(r, workspace_id, start, end, site=site)

    async def build_in(
        self,
        r: Repos,
        workspace_id: int,
        start: datetime,
        end: datetime,
        *,
        site: tuple[int, str] | None = None,
    ) -> Digest:
        """The digest of [start, end), reading through ``r``; with ``site`` (id, name),
        that site's local digest: its submissions approved, its new ambassadors, its
        campaign; no per-site counts and no milestones (the national digest's)."""
        site_id = site[0] if site else None
        by_author = await r.rounds.approved_by_author(workspace_id, start, end, site_id=site_id)
        approved = sum(n for _, n in by_author)
        highlights = [
            await load_view(r, sid)
            for sid in await r.rounds.approved_ids(
                workspace_id, start, end, limit=HIGHLIGHTS, site_id=site_id
            )
        ]
        joined = await r.rounds.joined(workspace_id, start, end, site_id=site_id)
        people = await r.members.views([mid for mid, _ in by_author] + joined)
        contributors = [(people[mid], n) for mid, n in by_author]
        national = site is None and approved
        sites = await r.rounds.approved_by_site(workspace_id, start, end) if national else []
        newcomers = [people[mid] for mid in joined]
        milestones: list[int] = []
        if national:
            after = await r.rounds.approved_total(workspace_id, end)
            before = after - approved
            milestones = [m for m in MILESTONES if before < m <= after]
        tz = (await self.core.config.load(r, workspace_id)).timezone
        today = end.astimezone(ZoneInfo(tz)).date()
        active = await r.campaigns.active(workspace_id, today, site_id)
        campaign = (
            CampaignLine(active[0].title, active[0].brief, active[0].ends_on) if active else None
        )
        return Digest(
            workspace_id=workspace_id,
            start=start,
            end=end,
            approved=approved,
            highlights=tuple(highlights),
            contributors=tuple(contributors),
            sites=tuple(sites),
            newcomers=tuple(newcomers),
            campaign=campaign,
            milestones=tuple(milestones),
            site=site[1] if site else None,
        )
