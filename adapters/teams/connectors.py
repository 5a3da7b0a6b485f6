"""One Bot Connector client per service URL, reused.

Bot Framework's ``CloudAdapter`` asks its authentication for a connector factory on every
turn and proactive send, and the factory makes a new ``ConnectorClient`` each time: a new
HTTP session, so a new TCP and TLS connection for every message Relais sends. Here the
factory hands out one client per (service URL, audience), kept for the process's life:
its ``requests`` session keeps its connections open between sends (the credentials in
it refresh their token themselves when it expires). ``close()`` releases them all.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import ClaimsIdentity, ConnectorFactory

log = logging.getLogger(__name__)


class _ReusingFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, clients: dict[tuple[str, str], Any]) -> None:
        self._inner = inner
        self._clients = clients

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience or "")
        client = self._clients.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            # Two sends racing here both made one: keep the first, the other is dropped.
            client = self._clients.setdefault(key, client)
        return client


class ReusedConnectors(ConfigurationBotFrameworkAuthentication):
    """``ConfigurationBotFrameworkAuthentication`` whose connector clients are reused."""

    def __init__(self, configuration: Any, **kwargs: Any) -> None:
        super().__init__(configuration, **kwargs)
        self._clients: dict[tuple[str, str], Any] = {}

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = super().create_connector_factory(claims_identity)
        # The app id is fixed for the process, so the clients depend only on the service
        # URL and the audience.
        return _ReusingFactory(inner, self._clients)

    @property
    def open_clients(self) -> int:
        return len(self._clients)

    async def close(self) -> None:
        """Close every kept client's HTTP session."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await client.__aexit__(None, None, None)
            except Exception:
                log.exception("teams: closing a connector client failed")
