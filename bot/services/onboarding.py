"""Onboarding: who someone is, the charter, joining and leaving, roles and sites."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import TYPE_CHECKING

from bot import cards, notify
from bot.errors import CharterChanged, InvalidInput, NotAllowed, NotFound
from bot.i18n import normalise_locale, translate, translator
from bot.services.config import parse_onoff
from domain import (
    BadgeCode,
    Charter,
    MemberView,
    Platform,
    Profile,
    Role,
    Status,
    SubmissionLine,
    site_key,
)
from storage.models import Submission
from storage.repositories import Repos

#: ``/relais config me`` keys (English names, shown in lists) and the words for them.
PREFERENCES = ("leaderboard", "share_badges")
PREFERENCE_WORDS = {
    "leaderboard": "leaderboard",
    "classement": "leaderboard",
    "share_badges": "share_badges",
    "badges": "share_badges",
    "partage_badges": "share_badges",
}

if TYPE_CHECKING:
    from bot.core import Core


def _require_ids(workspace_external_id: str, user_external_id: str) -> None:
    """Adapters refuse requests without both ids; an empty one here is a bug upstream."""
    if not workspace_external_id or not user_external_id:
        raise ValueError("a member needs a workspace id and a user id (one is empty)")


class Onboarding:
    """Identity, charter gating, membership and roles."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def identify(
        self,
        platform: Platform,
        workspace_external_id: str,
        user_external_id: str,
        *,
        display_name: str = "",
        locale: str | None = None,
        timezone: str | None = None,
    ) -> MemberView:
        """The member behind a platform user, created on first sight.

        Bootstraps the workspace (with charter version 1, and the people named in
        ``RELAIS_CMS``, ``RELAIS_APPROVERS`` and ``RELAIS_ADMINS`` with their roles) and
        grants those roles to a member named there.
        """
        _require_ids(workspace_external_id, user_external_id)
        settings, now = self.core.settings, self.core.clock()
        async with self.core.db.transaction() as r:
            ws = await r.workspaces.get_or_create(
                platform,
                workspace_external_id,
                locale=settings.relais_locale,
                timezone=settings.relais_timezone,
                now=now,
            )
            if await r.charters.current(ws.id) is None:  # a new workspace
                await r.charters.publish(ws.id, self.default_charter_text(ws.locale), now=now)
                await self._name_people_from_settings(r, ws.id, platform, now=now)
            member = await r.members.get_or_create(
                ws.id,
                user_external_id,
                display_name=display_name,
                locale=normalise_locale(locale) if locale else None,
                timezone=timezone,
                now=now,
            )
            for role in self._bootstrap_roles(user_external_id):
                await r.members.grant(member.id, role, now=now)
            return await r.members.view(member.id)

    async def roles_from_settings(self) -> int:
        """Give the roles named in the settings in every known workspace; returns how many
        were new. Called at start (``serve``, ``console``), so a person added to
        ``RELAIS_APPROVERS`` counts at once, before they ever write to Relais."""
        granted = 0
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            for workspace_id in await r.workspaces.ids():
                ws = await r.workspaces.get(workspace_id)
                granted += await self._name_people_from_settings(
                    r, ws.id, Platform(ws.platform), now=now
                )
        return granted

    async def _name_people_from_settings(
        self, r: Repos, workspace_id: int, platform: Platform, *, now: datetime
    ) -> int:
        """Create the members named in the settings (ids of this platform) with their roles.

        A row made here has the platform id as its name until the person writes to Relais;
        it is enough to escalate to them and to message them (Slack opens a DM from a user
        id; Teams needs a conversation reference, saved when the person installs the app or
        writes to it; until then a message to them is a dead letter naming them).
        """
        people: dict[str, set[Role]] = {}
        settings = self.core.settings
        for role, ids in (
            (Role.CM, settings.relais_cms),
            (Role.APPROVER, settings.relais_approvers),
            (Role.ADMIN, settings.relais_admins),
        ):
            for external_id in ids:
                if belongs_to(platform, external_id):
                    people.setdefault(external_id, set()).add(role)
        granted = 0
        for external_id, roles in people.items():
            row = await r.members.get_or_create(
                workspace_id, external_id, display_name="", locale=None, timezone=None, now=now
            )
            for role in sorted(roles):
                granted += await r.members.grant(row.id, role, now=now)
        return granted

    def _bootstrap_roles(self, user_external_id: str) -> frozenset[Role]:
        settings = self.core.settings
        return frozenset(
            role
            for role, ids in (
                (Role.CM, settings.relais_cms),
                (Role.APPROVER, settings.relais_approvers),
                (Role.ADMIN, settings.relais_admins),
            )
            if user_external_id in ids
        )

    async def member(
        self, platform: Platform, workspace_external_id: str, user_external_id: str
    ) -> MemberView:
        """``find`` the member, else ``identify`` them (work done later, in a job)."""
        found = await self.find(platform, workspace_external_id, user_external_id)
        if found is not None:
            return found
        return await self.identify(platform, workspace_external_id, user_external_id)

    async def find(
        self, platform: Platform, workspace_external_id: str, user_external_id: str
    ) -> MemberView | None:
        """The member if already known and up to date, without taking a write lock.

        None means: call ``identify`` (first sight; a member created from the settings
        who writes for the first time, whose name is still their id; or a role from the
        settings that this member does not hold yet). Adapters call this first on every
        request so the common case is one read.
        """
        _require_ids(workspace_external_id, user_external_id)
        async with self.core.db.read() as r:
            ws = await r.workspaces.find(platform, workspace_external_id)
            row = await r.members.find(ws.id, user_external_id) if ws is not None else None
            view = await r.members.view(row.id) if row is not None else None
        if view is None or view.display_name == view.external_id:
            return None
        if self._bootstrap_roles(user_external_id) - view.roles:
            return None
        return view

    def default_charter_text(self, locale: str) -> str:
        """``RELAIS_CHARTER_FILE`` when set, else the built-in charter in ``locale``."""
        path = self.core.settings.relais_charter_file
        if path is not None:
            return path.read_text(encoding="utf-8").strip()
        return translate(locale, "charter.default")

    async def sync_charter_file(self) -> list[int]:
        """Publish ``RELAIS_CHARTER_FILE`` as a new version wherever its text changed.

        Called at start: editing the file and restarting asks every ambassador to accept
        the new text before their next submission. Returns the workspaces updated.
        """
        if self.core.settings.relais_charter_file is None:
            return []
        text = self.default_charter_text(self.core.settings.relais_locale)
        updated: list[int] = []
        async with self.core.db.transaction() as r:
            for workspace_id in await r.workspaces.ids():
                current = await r.charters.current(workspace_id)
                if current is None or current.text != text:
                    await r.charters.publish(workspace_id, text, now=self.core.clock())
                    updated.append(workspace_id)
        return updated

    async def charter(self, member: MemberView) -> Charter:
        """The current charter and the version this member accepted."""
        async with self.core.db.read() as r:
            return await self._charter(r, member)

    async def _charter(self, r: Repos, member: MemberView) -> Charter:
        """An acceptance counts while the member is an ambassador: leaving ends it (its
        rows stay, the record of who accepted which version when), and joining again
        means accepting the charter again."""
        current = await r.charters.current(member.workspace_id)
        if current is None:
            raise NotFound("error.no_charter")
        ambassador = Role.AMBASSADOR in await r.members.roles(member.id)
        accepted = await r.charters.accepted_version(member.id) if ambassador else None
        return Charter(version=current.version, text=current.text, accepted_version=accepted)

    async def publish_charter(self, actor: MemberView, text: str) -> int:
        """Publish a new charter version (CM); every ambassador must accept it again, and
        each is told by DM what changed, with a button to read and accept it."""
        if not text.strip():
            raise InvalidInput("error.charter_empty", field="text")
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            fresh = await r.members.view(actor.id)
            if not fresh.has(Role.CM):
                raise NotAllowed()
            before = await r.charters.current(actor.workspace_id)
            row = await r.charters.publish(actor.workspace_id, text.strip(), now=now, by=actor.id)
            changes = charter_changes(before.text if before else "", row.text)
            people = await r.members.views(
                [m for m, _ in await r.charters.ambassadors_versions(actor.workspace_id)]
            )
            for person in people.values():
                t = translator(person.locale)
                message = cards.charter_changed_dm(t, row.version, changes, fresh.display_name)
                await notify.dm(r, person, message, now=now)
            version = row.version
        if people:
            self.core.outbox_changed()
        return version

    async def charter_overview(
        self, member: MemberView
    ) -> tuple[Charter, list[tuple[str, int | None]] | None]:
        """The current charter and, for a CM, who accepted which version (None otherwise)."""
        async with self.core.db.read() as r:
            charter = await self._charter(r, member)
            fresh = await r.members.view(member.id)
            if not fresh.has(Role.CM):
                return charter, None
            rows = await r.charters.ambassadors_versions(member.workspace_id)
            people = await r.members.views([m for m, _ in rows])
            return charter, [(people[m].display_name, v) for m, v in rows]

    async def join(
        self, member: MemberView, *, charter_version: int, site_id: int | None = None
    ) -> MemberView:
        """Make ``member`` an ambassador, recording acceptance of ``charter_version`` and,
        when given, the site they picked from the list.

        Refused with ``CharterChanged`` when a newer version was published after the
        member read it: they must read the new one.
        """
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            current = await r.charters.current(member.workspace_id)
            if current is None or current.version != charter_version:
                raise CharterChanged(version=current.version if current else 0)
            if site_id is not None:
                site = await r.sites.get(site_id)
                if site is None or site.workspace_id != member.workspace_id:
                    raise InvalidInput("error.unknown_site", field="site")
            await r.charters.accept(member.id, current.id, now=now)
            await r.members.grant(member.id, Role.AMBASSADOR, now=now)
            if site_id is not None:
                await r.members.set_site(member.id, site_id)
            return await r.members.view(member.id)

    async def leave(self, member: MemberView) -> bool:
        """Stop being an ambassador; False when the member was not one."""
        async with self.core.db.transaction() as r:
            return await r.members.revoke(member.id, Role.AMBASSADOR)

    async def snooze(
        self, member: MemberView, until: datetime | None, *, opt_out: bool = False
    ) -> None:
        """Silence nudges until ``until`` (None: nudges back on); ``opt_out``: for good."""
        async with self.core.db.transaction() as r:
            await r.members.set_snooze(member.id, until, opt_out=opt_out)

    async def set_preference(self, member: MemberView, key: str, value: str) -> tuple[str, str]:
        """``/relais config me <key> on|off``: (the key's English name, "on" or "off").

        ``leaderboard``: shown by name on ``/relais leaderboard`` (on by default; off still
        counts the member, without the name). ``share_badges``: badges announced in the
        ambassadors' channel too (off until the member turns it on).
        """
        name = PREFERENCE_WORDS.get(site_key(key).replace(" ", "_"))
        if name is None:
            raise InvalidInput(
                "me.prefs_unknown", field="key", key=key[:40], keys=", ".join(PREFERENCES)
            )
        state = parse_onoff(value)
        if state is None:
            raise InvalidInput("config.bad_value", field="value", key=name, value=value[:40])
        on = state == "on"
        async with self.core.db.transaction() as r:
            if name == "leaderboard":
                await r.members.set_preferences(member.id, leaderboard_hidden=not on)
            else:
                await r.members.set_preferences(member.id, badges_public=on)
        return name, state

    async def profile(self, member: MemberView) -> Profile:
        """Everything ``/relais me`` shows about a member."""
        async with self.core.db.read() as r:
            fresh = await r.members.view(member.id)
            row = await r.members.row(member.id)
            site = await r.sites.get(fresh.site_id) if fresh.site_id else None
            recent = await r.submissions.by_author(member.id, limit=10)
            # Reviewers see the whole queue; a site's referent sees that site's.
            reviewer = fresh.has(Role.CM, Role.APPROVER)
            sites = None if reviewer else fresh.referent_sites
            awaiting = (
                await r.submissions.awaiting_review(member.workspace_id, limit=10, site_ids=sites)
                if reviewer or sites
                else []
            )
            return Profile(
                member=fresh,
                site_name=site.name if site else None,
                points=await r.points.balance(member.id),
                charter=await self._charter(r, fresh),
                snoozed_until=row.snoozed_until,
                recent=tuple(_line(s) for s in recent),
                awaiting_review=tuple(_line(s) for s in awaiting),
                awaiting_count=(
                    await r.submissions.count_awaiting_review(member.workspace_id, site_ids=sites)
                    if awaiting
                    else 0
                ),
                badges=tuple(BadgeCode(code) for code in await r.badges.of(member.id)),
            )


# Slack user ids: U… in a workspace, W… across an Enterprise Grid.
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def belongs_to(platform: Platform, external_id: str) -> bool:
    """Whether an id from ``RELAIS_CMS``/``APPROVERS``/``ADMINS`` is a person of
    ``platform``: the lists are shared by every platform, and a Slack id must not become a
    member of a Teams tenant (nor an Entra object id a member of a Slack workspace). The
    console takes every id."""
    if platform is Platform.SLACK:
        return _SLACK_USER_ID.fullmatch(external_id) is not None
    if platform is Platform.TEAMS:
        return _SLACK_USER_ID.fullmatch(external_id) is None
    return True


#: Changed lines a charter DM or preview shows (the rest is counted).
CHANGES_SHOWN = 20


def charter_changes(old: str, new: str) -> list[str]:
    """The lines added (``+ ``) and removed (``- ``) from one charter text to the next."""
    return [
        line
        for line in difflib.ndiff(old.splitlines(), new.splitlines())
        if line.startswith(("+ ", "- ")) and line[2:].strip()
    ]


def _line(row: Submission) -> SubmissionLine:
    return SubmissionLine(
        id=row.id, caption=row.caption, status=Status(row.status), created_at=row.created_at
    )
