"""Roles granted from chat: CMs and approvers (by an admin), site referents (by a CM).

The settings (``RELAIS_CMS``, ``RELAIS_APPROVERS``, ``RELAIS_ADMINS``) stay the bootstrap,
granted at start; what is granted here is stored in the database (``member_roles``,
``site_referents``), recorded in ``audit_events`` and told to the person by DM.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import cards, notify
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import translator
from domain import MemberView, Role
from storage.models import Member
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

#: Roles a person can be given from chat, and who may give them.
GRANTABLE: dict[Role, Role] = {
    Role.CM: Role.ADMIN,
    Role.APPROVER: Role.ADMIN,
    Role.REFERENT: Role.CM,
}

# A person as the platforms write them in a command's text: Slack's escaped mention
# (``<@U123>``, older clients ``<@U123|name>``), the Teams adapter's rewrite of a mention
# to the same form (``<@object-id|Name>``), or ``@name`` / a bare id typed in the console.
_MENTION = re.compile(r"<@([^>|\s]+)(?:\|([^>]*))?>")


def person_token(text: str) -> tuple[str, str]:
    """(the platform id or word typed, the name a mention carried or "")."""
    found = _MENTION.fullmatch(text.strip())
    if found:
        return found.group(1), (found.group(2) or "").strip()
    return text.strip().removeprefix("@"), ""


async def find_person(r: Repos, workspace_id: int, token: str) -> Member:
    """The member a mention, an id or a display name means; NotFound otherwise."""
    who, name = person_token(token)
    row = await r.members.find(workspace_id, who) if who else None
    for candidate in (who, name):
        if row is None and candidate:
            row = await r.members.by_name(workspace_id, candidate)
    if row is None:
        raise NotFound("error.member_not_found", who=(name or who)[:80] or "?")
    return row


class Roles:
    """Grant, revoke and list roles; one transaction each, audited, the person told."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def _checked(self, r: Repos, actor: MemberView, role: Role) -> MemberView:
        needed = GRANTABLE.get(role)
        if needed is None:
            raise InvalidInput("role.unknown", field="role", role=role.value)
        fresh = await r.members.view(actor.id)
        if not fresh.has(needed):
            raise NotAllowed("error.admins_only" if needed is Role.ADMIN else "error.not_allowed")
        return fresh

    async def grant(
        self, actor: MemberView, person: str, role: Role, site: str = ""
    ) -> tuple[MemberView, bool, str]:
        """Give ``role`` (for a referent: of ``site``). Returns (the person, whether it is
        new, the site's name)."""
        return await self._change(actor, person, role, site, grant=True)

    async def revoke(
        self, actor: MemberView, person: str, role: Role, site: str = ""
    ) -> tuple[MemberView, bool, str]:
        """Take ``role`` away (a referent: of ``site``, or of every site when none)."""
        return await self._change(actor, person, role, site, grant=False)

    async def _change(
        self, actor: MemberView, person: str, role: Role, site_name: str, *, grant: bool
    ) -> tuple[MemberView, bool, str]:
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            fresh = await self._checked(r, actor, role)
            target = await find_person(r, fresh.workspace_id, person)
            site_id: int | None = None
            shown_site = ""
            if role is Role.REFERENT and (grant or site_name.strip()):
                if not site_name.strip():
                    raise InvalidInput("role.site_missing", field="site")
                site = await r.sites.find(fresh.workspace_id, site_name)
                if site is None:
                    raise NotFound("site.not_found", site=" ".join(site_name.split())[:120])
                site_id, shown_site = site.id, site.name
            if role is Role.REFERENT:
                if grant:
                    assert site_id is not None
                    changed = await r.members.grant_referent(
                        target.id, site_id, now=now, by=fresh.id
                    )
                else:
                    changed = bool(await r.members.revoke_referent(target.id, site_id))
            elif grant:
                changed = await r.members.grant(target.id, role, now=now, by=fresh.id)
            else:
                changed = await r.members.revoke(target.id, role)
            view = await r.members.view(target.id)
            if changed:
                await r.audit.add(
                    fresh.workspace_id,
                    actor_id=fresh.id,
                    action="role.grant" if grant else "role.revoke",
                    subject=target.external_id,
                    detail={"role": role.value, "site": shown_site or None, "member_id": target.id},
                    now=now,
                )
                t = translator(view.locale)
                message = cards.role_changed_dm(
                    t, role, granted=grant, site=shown_site, by=fresh.display_name
                )
                await notify.dm(r, view, message, now=now)
        if changed:
            self.core.outbox_changed()
        return view, changed, shown_site

    async def staff(self, workspace_id: int) -> list[tuple[MemberView, list[str]]]:
        """Who holds which role (``/relais role list``)."""
        async with self.core.db.read() as r:
            return await r.members.staff(workspace_id)
