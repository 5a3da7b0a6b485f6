"""Workspace settings CMs change from chat, with the environment as defaults.

``/relais config`` (Slack) or ``config`` (Teams) lists them; ``config <key> <value>``
changes one without a restart. Values are checked here, so a typo gets a clear
message instead of a silent default.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.schedule import WEEKDAYS, WeeklySlot, format_days, parse_days, parse_slot
from domain import SITE_NAME_MAX, MemberView, Platform, Role
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

# key -> (kind, lower bound, upper bound) for numbers.
KEYS: dict[str, tuple[str, int, int]] = {
    "review_channel": ("channel", 0, 0),
    "digest_channel": ("channel", 0, 0),
    "digest_schedule": ("slot", 0, 0),
    "digest_when_empty": ("choice", 0, 0),
    "timezone": ("timezone", 0, 0),
    # The days nudges and reminders may be sent on, and SLA hours counted (9:00-18:00).
    "working_days": ("days", 0, 0),
    "inactive_days": ("int", 3, 365),
    "nudge_every_days": ("int", 1, 365),
    "review_sla_hours": ("int", 1, 720),
    "nudges": ("onoff", 0, 0),
    "self_review": ("onoff", 0, 0),
    "referents_review": ("onoff", 0, 0),
    # What ``/relais forget`` does with the person's approved submissions.
    "forget_approved": ("choice", 0, 0),
    # Faces blurred in the copy of a photo used outside the company (bot/services/outside.py).
    "face_blur": ("onoff", 0, 0),
    # Points credited in the ledger (bot/services/recognition.py), one reason each.
    "points_approved": ("int", 0, 1000),
    "points_first": ("int", 0, 1000),
    "points_campaign": ("int", 0, 1000),
    "points_referent": ("int", 0, 1000),
    # Approval for use outside the company while someone named in a photo declined or
    # has not answered: refused (block), or allowed with a warning on the card (warn).
    "consent_rule": ("choice", 0, 0),
    # Hours before one reminder goes to someone who has not answered a consent request.
    "consent_reminder_hours": ("int", 1, 720),
}
#: Seconds a workspace's settings are reused on the request path (``Config.recent``).
RECENT_TTL = 5.0
CHOICES = {
    "digest_when_empty": ("send", "skip"),
    "forget_approved": ("anonymise", "delete"),
    "consent_rule": ("block", "warn"),
}
# Words for on and off, in English and French, compared without accents; stored as on/off.
ON_WORDS = frozenset(
    "on yes y true 1 enable enabled oui o vrai actif active activee activer".split()
)
OFF_WORDS = frozenset(
    "off no n false 0 disable disabled non faux inactif inactive desactive desactivee "
    "desactiver".split()
)


def parse_onoff(value: str) -> str | None:
    """``"on"`` or ``"off"`` for a word that means it (``oui``, ``non``, ``activé``,
    ``désactivé``, ``off``...), None for anything else."""
    decomposed = unicodedata.normalize("NFKD", value.strip().lower())
    word = "".join(c for c in decomposed if not unicodedata.combining(c))
    if word in ON_WORDS:
        return "on"
    if word in OFF_WORDS:
        return "off"
    return None


@dataclass(frozen=True)
class WorkspaceConfig:
    """The effective settings of one workspace."""

    review_channel: str
    digest_channel: str
    digest_schedule: WeeklySlot
    digest_when_empty: str
    timezone: str
    inactive_days: int
    nudge_every_days: int
    review_sla_hours: int
    nudges: bool
    self_review: bool = False
    # Site referents may approve or request changes on their site's non-sensitive
    # submissions (the short circuit close to the field).
    referents_review: bool = False
    # ``/relais forget``: approved submissions kept with the author anonymised
    # ("a colleague from Lyon"), or deleted like the rest.
    forget_approved: str = "anonymise"
    # Faces of people who did not agree blurred in the copy used outside the company.
    face_blur: bool = False
    # Points: an approved submission, the bonus for a member's first approved one, the
    # bonus for one sent to a campaign, a referent's decision on their site's submission.
    points_approved: int = 10
    points_first: int = 20
    points_campaign: int = 5
    points_referent: int = 2
    # ``block``: no approval for use outside the company while consent is incomplete
    # ("internal use only" stays possible); ``warn``: allowed, the card says so.
    consent_rule: str = "block"
    consent_reminder_hours: int = 48
    working_days: frozenset[int] = WEEKDAYS

    def shown(self) -> list[tuple[str, str]]:
        """(key, value) pairs as people read them."""
        return [
            ("review_channel", self.review_channel or "-"),
            ("digest_channel", self.digest_channel or "-"),
            ("digest_schedule", str(self.digest_schedule)),
            ("digest_when_empty", self.digest_when_empty),
            ("timezone", self.timezone),
            ("working_days", format_days(self.working_days)),
            ("inactive_days", str(self.inactive_days)),
            ("nudge_every_days", str(self.nudge_every_days)),
            ("review_sla_hours", str(self.review_sla_hours)),
            ("nudges", "on" if self.nudges else "off"),
            ("self_review", "on" if self.self_review else "off"),
            ("referents_review", "on" if self.referents_review else "off"),
            ("forget_approved", self.forget_approved),
            ("face_blur", "on" if self.face_blur else "off"),
            ("points_approved", str(self.points_approved)),
            ("points_first", str(self.points_first)),
            ("points_campaign", str(self.points_campaign)),
            ("points_referent", str(self.points_referent)),
            ("consent_rule", self.consent_rule),
            ("consent_reminder_hours", str(self.consent_reminder_hours)),
        ]


class Config:
    """Reads and changes workspace settings."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._recent: dict[int, tuple[float, WorkspaceConfig]] = {}

    async def load(self, r: Repos, workspace_id: int, platform: str = "") -> WorkspaceConfig:
        """The effective settings: chat-set values over environment defaults."""
        env = self.core.settings
        ws = await r.workspaces.get(workspace_id)
        stored = await r.settings.all(workspace_id)
        default_review = self.core.review_channel_default(platform or ws.platform)
        slot = parse_slot(stored.get("digest_schedule", env.relais_digest_schedule))
        return WorkspaceConfig(
            review_channel=stored.get("review_channel", default_review),
            digest_channel=stored.get("digest_channel", env.relais_digest_channel),
            digest_schedule=slot or parse_slot("fri 16:00"),  # type: ignore[arg-type]
            digest_when_empty=stored.get("digest_when_empty", "send"),
            timezone=stored.get("timezone", env.relais_timezone),
            inactive_days=int(stored.get("inactive_days", 21)),
            nudge_every_days=int(stored.get("nudge_every_days", 14)),
            review_sla_hours=int(stored.get("review_sla_hours", 24)),
            nudges=stored.get("nudges", "on") == "on",
            self_review=stored.get("self_review", "off") == "on",
            referents_review=stored.get("referents_review", "off") == "on",
            forget_approved=stored.get("forget_approved", "anonymise"),
            face_blur=stored.get("face_blur", "off") == "on",
            points_approved=int(stored.get("points_approved", env.relais_points_per_approval)),
            points_first=int(stored.get("points_first", env.relais_points_first)),
            points_campaign=int(stored.get("points_campaign", env.relais_points_campaign)),
            points_referent=int(stored.get("points_referent", env.relais_points_referent)),
            consent_rule=stored.get("consent_rule", "block"),
            consent_reminder_hours=int(stored.get("consent_reminder_hours", 48)),
            working_days=parse_days(stored.get("working_days", env.relais_working_days))
            or WEEKDAYS,
        )

    async def get(self, workspace_id: int) -> WorkspaceConfig:
        """``load`` in its own read."""
        async with self.core.db.read() as r:
            return await self.load(r, workspace_id)

    async def recent(self, workspace_id: int) -> WorkspaceConfig:
        """``get``, read at most once per ``RECENT_TTL`` seconds per workspace in this
        process (on the request path: a change made here is seen at once, one made on
        another replica within the TTL)."""
        now = time.monotonic()
        known = self._recent.get(workspace_id)
        if known is not None and known[0] > now:
            return known[1]
        config = await self.get(workspace_id)
        self._recent[workspace_id] = (now + RECENT_TTL, config)
        return config

    async def set(self, actor: MemberView, key: str, value: str) -> str:
        """Change one setting (CM or admin); returns the value as stored."""
        key = key.strip().lower()
        if key not in KEYS:
            raise InvalidInput("config.unknown_key", field="key", key=key, keys=", ".join(KEYS))
        stored = self._check(key, value.strip())
        async with self.core.db.transaction() as r:
            if not (await r.members.view(actor.id)).has(Role.CM):
                raise NotAllowed()
            await r.settings.set(
                actor.workspace_id, key, stored, by=actor.id, now=self.core.clock()
            )
        self._recent.pop(actor.workspace_id, None)
        return stored

    async def set_site_digest(
        self, actor: MemberView, site_name: str, channel: str | None
    ) -> tuple[str, str | None, bool]:
        """Give a site its own weekly digest in ``channel`` (a channel mention or id as
        typed), or stop it (``channel`` None). Returns (site name, channel as stored or
        None, whether anything changed). On Teams the channel must be one Relais knows
        (its team added the app): Relais can only post where it has a conversation."""
        stored = self._check("digest_channel", channel) if channel is not None else None
        async with self.core.db.transaction() as r:
            if not (await r.members.view(actor.id)).has(Role.CM):
                raise NotAllowed()
            site = await r.sites.find(actor.workspace_id, site_name)
            if site is None:
                shown = " ".join(site_name.split())[:SITE_NAME_MAX]
                raise NotFound("site.not_found", site=shown)
            if stored is None:
                return site.name, None, await r.site_digests.clear(site.id)
            ws = await r.workspaces.get(actor.workspace_id)
            if ws.platform == Platform.TEAMS.value and not await r.conversations.get(
                actor.workspace_id, "channel", stored
            ):
                raise InvalidInput(
                    "config.site_digest_unknown_channel",
                    field="channel",
                    channel=stored,
                    site=site.name,
                )
            await r.site_digests.set(
                actor.workspace_id, site.id, stored, by=actor.id, now=self.core.clock()
            )
            return site.name, stored, True

    async def site_digests(self, workspace_id: int) -> list[tuple[str, str]]:
        """(site name, channel) of every site with its own digest, by name."""
        async with self.core.db.read() as r:
            return [(name, ch) for _, name, ch in await r.site_digests.channels(workspace_id)]

    def _check(self, key: str, value: str) -> str:
        kind, low, high = KEYS[key]
        if kind == "channel":
            channel = value.strip("<>#").split("|")[0]
            if not channel:
                raise InvalidInput("config.bad_value", field=key, key=key, value=value)
            return channel
        if kind == "slot":
            slot = parse_slot(value)
            if slot is None:
                raise InvalidInput("config.bad_slot", field=key, value=value)
            return str(slot)
        if kind == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput("config.bad_timezone", field=key, value=value) from None
            return value
        if kind == "days":
            days = parse_days(value)
            if days is None:
                raise InvalidInput("config.bad_days", field=key, value=value)
            return format_days(days)
        if kind == "onoff":
            word = parse_onoff(value)
            if word is None:
                raise InvalidInput("config.bad_value", field=key, key=key, value=value)
            return word
        if kind == "choice":
            if value.lower() not in CHOICES[key]:
                raise InvalidInput("config.bad_value", field=key, key=key, value=value)
            return value.lower()
        if not value.isdigit() or not low <= int(value) <= high:
            raise InvalidInput("config.bad_number", field=key, key=key, low=low, high=high)
        return str(int(value))
