"""What the submission form offers, cached per workspace, so the form opens at once.

Slack's ``trigger_id`` expires 3 s after a person types ``/submit``: under a burst the
form must not wait for three database reads per person. This cache keeps, per
workspace, the sites, the campaigns running today (per site) and the current charter
version, and per member the charter version they were last seen to have accepted. It
is checked with one cheap read: ``(latest audit row, latest charter version row)`` over
all workspaces (``AuditRepository.form_version``, two primary-key maxima). Every change
of sites (add, rename, merge, import) and campaigns (new, close) writes an audit row in
its own transaction, and publishing a charter adds a row, so that pair moves on with
every change that matters, made by this process or by another replica on the same
database; a change in any workspace reloads each workspace's entry once (changes are
a CM's, rare; a reload is one read).

Why a version read rather than a TTL: a TTL short enough for the CM who just added a
site ("it is not in the form!") would make every burst read the database anyway; the
version read is one statement, and the requests arriving together share it: a request
uses a read that started at most ``VERSION_FRESH`` (0.1 s) before it arrived (so it sees
every change committed that long before it), else waits for the next one; a burst makes
about ten reads a second, and most of its forms wait for none. The read is bounded
(``VERSION_WAIT``): when the database is slow or away the form opens from what is cached
(what was offered a moment ago), and the submission itself checks everything again when
it is recorded. In this process a change also drops the workspace's entry at once
(``invalidate``), whatever the database answers.

Only a positive answer about a member is kept (they accepted version N, so they may
submit while N is current and they are an ambassador); anyone else reads the charter
as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.schedule import local_day
from domain import Charter, MemberView, Role

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

#: Seconds a form waits for the version read before it opens from the cache.
VERSION_WAIT = 0.5
#: A version read that started at most this many seconds before a request arrived is
#: recent enough for it: a change made on another replica is offered by the forms asked
#: for from then on (in this process, at once).
VERSION_FRESH = 0.1
#: Members whose accepted charter version is remembered (the oldest are dropped).
MEMBERS_MAX = 50_000

Choices = list[tuple[int, str]]


@dataclass
class _Entry:
    version: tuple[int, int]  # the form version it was read at
    charter: int | None  # the workspace's current charter version
    timezone: str
    sites: Choices
    campaigns: dict[tuple[int | None, date], Choices] = field(default_factory=dict)


class FormChoices:
    """The submission form's choices and who may see it, per workspace (module doc)."""

    def __init__(
        self, core: Core, *, wait: float = VERSION_WAIT, fresh: float = VERSION_FRESH
    ) -> None:
        self.core = core
        self.wait = wait
        self.fresh = fresh
        self._entries: dict[int, _Entry] = {}
        # The latest version read: (loop time it started, the read).
        self._read: tuple[float, asyncio.Future[tuple[int, int]]] | None = None
        self._accepted: OrderedDict[int, int] = OrderedDict()

    def invalidate(self, workspace_id: int) -> None:
        """Forget what is cached for ``workspace_id`` (its sites or campaigns changed)."""
        self._entries.pop(workspace_id, None)

    @asynccontextmanager
    async def changing(self, workspace_id: int) -> AsyncIterator[None]:
        """Around a transaction that changes the workspace's sites or campaigns: its entry
        is dropped once the transaction is over (committed or not), so the next form of
        this process reads them again even if the version read cannot answer.
        ``async with forms.changing(ws), db.transaction() as r:``"""
        try:
            yield
        finally:
            self.invalidate(workspace_id)

    async def version(self) -> tuple[int, int] | None:
        """The form version as of now or later; None when the database did not answer
        within ``wait`` seconds (the read goes on for the requests behind)."""
        loop = asyncio.get_running_loop()
        arrived = loop.time() - self.fresh
        deadline = arrived + self.fresh + self.wait
        while True:
            current = self._read
            if current is None or (current[1].done() and current[0] < arrived):
                current = (loop.time(), loop.create_task(self._read_version()))
                current[1].add_done_callback(_retrieved)
                self._read = current
            started, read = current
            left = deadline - loop.time()
            if left <= 0:
                return None
            done, _ = await asyncio.wait({read}, timeout=left)
            if not done:
                return None
            if started >= arrived:
                if read.cancelled() or read.exception() is not None:
                    return None
                return read.result()
            # A read that began before this request: the next one will do.

    async def _read_version(self) -> tuple[int, int]:
        async with self.core.db.read() as r:
            return await r.audit.form_version()

    async def for_submit(self, member: MemberView) -> Charter | tuple[Choices, Choices]:
        """``/submit``: the charter to read first, or the form's (sites, campaigns)."""
        entry = await self._entry(member.workspace_id, await self.version())
        charter = await self._charter(member, entry)
        if charter is not None:
            return charter
        return await self._choices(member, entry)

    async def choices(self, member: MemberView) -> tuple[Choices, Choices]:
        """Sites and the campaigns running today for the member's site."""
        return await self._choices(
            member, await self._entry(member.workspace_id, await self.version())
        )

    async def _entry(self, workspace_id: int, version: tuple[int, int] | None) -> _Entry:
        """The workspace's entry, read again when the version moved on (or is unknown and
        nothing is cached)."""
        entry = self._entries.get(workspace_id)
        if entry is None or (version is not None and entry.version != version):
            entry = await self._load(workspace_id, version)
        if version is not None:
            # The database answers: the workspace's time zone as settings say (TTL-cached).
            timezone = (await self.core.config.recent(workspace_id)).timezone
            if timezone != entry.timezone:
                entry.timezone, entry.campaigns = timezone, {}
        return entry

    async def _charter(self, member: MemberView, entry: _Entry) -> Charter | None:
        """None when ``member`` may submit (an ambassador who accepted the current charter),
        else the charter to read first. Read from the cache when the member was seen to
        accept the version that is still current."""
        if (
            entry.charter is not None
            and Role.AMBASSADOR in member.roles
            and self._accepted.get(member.id) == entry.charter
        ):
            return None
        charter = await self.core.onboarding.charter(member)
        if Role.AMBASSADOR in member.roles and charter.accepted:
            self._remember(member.id, charter.version)
            return None
        return charter

    def _remember(self, member_id: int, version: int) -> None:
        self._accepted[member_id] = version
        self._accepted.move_to_end(member_id)
        while len(self._accepted) > MEMBERS_MAX:
            self._accepted.popitem(last=False)

    async def _choices(self, member: MemberView, entry: _Entry) -> tuple[Choices, Choices]:
        ws = member.workspace_id
        today = local_day(self.core.clock(), entry.timezone)
        key = (member.site_id, today)
        campaigns = entry.campaigns.get(key)
        if campaigns is None:
            async with self.core.db.read() as r:
                rows = await r.campaigns.active(ws, today, member.site_id)
            campaigns = [(c.id, c.title) for c in rows]
            if self._entries.get(ws) is entry:
                entry.campaigns = {k: v for k, v in entry.campaigns.items() if k[1] == today}
                entry.campaigns[key] = campaigns
        return list(entry.sites), list(campaigns)

    async def _load(self, workspace_id: int, version: tuple[int, int] | None) -> _Entry:
        async with self.core.db.read() as r:
            if version is None:
                version = await r.audit.form_version()
            charter = await r.charters.current(workspace_id)
            sites = [(s.id, s.name) for s in await r.sites.list(workspace_id)]
            config = await self.core.config.load(r, workspace_id)
        entry = _Entry(
            version, charter.version if charter is not None else None, config.timezone, sites
        )
        self._entries[workspace_id] = entry
        return entry


def _retrieved(read: asyncio.Future[tuple[int, int]]) -> None:
    """Take a version read's outcome, so that one no request waited for to the end is
    not reported by asyncio as an exception never retrieved."""
    if not read.cancelled():
        read.exception()
