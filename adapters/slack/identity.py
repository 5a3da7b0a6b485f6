"""Who is asking: a Slack person as a core member, cached per process.

The first time a person is seen, ``users.info`` gives their name, language and timezone
(capped at ``PROFILE_TIMEOUT`` so the ack is never late); later refreshes run in the
background. Who someone is (locale, roles, site) is kept ``MEMBER_TTL`` seconds and
dropped after anything that may change it; the action table re-reads roles from the
database before every action anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.i18n import supported_locale
from domain import MemberView, Platform
from storage.db import unreachable

log = logging.getLogger(__name__)

PROFILE_TIMEOUT = 1.5
MEMBER_TTL = 60.0


class Identities:
    """The members behind Slack requests."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._known: set[tuple[str, str]] = set()
        self._members: dict[tuple[str, str], tuple[float, MemberView]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """Cancel the background profile refreshes still running."""
        for task in list(self._tasks):
            task.cancel()

    async def member(self, context: AsyncBoltContext, client: AsyncWebClient) -> MemberView:
        """The member behind a request: cached, else one read; ``users.info`` on first sight."""
        team, user = str(context.team_id or ""), str(context.user_id or "")
        cached = self._members.get((team, user))
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        member = await self._lookup(team, user, client)
        self._members[(team, user)] = (now + MEMBER_TTL, member)
        return member

    async def member_soon(
        self, context: AsyncBoltContext, client: AsyncWebClient, wait: float
    ) -> MemberView:
        """``member()``, or, when it takes longer than ``wait`` seconds or the database
        cannot be reached, the person as last seen by this process (for a form, which
        records nothing: what it sends is checked again). The lookup is left to finish
        and refreshes the cache; without a last sight its outcome is awaited."""
        lookup = asyncio.ensure_future(self.member(context, client))
        done, _ = await asyncio.wait({lookup}, timeout=wait)
        stale = self.cached(context)
        if lookup in done:
            error = lookup.exception()
            if error is None or stale is None or not unreachable(error):
                return lookup.result()
            return stale
        if stale is None:
            return await lookup
        lookup.add_done_callback(_collect)
        return stale

    def cached(self, context: AsyncBoltContext) -> MemberView | None:
        """The member behind a request as last seen by this process (even if stale), with
        no database: for what must be said when the database cannot be reached."""
        found = self._members.get((str(context.team_id or ""), str(context.user_id or "")))
        return found[1] if found is not None else None

    def forget(self, context: AsyncBoltContext) -> None:
        """Drop the cached identity of the person behind a request that may change it."""
        self._members.pop((str(context.team_id or ""), str(context.user_id or "")), None)

    async def _lookup(self, team: str, user: str, client: AsyncWebClient) -> MemberView:
        found = await self.core.onboarding.find(Platform.SLACK, team, user)
        if found is not None:
            if (team, user) not in self._known:
                # Refresh name, language and timezone once per process, off the ack path.
                self._known.add((team, user))
                self._spawn(self._refresh(team, user, client))
            return found
        self._known.add((team, user))
        profile = await self._profile(client, user)
        return await self.core.onboarding.identify(Platform.SLACK, team, user, **profile)

    async def _refresh(self, team: str, user: str, client: AsyncWebClient) -> None:
        profile = await self._profile(client, user)
        if not profile:
            return
        try:
            await self.core.onboarding.identify(Platform.SLACK, team, user, **profile)
        except Exception as exc:  # the database is down: refresh on a later visit
            self._known.discard((team, user))
            log.warning("profile refresh of %s failed (%s: %s)", user, type(exc).__name__, exc)

    async def _profile(self, client: AsyncWebClient, user: str) -> dict[str, Any]:
        """Name, language and timezone from ``users.info``; {} when Slack does not answer."""
        try:
            response = await asyncio.wait_for(
                client.users_info(user=user, include_locale=True), PROFILE_TIMEOUT
            )
        except Exception as exc:
            log.warning("users.info for %s failed (%s); using defaults", user, exc)
            return {}
        data = response.get("user") or {}
        profile = data.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or ""
        )
        return {
            "display_name": str(name)[:200],
            "locale": supported_locale(data.get("locale")),
            "timezone": data.get("tz") or None,
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _collect(task: asyncio.Future[MemberView]) -> None:
    """Take the outcome of a lookup no request waited for (a stale sight was used)."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("member lookup ended with %s", type(task.exception()).__name__)
