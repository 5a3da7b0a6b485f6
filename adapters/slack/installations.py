"""Bolt's installation store (multi-workspace OAuth), bounded and remembered.

With OAuth, Bolt reads the workspace's installation (its bot token) from the database
before any listener runs, so a database outage would fail every request there, with
Bolt's 500, before Relais could answer. ``BoundedInstallationStore`` wraps the
SQLAlchemy store:

- an installation read in the last ``FRESH`` seconds is served from memory, with no
  database (tokens change only when a workspace installs again);
- otherwise the read has ``STORE_BUDGET`` seconds (``adapters.deadline.Attempt``: a frozen
  database is not waited for); if the database cannot answer, the last installation
  this process read for that workspace is used, however old;
- a workspace this process has never read while the database is away raises
  ``StoreUnavailable``, which the listeners' error handler answers in time (the person
  is told to try again in a minute).

Saving or deleting goes straight to the database and drops what is remembered.
"""

from __future__ import annotations

import logging
import time
from logging import Logger
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

from adapters.deadline import Attempt, Unavailable
from storage.db import Database

log = logging.getLogger(__name__)

#: Seconds an installation read from the database is served from memory.
FRESH = 60.0
#: Seconds a request may wait for the installation store (before its own budget).
STORE_BUDGET = 0.5

_Key = tuple[str, str | None, str | None, str | None, bool]


class StoreUnavailable(Exception):
    """The database did not answer and this process knows nothing of the workspace;
    ``busy``: it answered other work meanwhile (see ``adapters.deadline``)."""

    def __init__(self, reason: str, *, busy: bool) -> None:
        super().__init__(reason)
        self.busy = busy


class BoundedInstallationStore(AsyncInstallationStore):
    """``store`` with reads bounded in time and remembered (see the module docstring)."""

    def __init__(self, store: AsyncSQLAlchemyInstallationStore, db: Database) -> None:
        self.store = store
        self.db = db
        self._known: dict[_Key, tuple[float, Any]] = {}

    @property
    def logger(self) -> Logger:
        return self.store.logger

    async def async_save(self, installation: Installation) -> None:
        await self.store.async_save(installation)
        self._forget(installation.enterprise_id, installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self.store.async_save_bot(bot)
        self._forget(bot.enterprise_id, bot.team_id)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key: _Key = ("bot", enterprise_id, team_id, None, bool(is_enterprise_install))
        found: Bot | None = await self._find(
            key,
            lambda: self.store.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            ),
        )
        return found

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        key: _Key = ("installation", enterprise_id, team_id, user_id, bool(is_enterprise_install))
        found: Installation | None = await self._find(
            key,
            lambda: self.store.async_find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            ),
        )
        return found

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.store.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self._forget(enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.store.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )
        self._forget(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        self._forget(enterprise_id, team_id)

    async def _find(self, key: _Key, read: Any) -> Any:
        now = time.monotonic()
        known = self._known.get(key)
        if known is not None and now - known[0] < FRESH:
            return known[1]
        try:
            found = await Attempt(STORE_BUDGET, self.db).run(read())
        except Unavailable as out:
            if known is not None:
                log.info("Slack installation of %s from memory: %s", key[2], out.reason)
                return known[1]
            raise StoreUnavailable(
                f"the installation of workspace {key[2]} cannot be read: {out.reason}",
                busy=out.busy,
            ) from None
        if found is not None:
            self._known[key] = (now, found)
        return found

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        for key in [k for k in self._known if (k[1], k[2]) == (enterprise_id, team_id)]:
            del self._known[key]
