"""What every platform adapter offers ``relais serve``: one small protocol.

``relais/server.py`` builds every configured adapter and, for each, in one loop: gives
its ``port`` to the outbox dispatcher and its ``job_handlers`` to the job runner,
``mount``s its routes on the aiohttp app, and keeps it ``running()`` (its background
work: Socket Mode, HTTP clients) for the life of the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from aiohttp import web

from bot.jobs import JobHandler
from bot.ports import PlatformPort


class Adapter(Protocol):
    """A chat platform, as the server sees it."""

    @property
    def name(self) -> str:
        """The platform key of outbox rows and workspaces ("slack", "teams")."""

    @property
    def port(self) -> PlatformPort:
        """Sends what the outbox holds for this platform."""

    @property
    def job_handlers(self) -> Mapping[str, JobHandler]:
        """Persisted work after the ack, by job kind."""

    def mount(self, app: web.Application) -> None:
        """Add this platform's routes to ``app``."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """While inside: the adapter's background work runs; leaving stops it cleanly."""

    def describe(self) -> list[str]:
        """Lines for the start-up log (transport, mode, warnings start with "WARNING")."""
