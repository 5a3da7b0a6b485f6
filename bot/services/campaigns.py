"""Campaigns run from chat (CM): create, list, show the results, close with a short
result in the digest channel. Dates are calendar days in the workspace's timezone: a
campaign that ends today takes submissions until midnight there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from bot import cards, notify
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import translator
from bot.schedule import local_day
from domain import CAPTION_MAX, CampaignView, MemberView, Role, site_key
from storage.models import Campaign
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

TITLE_MAX = 200
HASHTAG_MAX = 60


def parse_day(value: str, field: str) -> date | None:
    """A ``YYYY-MM-DD`` from a date picker (or typed); None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("campaign.bad_date", field=field, value=value[:20]) from None


class Campaigns:
    """The CM's side of campaigns, one transaction per change with its audit row."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def _cm(self, r: Repos, actor: MemberView) -> MemberView:
        fresh = await r.members.view(actor.id)
        if not fresh.has(Role.CM):
            raise NotAllowed()
        return fresh

    async def today(self, workspace_id: int) -> date:
        """Today in the workspace's timezone (what "ends today" means)."""
        config = await self.core.config.get(workspace_id)
        return local_day(self.core.clock(), config.timezone)

    async def create(
        self,
        actor: MemberView,
        *,
        title: str,
        brief: str,
        starts: str,
        ends: str,
        site_ids: Sequence[int],
        hashtag: str,
    ) -> CampaignView:
        """A new campaign for the sites ``site_ids`` (none: every site); refused with the
        field to fix (title taken by an open campaign, a date in the past, an end before
        the start, a site not in the list)."""
        title = " ".join(title.split())
        if not title:
            raise InvalidInput("campaign.title_missing", field="title")
        if len(title) > TITLE_MAX:
            raise InvalidInput("campaign.title_too_long", field="title", max=TITLE_MAX)
        brief = brief.strip()
        if len(brief) > CAPTION_MAX:
            raise InvalidInput("campaign.brief_too_long", field="brief", max=CAPTION_MAX)
        tag = hashtag.strip().lstrip("#").strip()
        if len(tag) > HASHTAG_MAX or any(c.isspace() for c in tag):
            raise InvalidInput("campaign.bad_hashtag", field="hashtag", max=HASHTAG_MAX)
        today = await self.today(actor.workspace_id)
        start = parse_day(starts, "starts_on") or today
        end = parse_day(ends, "ends_on")
        if end is None:
            raise InvalidInput("campaign.end_missing", field="ends_on")
        if start < today:
            raise InvalidInput("campaign.start_past", field="starts_on")
        if end < start:
            raise InvalidInput("campaign.end_before_start", field="ends_on")
        now = self.core.clock()
        async with self.core.forms.changing(actor.workspace_id), self.core.db.transaction() as r:
            fresh = await self._cm(r, actor)
            for site_id in set(site_ids):
                found = await r.sites.get(site_id)
                if found is None or found.workspace_id != fresh.workspace_id:
                    raise InvalidInput("error.unknown_site", field="sites")
            if await self._open_named(r, fresh.workspace_id, title) is not None:
                raise InvalidInput("campaign.exists", field="title", title=title)
            row = await r.campaigns.create(
                fresh.workspace_id,
                title=title,
                brief=brief,
                starts_on=start,
                ends_on=end,
                site_ids=site_ids,
                created_by=fresh.id,
                now=now,
                hashtag=tag or None,
            )
            await r.audit.add(
                fresh.workspace_id,
                actor_id=fresh.id,
                action="campaign.new",
                subject=title,
                detail={
                    "campaign_id": row.id,
                    "starts": str(start),
                    "ends": str(end),
                    "site_ids": sorted(set(site_ids)),
                },
                now=now,
            )
            return await self._line(r, row)

    @staticmethod
    async def _open_named(r: Repos, workspace_id: int, title: str) -> Campaign | None:
        key = site_key(title)
        for row in await r.campaigns.all(workspace_id):
            if row.closed_at is None and site_key(row.title) == key:
                return row
        return None

    async def _named(self, r: Repos, workspace_id: int, title: str) -> Campaign:
        """The campaign this title means: an open one first, else the latest closed."""
        key = site_key(title)
        rows = [c for c in await r.campaigns.all(workspace_id) if site_key(c.title) == key]
        rows.sort(key=lambda c: c.closed_at is not None)
        if not rows:
            raise NotFound("campaign.not_found", title=" ".join(title.split())[:TITLE_MAX])
        return rows[0]

    async def _line(
        self,
        r: Repos,
        row: Campaign,
        *,
        results: bool = False,
        site_names: dict[int, list[str]] | None = None,
    ) -> CampaignView:
        """``site_names``: read for several campaigns at once (``lines``), else here."""
        if site_names is None:
            site_names = await r.campaigns.site_names([row.id])
        approved, sites = 0, 0
        contributors: tuple[tuple[str, int], ...] = ()
        if results:
            authors, approved, sites = await r.campaigns.results(row.id)
            people = await r.members.views([a for a, _ in authors])
            contributors = tuple((people[a].display_name, n) for a, n in authors)
        return CampaignView(
            id=row.id,
            title=row.title,
            brief=row.brief,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            site_names=tuple(site_names.get(row.id, ())),
            hashtag=row.hashtag,
            closed=row.closed_at is not None,
            approved=approved,
            sites=sites,
            contributors=contributors,
        )

    async def lines(self, workspace_id: int) -> list[CampaignView]:
        """Every campaign, the latest start first."""
        async with self.core.db.read() as r:
            rows = await r.campaigns.all(workspace_id)
            names = await r.campaigns.site_names([c.id for c in rows])
            return [await self._line(r, c, site_names=names) for c in rows]

    async def show(self, workspace_id: int, title: str) -> CampaignView:
        """A campaign with its approved content and contributors."""
        async with self.core.db.read() as r:
            return await self._line(r, await self._named(r, workspace_id, title), results=True)

    async def close(self, actor: MemberView, title: str) -> tuple[CampaignView, str]:
        """Close a campaign (no more submissions) and post its result in the digest
        channel; returns the campaign and the channel ("" when none is set)."""
        now = self.core.clock()
        async with self.core.forms.changing(actor.workspace_id), self.core.db.transaction() as r:
            fresh = await self._cm(r, actor)
            row = await self._named(r, fresh.workspace_id, title)
            if row.closed_at is not None or not await r.campaigns.close(row.id, now):
                raise InvalidInput("campaign.already_closed", field="title", title=row.title)
            line = await self._line(r, row, results=True)
            await r.audit.add(
                fresh.workspace_id,
                actor_id=fresh.id,
                action="campaign.close",
                subject=row.title,
                detail={"campaign_id": row.id, "approved": line.approved, "sites": line.sites},
                now=now,
            )
            config = await self.core.config.load(r, fresh.workspace_id)
            channel = config.digest_channel
            if channel:
                ws = await r.workspaces.get(fresh.workspace_id)
                t = translator(ws.locale)
                await notify.channel_post(
                    r,
                    workspace_id=ws.id,
                    platform=ws.platform,
                    channel=channel,
                    message=cards.campaign_result(t, line),
                    now=now,
                    dedupe_key=f"campaign_close:{row.id}",
                )
        if channel:
            self.core.outbox_changed()
        return line, channel
