"""Relais as a Slack app: the transport (HTTP, Socket Mode, OAuth) and its parts.

``SlackAdapter`` builds one slack-bolt ``AsyncApp`` and wires the parts, each in its
own module by reason to change:

- ``listeners.py`` where each request is handled (commands, buttons, modals, events);
- ``identity.py``  who is asking (``users.info`` and a per-process cache);
- ``modals.py``    core forms as Slack views, and the submission form's checks;
- ``files.py``     the photo job (download after the ack), ``port.py`` the outbound port.

Requests are acknowledged before any slow work. Everything the bot says afterwards
goes through the outbox (so Slack's 429s and 5xx only delay it); the only direct calls
are ``views.open`` (Slack's trigger expires after 3 s) and ``users.info`` on a person's
first visit. Mounted on aiohttp at ``POST /slack/events`` (plus the OAuth routes), or
run over Socket Mode when ``SLACK_APP_TOKEN`` is set.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from adapters.deadline import Attempt
from adapters.slack import edge
from adapters.slack.files import JOB_KIND, FileFetcher, SubmissionJob
from adapters.slack.identity import Identities
from adapters.slack.installations import BoundedInstallationStore
from adapters.slack.listeners import Listeners
from adapters.slack.modals import Modals
from adapters.slack.port import SlackClients, SlackPort
from bot import logcontext, metrics
from bot.core import Core
from bot.jobs import JobHandler
from bot.settings import Settings

log = logging.getLogger(__name__)

BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:history",
    "im:write",
    "files:read",
    "files:write",
    "users:read",
)
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Seconds an event waits for the database to answer before it is refused (503, so that
# Slack sends it again later): well inside Slack's 3 s.
EVENT_DB_CHECK = 1.0


class SlackAdapter:
    """Relais as a Slack app."""

    def __init__(self, core: Core, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.oauth = bool(settings.slack_client_id and settings.slack_client_secret)
        self.socket_mode = bool(settings.slack_app_token)
        installation_store: BoundedInstallationStore | None = None
        oauth_settings: AsyncOAuthSettings | None = None
        if self.oauth:
            # Bolt's own stores, on our engine; their tables come from our migrations. The
            # installations are read within a time bound and remembered (an outage).
            installation_store = BoundedInstallationStore(
                AsyncSQLAlchemyInstallationStore(
                    client_id=settings.slack_client_id, engine=core.db.engine
                ),
                core.db,
            )
            public = settings.public_url.rstrip("/") if settings.public_url else ""
            oauth_settings = AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=installation_store,
                state_store=AsyncSQLAlchemyOAuthStateStore(
                    expiration_seconds=600, engine=core.db.engine
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
            )
        self.clients = SlackClients(
            settings.slack_api_url,
            bot_token="" if self.oauth else settings.slack_bot_token,
            installation_store=installation_store,
        )
        self.port = SlackPort(
            self.clients,
            core.relay.uploads,
            core.store,
            core.clock,
            workspace_rate=settings.relais_slack_rate,
            budget=core.photo_budget,
        )
        # Bolt's client (views.open, users.info: what a person waits for) has its own
        # connection pool: the outbox's sends (3 MB uploads) cannot hold its connections.
        self.interactive = SlackClients(
            settings.slack_api_url,
            bot_token="" if self.oauth else settings.slack_bot_token,
            installation_store=installation_store,
        )
        self.fetcher = FileFetcher(core, self.clients)
        self.job_handlers: dict[str, JobHandler] = {JOB_KIND: SubmissionJob(core, self.fetcher)}
        self.bolt = AsyncApp(
            signing_secret=settings.slack_signing_secret,
            client=self.interactive.new_client(None if self.oauth else settings.slack_bot_token),
            oauth_settings=oauth_settings,
            request_verification_enabled=not self.socket_mode,
            process_before_response=False,
        )
        self.identity = Identities(core)
        self.modals = Modals(core)
        self.listeners = Listeners(core, self.identity, self.modals)
        self.listeners.register(self.bolt)

    # -- transport ----------------------------------------------------------------------

    name = "slack"

    def describe(self) -> list[str]:
        """Start-up line: transport and installation mode."""
        transport = "Socket Mode" if self.socket_mode else f"HTTP at POST {EVENTS_PATH}"
        install = "multi-workspace OAuth" if self.oauth else "single workspace (SLACK_BOT_TOKEN)"
        return [f"Slack: {transport}, {install}"]

    def mount(self, app: web.Application) -> None:
        """Add ``POST /slack/events`` (and the OAuth routes when configured) to ``app``.
        In Socket Mode requests arrive over the websocket, unsigned: no HTTP route."""
        if not self.socket_mode:
            app.router.add_post(EVENTS_PATH, self.handle_http)
        if self.oauth:
            app.router.add_get(INSTALL_PATH, self.handle_oauth)
            app.router.add_get(REDIRECT_PATH, self.handle_oauth)

    async def handle_http(self, request: web.Request) -> web.Response:
        """One Slack request, timed (``relais_ack_seconds``) and logged with its id."""
        timer = metrics.RequestTimer("slack")
        status = 500
        logcontext.start_request(logcontext.new_request_id())
        try:
            response = await self._handle_http(request, timer)
            status = response.status
            return response
        finally:
            timer.done(status)

    async def _handle_http(self, request: web.Request, timer: metrics.RequestTimer) -> web.Response:
        """Checked at the edge (401 unsigned, 400 malformed), then routed."""
        admitted = await edge.admit(request, self.settings.slack_signing_secret)
        if isinstance(admitted, web.Response):
            timer.kind = "refused"
            return admitted
        timer.kind = request_kind(admitted.body)
        logcontext.bind_workspace(team_of(admitted.body))
        if admitted.body.get("event_id"):
            logcontext.REQUEST_ID.set(str(admitted.body["event_id"])[:64])
        if admitted.body.get("type") == "event_callback" and not await self.database_answers():
            # Bolt acknowledges an event before its listener runs, so a photo dropped in
            # the DM during an outage would be lost: refuse it, and Slack sends it again
            # (its retries carry the same event_id, answered once).
            log.warning(
                "Slack event %s deferred: the database does not answer",
                admitted.body.get("event_id"),
            )
            return web.json_response({"error": "database unavailable, retry later"}, status=503)
        response = await self.bolt.async_dispatch(admitted)
        return await to_aiohttp_response(response)

    async def database_answers(self) -> bool:
        """True when the database answers within ``EVENT_DB_CHECK`` (not waiting for a
        frozen connection to unwind: its cancellation alone can take seconds)."""
        try:
            await Attempt(EVENT_DB_CHECK).run(self.core.db.ping())
        except Exception:
            return False
        return True

    async def handle_oauth(self, request: web.Request) -> web.Response:
        """``/slack/install`` starts the OAuth flow; ``/slack/oauth_redirect`` completes it."""
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_request = await to_bolt_request(request)
        if request.path == INSTALL_PATH:
            response = await flow.handle_installation(bolt_request)
        else:
            response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(response)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While inside: connected over Socket Mode (when ``SLACK_APP_TOKEN`` is set)."""
        handler: AsyncSocketModeHandler | None = None
        # One connection pool for the outbox's Web API calls and one for Bolt's client
        # (what a person waits for), opened now that the event loop runs.
        self.clients.session()
        self.interactive.session()
        if self.socket_mode:
            handler = CheckedSocketMode(
                self,
                self.bolt,
                app_token=self.settings.slack_app_token,
                web_client=self.clients.new_client(self.settings.slack_app_token),
            )
            await handler.connect_async()
            log.info("Slack: connected over Socket Mode")
        try:
            yield
        finally:
            if handler is not None:
                await handler.close_async()
            self.identity.close()
            await self.fetcher.close()
            await self.clients.close()
            await self.interactive.close()


