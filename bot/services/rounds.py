"""Scheduled rounds: the weekly digest and the nudges, each sent exactly once (and, from
the same tick, the daily retention round: ``bot/services/retention.py``).

APScheduler only triggers ``Rounds.tick`` (every minute, in every replica); the
database decides what is due. Each round (the digest of week W in channel C; nudge K
for person P on day D) is claimed by a ``schedule_runs`` row with a unique key, in the
same transaction that writes its outbox messages: N replicas, restarts and a clock that
jumps send it once. A digest missed while the bot was down is sent on the next tick
within ``GRACE`` of its slot, and recorded as skipped (and logged) after that. A digest
covers what was approved since the previous one (an early ``digest send`` included),
within its week. A site given its own digest channel (``/relais config site_digest``)
gets a local digest at the same slot, claimed per site (``site_digest``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import cards, metrics, notify
from bot.errors import InvalidInput, NotFound
from bot.i18n import translator
from bot.schedule import (
    last_occurrence,
    local_day,
    week_key,
    working_hours,
    working_hours_between,
)
from bot.services.config import WorkspaceConfig
from bot.services.digest import Digests
from bot.services.submissions import load_view
from bot.ui import Message
from domain import SITE_NAME_MAX, Digest, MemberView, Role
from storage.models import Campaign
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

GRACE = timedelta(hours=6)
# The claim kind of a site's local digest (target ``site:<site id>``).
SITE_DIGEST = "site_digest"
WELCOME_AFTER = timedelta(days=7)
SLA_LIST = 10
# A period is [start, end): "until now" includes what was decided this very moment.
_INCLUSIVE = timedelta(microseconds=1)


class Rounds:
    """Decides which rounds are due and sends them once."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.digests = Digests(core)

    async def tick(self) -> int:
        """Run every round due now in every workspace; returns how many were sent."""
        now = self.core.clock()
        async with self.core.db.read() as r:
            workspaces = await r.workspaces.ids()
        sent = 0
        for workspace_id in workspaces:
            try:
                config = await self.core.config.get(workspace_id)
                sent += _counted("digest", await self._digest_round(workspace_id, config, now))
                local = await self._site_digest_rounds(workspace_id, config, now)
                sent += _counted("site_digest", local)
                if config.nudges:
                    reminders = await self._review_reminders(workspace_id, config, now)
                    sent += _counted("review_reminder", reminders)
                    campaigns = await self._campaigns(workspace_id, config, now)
                    sent += _counted("campaign", campaigns)
                    nudges = await self._ambassadors(workspace_id, config, now)
                    sent += _counted("nudge", nudges)
                    referents = await self._referents(workspace_id, config, now)
                    sent += _counted("referent", referents)
                    consents = await self._consent_reminders(workspace_id, config, now)
                    sent += _counted("consent_reminder", consents)
            except Exception:
                log.exception("scheduled rounds failed for workspace %s", workspace_id)
        try:
            await self.core.retention.tick()
        except Exception:
            log.exception("the retention round failed; the next tick tries again")
        if sent:
            self.core.outbox_changed()
        return sent

    # -- the digest ---------------------------------------------------------------------

    async def _digest_round(self, workspace_id: int, config: WorkspaceConfig, now: datetime) -> int:
        if not config.digest_channel:
            return 0
        slot = last_occurrence(config.digest_schedule, config.timezone, now)
        period = week_key(slot, config.timezone)
        async with self.core.db.read() as r:
            if await r.rounds.claimed(workspace_id, "digest", period, config.digest_channel):
                return 0
        if now - slot > GRACE:
            async with self.core.db.transaction() as r:
                # ``at`` is the end of the period (see send_digest): the next one starts there.
                skipped = await r.rounds.claim(
                    workspace_id,
                    "digest",
                    period,
                    config.digest_channel,
                    now=slot,
                    status="skipped",
                )
            if skipped:
                log.warning(
                    "digest %s of workspace %s was due at %s, more than %s ago: skipped",
                    period,
                    workspace_id,
                    slot.isoformat(),
                    GRACE,
                )
            return 0
        return int(await self.send_digest(workspace_id, config, slot, now=now))

    async def _period_start(
        self, r: Repos, workspace_id: int, config: WorkspaceConfig, end: datetime
    ) -> tuple[datetime, bool]:
        """Where the digest ending at ``end`` starts, and whether a digest was already
        posted in its week.

        A digest covers what was approved since the last one, within the week: from the
        later of the week's slot and the end of the last digest (an early ``digest send``
        ends where it was sent, so the slot after it carries on from there).
        """
        slot = last_occurrence(config.digest_schedule, config.timezone, end - _INCLUSIVE)
        covered = await r.rounds.digest_covered_until(workspace_id, end)
        if covered is not None and covered > slot:
            return covered, True
        return slot, False

    async def preview(self, workspace_id: int) -> tuple[Digest, WorkspaceConfig]:
        """The next digest as it stands now: what was approved since the last one (within
        this week); nothing is sent."""
        now = self.core.clock()
        config = await self.core.config.get(workspace_id)
        end = now + _INCLUSIVE
        async with self.core.db.read() as r:
            start, _ = await self._period_start(r, workspace_id, config, end)
            return await self.digests.build_in(r, workspace_id, start, end), config

    async def send_now(self, workspace_id: int) -> bool:
        """Post the digest of what was approved since the last one, up to now (CM's
        ``digest send``); False when a digest was already posted this week and nothing
        was approved since. The scheduled digest then covers what comes after."""
        now = self.core.clock()
        config = await self.core.config.get(workspace_id)
        # Its own key, to the second: a double click posts once, and the slot's key stays free.
        period = f"early:{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        sent = await self.send_digest(
            workspace_id, config, now + _INCLUSIVE, now=now, period=period
        )
        if sent:
            self.core.outbox_changed()
        return sent

    async def send_digest(
        self,
        workspace_id: int,
        config: WorkspaceConfig,
        end: datetime,
        *,
        now: datetime,
        period: str | None = None,
    ) -> bool:
        """Claim and queue the digest of the period ending at ``end`` (a slot, or now for
        an early send); False when that round was already claimed, or when it is an early
        send with nothing new since a digest posted this week.

        The claim's ``at`` is ``end``: the next digest starts there. A scheduled digest
        with nothing new after an early one is recorded as skipped, not posted.
        """
        early = period is not None
        period = period or week_key(end, config.timezone)
        channel = config.digest_channel
        async with self.core.db.transaction() as r:
            start, posted_this_week = await self._period_start(r, workspace_id, config, end)
            digest = await self.digests.build_in(r, workspace_id, start, end)
            if digest.empty and posted_this_week and early:
                return False
            skip = digest.empty and (posted_this_week or config.digest_when_empty == "skip")
            status = "skipped" if skip else "sent"
            if not await r.rounds.claim(
                workspace_id, "digest", period, channel, now=end, status=status
            ):
                return False
            if skip:
                log.info(
                    "digest %s of workspace %s: nothing approved, skipped", period, workspace_id
                )
                return True
            await _queue_digest(
                r,
                workspace_id,
                config,
                digest,
                channel,
                now=now,
                dedupe_key=f"digest:{workspace_id}:{period}:{channel}",
            )
        return True

    # -- local digests (a site's own, in its own channel) -------------------------------

    async def _site_digest_rounds(
        self, workspace_id: int, config: WorkspaceConfig, now: datetime
    ) -> int:
        """Each site with a digest channel gets its own digest at the workspace digest's
        slot, claimed per site and week (``site_digest``/<ISO week>/``site:<id>``) like
        the national one: caught up within ``GRACE``, recorded as skipped after."""
        async with self.core.db.read() as r:
            local = await r.site_digests.channels(workspace_id)
            if not local:
                return 0
            slot = last_occurrence(config.digest_schedule, config.timezone, now)
            period = week_key(slot, config.timezone)
            done = await r.rounds.claimed_targets(workspace_id, SITE_DIGEST, period)
        sent = 0
        for site_id, name, channel in local:
            target = f"site:{site_id}"
            if target in done:
                continue
            if now - slot > GRACE:
                async with self.core.db.transaction() as r:
                    skipped = await r.rounds.claim(
                        workspace_id, SITE_DIGEST, period, target, now=slot, status="skipped"
                    )
                if skipped:
                    log.warning(
                        "digest %s of site %s (workspace %s) was due at %s, more than %s "
                        "ago: skipped",
                        period,
                        site_id,
                        workspace_id,
                        slot.isoformat(),
                        GRACE,
                    )
                continue
            posted = await self.send_site_digest(
                workspace_id, config, (site_id, name), channel, slot, now=now
            )
            sent += int(posted)
        return sent

    async def _site_period_start(
        self, r: Repos, workspace_id: int, config: WorkspaceConfig, site_id: int, end: datetime
    ) -> tuple[datetime, bool]:
        """Where the site's digest ending at ``end`` starts, and whether one was already
        posted in its week: the week's slot, or the end of the site's last digest when
        later (an early ``digest send <site>``, or a schedule moved within the week)."""
        start = last_occurrence(config.digest_schedule, config.timezone, end - _INCLUSIVE)
        target = f"site:{site_id}"
        covered = await r.rounds.covered_until(workspace_id, SITE_DIGEST, target, end)
        if covered is not None and covered > start:
            return covered, True
        return start, False

    async def preview_site(self, workspace_id: int, name: str) -> tuple[Digest, WorkspaceConfig]:
        """The next local digest of the site called ``name`` as it stands now (CM's
        ``digest preview <site>``), whether or not it has a channel; nothing is sent."""
        now = self.core.clock()
        config = await self.core.config.get(workspace_id)
        end = now + _INCLUSIVE
        async with self.core.db.read() as r:
            site = await r.sites.find(workspace_id, name)
            if site is None:
                raise NotFound("site.not_found", site=" ".join(name.split())[:SITE_NAME_MAX])
            start, _ = await self._site_period_start(r, workspace_id, config, site.id, end)
            content = await self.digests.build_in(
                r, workspace_id, start, end, site=(site.id, site.name)
            )
        return content, config

    async def send_site_now(self, workspace_id: int, name: str) -> tuple[bool, str, str]:
        """Post the local digest of the site called ``name`` now, in its channel (CM's
        ``digest send <site>``): what it had approved since its last digest, up to now.
        Returns (posted, the site's name, its channel); not posted when one went out this
        week and nothing was approved since. The site's scheduled digest then covers what
        comes after. Raises ``NotFound`` for an unknown site, ``InvalidInput`` for a site
        without a channel."""
        now = self.core.clock()
        config = await self.core.config.get(workspace_id)
        async with self.core.db.read() as r:
            site = await r.sites.find(workspace_id, name)
            if site is None:
                raise NotFound("site.not_found", site=" ".join(name.split())[:SITE_NAME_MAX])
            channel = await r.site_digests.channel(site.id)
        if channel is None:
            raise InvalidInput("digest.site_no_channel", field="site", site=site.name)
        # Its own key, to the second: a double click posts once, the week's key stays free.
        period = f"early:{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        sent = await self.send_site_digest(
            workspace_id,
            config,
            (site.id, site.name),
            channel,
            now + _INCLUSIVE,
            now=now,
            period=period,
        )
        if sent:
            self.core.outbox_changed()
        return sent, site.name, channel

    async def send_site_digest(
        self,
        workspace_id: int,
        config: WorkspaceConfig,
        site: tuple[int, str],
        channel: str,
        end: datetime,
        *,
        now: datetime,
        period: str | None = None,
    ) -> bool:
        """Claim and queue the local digest of ``site`` (id, name) for the period ending
        at ``end`` (the week's slot, or now for an early send with its ``period``): what
        that site's submissions had approved since its last digest (within the week), in
        the workspace's language. An empty week is posted as the national digest's
        encouragement, or recorded as skipped with ``digest_when_empty skip`` or when a
        digest of the site already went out that week. False when the round was claimed
        before (or skipped), or for an early send with nothing new since this week's."""
        early = period is not None
        period, target = period or week_key(end, config.timezone), f"site:{site[0]}"
        async with self.core.db.transaction() as r:
            start, posted_this_week = await self._site_period_start(
                r, workspace_id, config, site[0], end
            )
            digest = await self.digests.build_in(r, workspace_id, start, end, site=site)
            if digest.empty and posted_this_week and early:
                return False
            skip = digest.empty and (posted_this_week or config.digest_when_empty == "skip")
            status = "skipped" if skip else "sent"
            if not await r.rounds.claim(
                workspace_id, SITE_DIGEST, period, target, now=end, status=status
            ):
                return False
            if skip:
                log.info("digest %s of site %s: nothing approved, skipped", period, site[0])
                return False
            await _queue_digest(
                r,
                workspace_id,
                config,
                digest,
                channel,
                now=now,
                dedupe_key=f"site_digest:{workspace_id}:{period}:{site[0]}",
            )
        return True

    # -- nudges -----------------------------------------------------------------------------

    async def _review_reminders(
        self, workspace_id: int, config: WorkspaceConfig, now: datetime
    ) -> int:
        """Submissions waiting past the SLA: one reminder a day to each CM, oldest first."""
        if not working_hours(now, config.timezone, config.working_days):
            return 0
        async with self.core.db.read() as r:
            waiting = await r.submissions.awaiting_review(workspace_id, limit=200)
            late = [
                s
                for s in waiting
                if working_hours_between(s.created_at, now, config.timezone, config.working_days)
                >= config.review_sla_hours
            ]
            if not late:
                return 0
            cms = await r.members.with_role(workspace_id, Role.CM)
            authors = await r.members.views(list({s.author_id for s in late}))
        day = local_day(now, config.timezone).isoformat()
        sent = 0
        for cm in cms:
            t = translator(cm.locale)
            shown = [
                (s.id, authors[s.author_id].display_name, s.created_at) for s in late[:SLA_LIST]
            ]
            message = cards.sla_reminder(
                t, shown, len(late), config.review_sla_hours, config.timezone
            )
            sent += await self._once(cm, "sla", day, message, now)
        return sent

    async def _campaigns(self, workspace_id: int, config: WorkspaceConfig, now: datetime) -> int:
        """A campaign's start is announced once; two days before its end its ambassadors
        get one prompt each (in their working hours)."""
        today = local_day(now, config.timezone)
        sent = 0
        async with self.core.db.read() as r:
            ws = await r.workspaces.get(workspace_id)
            running = await r.campaigns.running(workspace_id, today)
        for campaign in running:
            if config.digest_channel and working_hours(now, config.timezone, config.working_days):
                t = translator(ws.locale)
                text = t(
                    "nudge.campaign_start",
                    title=campaign.title,
                    ends=cards.day(campaign.ends_on, t),
                    brief=campaign.brief,
                )
                message = cards.channel_note(t, text)
                async with self.core.db.transaction() as r:
                    if await r.rounds.claim(
                        workspace_id,
                        "campaign_start",
                        f"campaign:{campaign.id}",
                        config.digest_channel,
                        now=now,
                    ):
                        await notify.channel_post(
                            r,
                            workspace_id=workspace_id,
                            platform=ws.platform,
                            channel=config.digest_channel,
                            message=message,
                            now=now,
                        )
                        sent += 1
            if (campaign.ends_on - today).days == 2:
                sent += await self._campaign_ending(workspace_id, config, campaign, now)
        return sent

    async def _campaign_ending(
        self, workspace_id: int, config: WorkspaceConfig, campaign: Campaign, now: datetime
    ) -> int:
        period = f"campaign:{campaign.id}"
        async with self.core.db.read() as r:
            sites = (await r.campaigns.site_ids([campaign.id])).get(campaign.id)
            rows = await r.rounds.ambassadors_to_nudge(workspace_id, now)
            done = await r.rounds.claimed_targets(workspace_id, "campaign_ending", period)
            people = await r.members.views([m for m, *_ in rows])
        sent = 0
        for person in people.values():
            if person.external_id in done:
                continue
            if sites and person.site_id not in sites:
                continue
            if not working_hours(now, person.timezone or config.timezone, config.working_days):
                continue
            t = translator(person.locale)
            text = t(
                "nudge.campaign_ending", title=campaign.title, ends=cards.day(campaign.ends_on, t)
            )
            sent += await self._once(person, "campaign_ending", period, cards.nudge(t, text), now)
        return sent

    async def _ambassadors(self, workspace_id: int, config: WorkspaceConfig, now: datetime) -> int:
        """Inactive ambassadors (no submission for ``inactive_days``), at most once every
        ``nudge_every_days``; new ambassadors without a first photo after a week, once."""
        inactive_after = timedelta(days=config.inactive_days)
        async with self.core.db.read() as r:
            rows = await r.rounds.ambassadors_to_nudge(workspace_id, now)
            capped = await r.rounds.recent_targets(
                workspace_id, "inactive", now - timedelta(days=config.nudge_every_days)
            )
            welcomed = await r.rounds.claimed_targets(workspace_id, "welcome", "once")
            due: dict[int, str] = {}
            for member_id, since, last in rows:
                if last is None and now - since >= WELCOME_AFTER and since > now - inactive_after:
                    due[member_id] = "welcome"
                elif (last or since) <= now - inactive_after:
                    due[member_id] = "inactive"
            # One query for everyone due, then the caps (they are kept by platform id).
            people = await r.members.views(list(due))
            skip = {"inactive": capped, "welcome": welcomed}
            candidates: list[tuple[str, MemberView]] = [
                (kind, people[member_id])
                for member_id, kind in due.items()
                if people[member_id].external_id not in skip[kind]
            ]
            idea = None
            if any(kind == "welcome" for kind, _ in candidates):
                active = await r.campaigns.active(
                    workspace_id, local_day(now, config.timezone), None
                )
                idea = active[0].title if active else None
        sent = 0
        for kind, person in candidates:
            tz = person.timezone or config.timezone
            if not working_hours(now, tz, config.working_days):
                continue
            t = translator(person.locale)
            if kind == "welcome":
                text = t(
                    "nudge.welcome", name=person.display_name, idea=idea or t("nudge.welcome_idea")
                )
                period = "once"
            else:
                text = t("nudge.inactive", name=person.display_name)
                period = local_day(now, tz).isoformat()
            sent += await self._once(person, kind, period, cards.nudge(t, text), now)
        return sent

    async def _referents(self, workspace_id: int, config: WorkspaceConfig, now: datetime) -> int:
        """Each site's referents: one line a week, at the digest's slot, on the site's
        week (sent, approved, who took part, waiting); and, when they may review
        (``referents_review``), one reminder a day of the site's non-sensitive submissions
        waiting past the SLA, in working hours."""
        slot = last_occurrence(config.digest_schedule, config.timezone, now)
        weekly = now - slot <= GRACE
        remind = config.referents_review and working_hours(
            now, config.timezone, config.working_days
        )
        if not weekly and not remind:
            return 0
        week, day = week_key(slot, config.timezone), local_day(now, config.timezone).isoformat()
        lines: list[tuple[MemberView, str, Message]] = []
        async with self.core.db.read() as r:
            pairs = await r.members.referent_pairs(workspace_id)
            people = await r.members.views(list({m for _, _, m in pairs}))
            for site_id, site_name, member_id in pairs:
                person = people[member_id]
                t = translator(person.locale)
                if weekly:
                    sent, approved, authors = await r.submissions.site_activity(
                        site_id, slot - timedelta(days=7), slot
                    )
                    waiting = await r.submissions.count_awaiting_review(
                        workspace_id, site_ids=[site_id]
                    )
                    text = t(
                        "referent.week",
                        site=site_name,
                        sent=t("referent.sent", count=sent),
                        approved=t("referent.approved", count=approved),
                        authors=t("referent.authors", count=authors),
                        waiting=t("referent.waiting", count=waiting),
                    )
                    lines.append((person, f"site_week:{week}:{site_id}", cards.notice(text)))
                if remind:
                    queue = await r.submissions.awaiting_review(
                        workspace_id, limit=200, site_ids=[site_id]
                    )
                    late = [
                        s
                        for s in queue
                        if s.status == "pending"
                        and not s.sensitive
                        and s.author_id != member_id
                        and working_hours_between(
                            s.created_at, now, config.timezone, config.working_days
                        )
                        >= config.review_sla_hours
                    ]
                    if late:
                        authors_of = await r.members.views(list({s.author_id for s in late}))
                        shown = [
                            (s.id, authors_of[s.author_id].display_name, s.created_at)
                            for s in late[:SLA_LIST]
                        ]
                        message = cards.sla_reminder(
                            t, shown, len(late), config.review_sla_hours, config.timezone
                        )
                        lines.append((person, f"sla_site:{day}:{site_id}", message))
        total = 0
        for person, period, message in lines:
            kind, _, key = period.partition(":")
            total += await self._once(person, kind, key, message, now)
        return total

    async def _consent_reminders(
        self, workspace_id: int, config: WorkspaceConfig, now: datetime
    ) -> int:
        """Consent requests unanswered for ``consent_reminder_hours``: one reminder each,
        ever, in the person's working hours, at most one a day per person (their oldest
        request first; the next one the following day)."""
        before = now - timedelta(hours=config.consent_reminder_hours)
        async with self.core.db.read() as r:
            due = await r.consents.due_reminders(workspace_id, before)
            people = await r.members.views(list({m for _, m, _ in due}))
        sent = 0
        seen: set[int] = set()
        for consent_id, member_id, submission_id in due:
            person = people[member_id]
            if member_id in seen or person.forgotten:
                continue
            seen.add(member_id)
            tz = person.timezone or config.timezone
            if not working_hours(now, tz, config.working_days):
                continue
            day = local_day(now, tz).isoformat()
            async with self.core.db.transaction() as r:
                # The day's cap per person, then the one reminder per request: both
                # conditional writes, so replicas and restarts send it once.
                if not await r.rounds.claim(
                    workspace_id, "consent_reminder", day, person.external_id, now=now
                ):
                    continue
                if not await r.consents.mark_reminded(consent_id, now=now):
                    continue
                view = await load_view(r, submission_id)
                message = cards.consent_reminder(translator(person.locale), view, consent_id)
                await notify.dm(r, person, message, now=now)
            sent += 1
        return sent

    async def _once(
        self, person: MemberView, kind: str, period: str, message: Message, now: datetime
    ) -> int:
        """Claim (kind, period, person) and queue the DM in the same transaction."""
        async with self.core.db.transaction() as r:
            if not await r.rounds.claim(
                person.workspace_id, kind, period, person.external_id, now=now
            ):
                return 0
            await notify.dm(r, person, message, now=now)
        return 1


async def _queue_digest(
    r: Repos,
    workspace_id: int,
    config: WorkspaceConfig,
    digest: Digest,
    channel: str,
    *,
    now: datetime,
    dedupe_key: str,
) -> None:
    """Compose ``digest`` in the workspace's language and queue its post in ``channel``,
    in the transaction that claimed its round (the national digest and a site's)."""
    ws = await r.workspaces.get(workspace_id)
    message = cards.digest_message(translator(ws.locale), digest, config.timezone)
    await notify.channel_post(
        r,
        workspace_id=workspace_id,
        platform=ws.platform,
        channel=channel,
        message=message,
        now=now,
        dedupe_key=dedupe_key,
    )


def _counted(kind: str, sent: int) -> int:
    """``sent`` rounds of ``kind`` claimed and queued by this process (``relais_rounds``)."""
    if sent:
        metrics.ROUNDS.labels(kind).inc(sent)
    return sent
