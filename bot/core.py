"""The composition of the core: settings, database, clock, media intake and services.

Adapters hold one ``Core`` and call its services; nothing here knows about a platform.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot import notify
from bot.links import LibraryLinks, link_secret
from bot.media import MediaIntake, PhotoBudget
from bot.services.campaigns import Campaigns
from bot.services.config import Config
from bot.services.consent import Consents
from bot.services.forms import FormChoices
from bot.services.leaderboard import Leaderboards
from bot.services.onboarding import Onboarding
from bot.services.outside import OutsideCopies
from bot.services.privacy import Forgetting, PersonalData
from bot.services.relay import Relay
from bot.services.retention import Retention
from bot.services.review import Review
from bot.services.roles import Roles
from bot.services.rounds import Rounds
from bot.services.sites import Sites
from bot.services.stats import StatsService
from bot.services.submissions import Submissions
from bot.services.thanks import Thanks
from bot.settings import Settings
from bot.ui import Message
from bot.worker import utcnow
from domain import MemberView, Platform
from storage.db import Database
from storage.media_store import media_store


class Core:
    """Everything a platform adapter needs from Relais."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        review_channels: dict[Platform, str] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.store = media_store(settings.media_dir, settings.media_url)
        # One budget for all photo work of the process: the intake and the adapters'
        # conversions (Slack's WebP -> PNG) share it.
        self.photo_budget = PhotoBudget(settings.photo_memory_bytes)
        self.media = MediaIntake(
            self.store,
            max_bytes=settings.max_photo_bytes,
            max_pixels=settings.relais_max_photo_pixels,
            budget=self.photo_budget,
            max_video_bytes=settings.max_video_bytes,
            max_video_seconds=settings.relais_max_video_seconds,
        )
        self._review_channels = dict(review_channels or {})
        self._outbox_listeners: list[Callable[[], None]] = []
        self._job_listeners: list[Callable[[], None]] = []
        self.onboarding = Onboarding(self)
        self.submissions = Submissions(self)
        self.consents = Consents(self)
        self.review = Review(self)
        self.config = Config(self)
        self.rounds = Rounds(self)
        self.retention = Retention(db, self.store, settings.relais_retention_days, clock)
        self.relay = Relay(self)
        self.stats = StatsService(self)
        self.sites = Sites(self)
        self.roles = Roles(self)
        self.campaigns = Campaigns(self)
        self.forms = FormChoices(self)
        self.privacy = PersonalData(self)
        self.forgetting = Forgetting(self)
        self.outside = OutsideCopies(self)
        self.leaderboard = Leaderboards(self)
        self.thanks = Thanks(self)

    def review_channel_default(self, platform: Platform | str) -> str:
        """Where review cards go on ``platform`` unless a CM chose a channel from chat
        ("" means: to each CM directly)."""
        return self._review_channels.get(Platform(platform), self.settings.relais_review_channel)

    def on_outbox(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each commit that queued messages (wakes dispatchers)."""
        self._outbox_listeners.append(listener)

    def outbox_changed(self) -> None:
        """Signal that new outbox rows were committed."""
        for listener in self._outbox_listeners:
            listener()

    @functools.cached_property
    def library_links(self) -> LibraryLinks:
        """Signed links to the content library page (made on first use: without
        RELAIS_SECRET_KEY or platform secrets the key is random, and says so once)."""
        return LibraryLinks(link_secret(self.settings))

    async def record_exports(self, member: MemberView, keys: list[str]) -> None:
        """Remember files generated from people's data for ``member`` (mydata, export):
        forgetting someone deletes those that hold their name or id."""
        async with self.db.transaction() as r:
            for key in keys:
                await r.personal.record_export(member.workspace_id, member.id, key, self.clock())

    async def send_dm(
        self, member: MemberView, message: Message, *, dedupe_key: str | None = None
    ) -> bool:
        """Queue a DM to ``member`` in its own transaction and wake the dispatchers.

        With ``dedupe_key`` it is queued once: False when a message with that key was
        queued before (a platform delivering the same event again, or a concurrent
        delivery that committed first).
        """
        try:
            async with self.db.transaction() as r:
                if dedupe_key and await r.outbox.has_dedupe_key(dedupe_key):
                    return False
                await notify.dm(r, member, message, now=self.clock(), dedupe_key=dedupe_key)
        except IntegrityError:
            if dedupe_key is None:
                raise
            return False
        self.outbox_changed()
        return True

    def on_jobs(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each commit that queued a job (wakes job runners)."""
        self._job_listeners.append(listener)

    def jobs_changed(self) -> None:
        """Signal that new jobs were committed."""
        for listener in self._job_listeners:
            listener()