class CheckedSocketMode(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler with the HTTP route's checks: a payload that is not
    the shape of a request we handle is acknowledged (so Slack does not send it again)
    and logged in one line instead of failing inside Bolt with a traceback; an event
    while the database does not answer is left unacknowledged, so Slack sends it again
    later (as ``handle_http`` answers 503)."""

    def __init__(self, adapter: SlackAdapter, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adapter = adapter

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """One request over the websocket, timed and counted like one over HTTP
        (``relais_requests_total``, ``relais_ack_seconds``: the status is what the HTTP
        route would have answered) and logged with its id."""
        timer = metrics.RequestTimer("slack")
        status = 500
        logcontext.start_request(logcontext.new_request_id())
        try:
            status = await self._handle(client, req, timer)
        finally:
            timer.done(status)

    async def _handle(
        self, client: SocketModeClient, req: SocketModeRequest, timer: metrics.RequestTimer
    ) -> int:
        start = time.time()
        try:
            request = edge.socket_request(req.payload, build_headers(req))
        except edge.Refused as refused:
            timer.kind = "refused"
            log.warning("Slack Socket Mode request refused: %s", refused.reason)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return 400
        timer.kind = request_kind(request.body)
        logcontext.bind_workspace(team_of(request.body))
        if request.body.get("event_id"):
            logcontext.REQUEST_ID.set(str(request.body["event_id"])[:64])
        if request.body.get("type") == "event_callback" and not (
            await self.adapter.database_answers()
        ):
            log.warning(
                "Slack event %s deferred: the database does not answer",
                request.body.get("event_id"),
            )
            return 503
        response = await self.app.async_dispatch(request)
        await send_async_response(client, req, response, start)
        return response.status


# Request kinds as counted in the metrics: a fixed list, whatever a request claims to be.
REQUEST_KINDS = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "event_callback",
        "url_verification",
        "shortcut",
        "message_action",
    }
)


def request_kind(body: dict) -> str:
    """``command`` for a slash command, else the payload's type when it is a known one."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in REQUEST_KINDS else "other"


def team_of(body: dict) -> str | None:
    """The workspace (team id) a request comes from, where Slack puts it."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    if not team:
        user = body.get("user")
        team = user.get("team_id") if isinstance(user, dict) else None
    return team if isinstance(team, str) else None
