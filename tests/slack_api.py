"""A local Slack-compatible Web API server for tests.

``FakeSlack`` listens on 127.0.0.1 (ephemeral port) and answers the Web API methods the bot
uses, the way Slack does: JSON ``{"ok": ...}`` answers with HTTP 200 for API errors, 429 with
``Retry-After`` for rate limits, text/HTML bodies for edge failures. Point a real
``slack_sdk`` client at it with ``AsyncWebClient(token=..., base_url=slack.api_url)``.

It also accepts what apps post to a request's ``response_url`` (``/commands/...`` and
``/actions/...``, recorded in ``FakeSlack.responses``), serves the ``files_upload_v2``
upload URLs, private file downloads (including the HTML login page Slack returns when a
token may not read a file) and a Socket Mode websocket.

Every ``/api/<method>`` request is recorded in ``FakeSlack.calls`` with its parameters merged
from the query string, form, JSON or multipart body; failures can be injected per method
(``fail``) or at random (``fail_share``), and a method can be rate limited per channel, per
workspace or globally (``rate_limit``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import inspect
import json
import mimetypes
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.signature import SignatureVerifier

from tests.waiting import poll

__all__ = ["LOGIN_PAGE", "Call", "FakeSlack", "signed_headers"]

APP_ID = "A1"
DEFAULT_BOT_SCOPES = "commands,chat:write,im:write,users:read,files:read,files:write"
# Parameters slack_sdk may send as JSON strings (form bodies, query strings); decoded on receipt.
JSON_PARAMS = frozenset({"blocks", "view", "files", "attachments", "metadata"})
# Methods that authenticate with the app's client id/secret rather than a token.
NO_TOKEN_METHODS = frozenset({"oauth.v2.access"})
CHUNK_SIZE = 64 * 1024

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Slack</title></head>
<body>
<h1>Sign in to Slack</h1>
<form id="signin_form" action="/signin" method="post">
<input type="email" name="email" placeholder="name@work-email.com">
<button type="submit">Sign in with Email</button>
</form>
</body>
</html>
"""

_EDGE_HTML = (
    "<html>\n<head><title>{status} {reason}</title></head>\n"
    "<body>\n<center><h1>{status} {reason}</h1></center>\n<hr><center>envoy</center>\n"
    "</body>\n</html>\n"
)

#: A method handler: ``(params, token) -> answer`` (without ``"ok"`` to mean success).
Handler = Callable[[dict[str, Any], str | None], dict[str, Any] | Awaitable[dict[str, Any]]]


@dataclass
class Call:
    """One request to ``/api/<method>``, as the server received and answered it.

    ``params`` merges the query string and the body (form, JSON or multipart); ``blocks``,
    ``view``, ``files``, ``attachments`` and ``metadata`` sent as JSON strings are decoded.
    ``status`` is the HTTP status answered; ``response`` the JSON answered, if any.
    ``rate_limited``: answered 429 by a ``rate_limit``; ``injected``: answered by a fault
    from ``fail`` or ``fail_share``; ``rated_at``: the ``rate_limit`` clock's reading when a
    limit applied to the method (None otherwise).
    """

    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    at: float
    response: dict[str, Any] | None = field(default=None, repr=False)
    rate_limited: bool = False
    injected: bool = False
    rated_at: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered 200 with ``"ok": true``."""
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass
class _Fault:
    method: str | None
    status: int
    remaining: int
    retry_after: int | None
    body: dict[str, Any] | None


RateScope = Literal["channel", "team", "global"]


@dataclass
class _RateLimit:
    per_second: float
    scope: RateScope
    retry_after: int
    clock: Callable[[], float]
    burst: int | None = None
    accepted: dict[tuple[str, str], collections.deque[float]] = field(default_factory=dict)
    tokens: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def admit(self, key: tuple[str, str], now: float) -> bool:
        """Whether one more call for ``key`` at ``now`` stays within the rate; counts it if so."""
        if self.burst is not None:
            # A token bucket: ``burst`` calls at once, refilled at ``per_second``.
            level, at = self.tokens.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - at) * self.per_second)
            if level < 1.0 - 1e-9:
                self.tokens[key] = (level, now)
                return False
            self.tokens[key] = (level - 1.0, now)
            return True
        # A sliding window of one second (longer under 1/s: one call per 1/per_second s).
        window = max(1.0, 1.0 / self.per_second)
        calls = self.accepted.setdefault(key, collections.deque())
        while calls and now - calls[0] >= window - 1e-9:  # float noise of a computed time
            calls.popleft()
        if len(calls) + 1 > self.per_second * window + 1e-9:
            return False
        calls.append(now)
        return True

    def refund(self, key: tuple[str, str], now: float) -> None:
        """Uncount a call admitted at ``now`` that was not accepted after all."""
        if self.burst is not None:
            level, at = self.tokens.get(key, (float(self.burst), now))
            self.tokens[key] = (min(float(self.burst), level + 1.0), at)
            return
        calls = self.accepted.get(key)
        if calls is not None and now in calls:
            calls.remove(now)


class _ApiError(Exception):
    """Raised by a method handler: answered as ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def signed_headers(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with ``body`` to a request URL, signed with ``signing_secret``.

    The Content-Type is ``application/json`` for a JSON body, form-encoded otherwise;
    ``timestamp`` defaults to now.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(ts), body=body)
    is_json = body.lstrip().startswith(("{", "["))
    return {
        "Content-Type": "application/json" if is_json else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or "",
    }


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _decode_param(name: str, value: Any) -> Any:
    if name in JSON_PARAMS and isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _tz_info(tz: str) -> tuple[int, str]:
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, tz
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string, then form / multipart / JSON body, merged; raises ``_ApiError``."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    data = json.loads(raw)
                except ValueError as exc:
                    raise _ApiError("invalid_json") from exc
                if not isinstance(data, dict):
                    raise _ApiError("invalid_json")
                params.update(data)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                params[key] = value.file.read() if isinstance(value, web.FileField) else value
    return {key: _decode_param(key, value) for key, value in params.items()}


class FakeSlack:
    """A Slack Web API, upload/download host and Socket Mode endpoint on 127.0.0.1.

    Use ``async with FakeSlack() as slack:`` (or ``start()`` / ``stop()``) and give clients
    ``base_url=slack.api_url``. State is public so tests can inspect it: ``calls``,
    ``messages``, ``ephemerals``, ``views``, ``home``, ``files``, ``uploads``,
    ``completed_uploads``, ``file_downloads``, ``socket_envelopes``, ``socket_received``.
    """

    def __init__(
        self,
        token: str = "xoxb-test",
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        #: Tokens answered as valid (xoxb/xoxp); ``add_token`` maps one to another workspace.
        self.tokens: set[str] = {token}
        self.team_names: dict[str, str] = {team_id: "Test Workspace"}
        #: When set, oauth.v2.access checks the client credentials against these.
        self.client_id: str | None = None
        self.client_secret: str | None = None

        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.file_contents: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.completed_uploads: list[dict[str, Any]] = []
        self.file_downloads: list[tuple[str, str | None]] = []
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_received: list[dict[str, Any]] = []
        self.socket_connections = 0
        #: JSON bodies posted to response URLs, each with its ``"_path"``.
        self.responses: list[dict[str, Any]] = []
        #: Downloads stalled half-way by ``stall_downloads`` (file ids), and the gate.
        self.stalled_downloads: list[str] = []
        self._download_gate: asyncio.Event | None = None

        self._token_teams: dict[str, str] = {token: team_id}
        self._missing_channels: set[str] = {"C-missing"}
        self._open_dms: set[str] = set()
        self._history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._oauth_codes: dict[str, dict[str, Any]] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._file_keys: dict[str, str] = {}
        self._serve_as: dict[str, str | None] = {}
        self._faults: list[_Fault] = []
        self._rate_limits: dict[str, _RateLimit] = {}
        self._share = 0.0
        self._share_statuses: tuple[int, ...] = (429, 500)
        self._share_retry_after = 1
        self._rng = random.Random(0)
        self._seq = 0
        self._ts_seq = 0
        self._custom: dict[str, Handler] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._builtin: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "files.info": self._files_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "oauth.v2.access": self._oauth_v2_access,
            "apps.connections.open": self._apps_connections_open,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening on 127.0.0.1 on an ephemeral port."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{key}/download/{name}", self._handle_file)
        app.router.add_get("/files-pri/{key}/{name}", self._handle_file)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_post("/commands/{rest:.+}", self._handle_response_url)
        app.router.add_post("/actions/{rest:.+}", self._handle_response_url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Close Socket Mode connections and stop the server."""
        if self._runner is None:
            return
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        for future in self._acks.values():
            future.cancel()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, once started."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL, for ``AsyncWebClient(base_url=...)``."""
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ setup helpers

    def add_token(self, token: str, team_id: str, team_name: str | None = None) -> None:
        """Accept ``token`` as a bot token of workspace ``team_id``."""
        self.tokens.add(token)
        self._token_teams[token] = team_id
        self.team_names.setdefault(team_id, team_name or f"Workspace {team_id}")

    def team_for(self, token: str | None) -> str:
        """The workspace a token belongs to (the default workspace if unknown)."""
        return self._token_teams.get(token or "", self.team_id)

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Paris",
        locale: str = "fr-FR",
        *,
        display_name: str | None = None,
        team_id: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a user for ``users.info``; returns the user object (with ``locale``)."""
        name = name or user_id.lower()
        real_name = real_name or name
        display_name = name if display_name is None else display_name
        offset, label = _tz_info(tz)
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "team": team_id or self.team_id,
        }
        if email is not None:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "locale": locale,
            "is_bot": is_bot,
            "is_admin": False,
            "is_owner": False,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": profile,
        }
        self.users[user_id] = user
        return copy.deepcopy(user)

    def missing_channel(self, channel_id: str) -> None:
        """Make posts to ``channel_id`` fail with ``channel_not_found``."""
        self._missing_channels.add(channel_id)

    def add_file(
        self,
        file_id: str,
        content: bytes,
        *,
        name: str = "photo.jpg",
        mimetype: str = "image/jpeg",
        filetype: str = "jpg",
        serve_as: str | None = None,
        title: str | None = None,
        user: str = "U1",
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """Register a downloadable file (for ``files.info`` and ``url_private*``).

        ``serve_as="login"`` answers every download with Slack's HTML login page.
        Returns the Slack file object.
        """
        if serve_as not in (None, "login"):
            raise ValueError(f"serve_as must be None or 'login', not {serve_as!r}")
        info = self._register_file(
            file_id,
            content,
            name=name,
            title=title or name,
            mimetype=mimetype,
            filetype=filetype,
            user=user,
            team=team_id or self.team_id,
        )
        self._serve_as[file_id] = serve_as
        return copy.deepcopy(info)

    def add_oauth_code(
        self,
        code: str,
        team_id: str,
        user_id: str = "U-installer",
        *,
        team_name: str | None = None,
        scope: str = DEFAULT_BOT_SCOPES,
    ) -> str:
        """Make ``code`` redeemable once by oauth.v2.access; returns the bot token it yields.

        The token, ``xoxb-installed-<team_id>``, is accepted from now on.
        """
        access_token = f"xoxb-installed-{team_id}"
        self.add_token(access_token, team_id, team_name)
        self._oauth_codes[code] = {
            "team_id": team_id,
            "user_id": user_id,
            "scope": scope,
            "access_token": access_token,
        }
        return access_token

    def set_handler(self, method: str, handler: Handler | dict[str, Any]) -> None:
        """Answer ``method`` with ``handler(params, token)`` (or a fixed dict).

        The result is answered as is when it has an ``ok`` key, else with ``"ok": true``
        added. Token checks and fault injection still apply.
        """
        if isinstance(handler, dict):
            fixed = copy.deepcopy(handler)

            def constant(params: dict[str, Any], token: str | None) -> dict[str, Any]:
                return copy.deepcopy(fixed)

            self._custom[method] = constant
        else:
            self._custom[method] = handler

    # ------------------------------------------------------------------ fault injection

    def fail(
        self,
        method: str | None,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (None: any method) with ``status``.

        429 carries ``Retry-After`` (``retry_after`` or 1) and ``{"ok": false, "error":
        "ratelimited"}``; 5xx a short text (500) or HTML (502-504) body. ``body`` replaces the
        answer with that JSON (with any status, 200 included).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(_Fault(method, status, times, retry_after, body))

    def fail_share(
        self,
        share: float,
        statuses: tuple[int, ...] = (429, 500),
        seed: int = 0,
        retry_after: int = 1,
    ) -> None:
        """Fail that share (0..1) of all API calls at random, reproducibly for a seed.

        ``fail_share(0)`` turns it off. Queued ``fail`` faults take precedence.
        """
        if not 0 <= share <= 1:
            raise ValueError("share must be between 0 and 1")
        self._share = share
        self._share_statuses = tuple(statuses)
        self._share_retry_after = retry_after
        self._rng = random.Random(seed)

    def rate_limit(
        self,
        method: str,
        per_second: float,
        scope: RateScope,
        retry_after: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        burst: int | None = None,
    ) -> None:
        """Answer 429 (``Retry-After: retry_after``) to calls of ``method`` over the rate.

        With ``burst``, the limit is a token bucket instead of a window: up to ``burst``
        calls at once per key, refilled at ``per_second`` (Slack's per-channel limit of
        about one message a second, "short bursts allowed").

        Calls are counted in a sliding window of one second (of ``1 / per_second`` seconds
        under one per second) per ``scope``: ``channel`` (per workspace and channel; a DM
        posted to a user id counts as that user's DM channel, ``views.publish`` as the
        user's home), ``team`` (per workspace) or ``global``. Only accepted calls count: not
        those the limit refused, nor those answered with an error or an injected fault (the
        limit is checked before ``fail``/``fail_share`` faults). ``clock`` (seconds) lets a
        test run the window on its own time. ``per_second=0`` turns the limit off.
        """
        if per_second < 0:
            raise ValueError("per_second must not be negative")
        if scope not in ("channel", "team", "global"):
            raise ValueError(f"unknown scope {scope!r}")
        if per_second == 0:
            self._rate_limits.pop(method, None)
            return
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate_limits[method] = _RateLimit(per_second, scope, retry_after, clock, burst)

    def _over_rate(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[_Fault | None, float | None, Callable[[], None]]:
        """(the 429 to answer or None, the limit's clock reading, a function that uncounts
        the call when it is not accepted after all) for one call."""
        limit = self._rate_limits.get(method)
        if limit is None:
            return None, None, lambda: None
        now = limit.clock()
        key = ("", "")
        if limit.scope != "global":
            key = (self.team_for(token), "")
        if limit.scope == "channel":
            channel = str(params.get("channel") or "")
            if channel[:1] in ("U", "W"):
                channel = f"D{channel}"
            elif not channel and params.get("user_id"):
                channel = f"home:{params['user_id']}"
            key = (key[0], channel)
        if limit.admit(key, now):
            return None, now, lambda: limit.refund(key, now)
        return _Fault(method, 429, 1, limit.retry_after, None), now, lambda: None

    def clear_failures(self) -> None:
        """Drop queued faults and turn off random failures."""
        self._faults.clear()
        self._share = 0.0

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        if self._share > 0 and self._rng.random() < self._share:
            status = self._rng.choice(self._share_statuses)
            return _Fault(None, status, 1, self._share_retry_after, None)
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> tuple[web.Response, dict[str, Any] | None]:
        headers: dict[str, str] = {"X-Slack-Req-Id": uuid.uuid4().hex}
        status = fault.status
        if status == 429:
            headers["Retry-After"] = str(fault.retry_after or 1)
        if fault.body is not None:
            return web.json_response(fault.body, status=status, headers=headers), fault.body
        if status == 429:
            body = {"ok": False, "error": "ratelimited"}
            return web.json_response(body, status=status, headers=headers), body
        reason = _reason(status)
        if status in (502, 503, 504):
            html = _EDGE_HTML.format(status=status, reason=reason)
            return web.Response(status=status, text=html, content_type="text/html"), None
        if status >= 500:
            text = f"{reason}\n"
            return web.Response(status=status, text=text, content_type="text/plain"), None
        body = {"ok": False, "error": reason.lower().replace(" ", "_")}
        return web.json_response(body, status=status, headers=headers), body

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - the polling deadline is the API
        message: str | None = None,
    ) -> Any:
        """Poll ``predicate`` (sync or async) every 10 ms until truthy; return its value.

        Raises AssertionError after ``timeout`` seconds, listing the latest API calls.
        """
        return await poll(
            predicate,
            timeout,
            message=message,
            context=lambda: f"last API calls: {self._describe_calls()}",
        )

    async def wait_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times; return those calls."""
        await self.wait_for(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            message=f"{count} call(s) to {method} (got {len(self.calls_to(method))})",
        )
        return self.calls_to(method)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls to ``method``, oldest first."""
        return [call for call in self.calls if call.method == method]

    def _describe_calls(self, last: int = 10) -> str:
        if not self.calls:
            return "none"
        parts = []
        for call in self.calls[-last:]:
            error = call.response.get("error") if call.response else None
            parts.append(f"{call.method}->{call.status}" + (f" {error}" if error else ""))
        return ", ".join(parts)

    def message_history(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Every version of a message (as posted, then after each chat.update)."""
        return copy.deepcopy(self._history.get((channel, ts), []))

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        parse_error: _ApiError | None = None
        try:
            params = await _read_params(request)
        except _ApiError as exc:
            parse_error = exc
        token = _bearer(request)
        body_token = params.pop("token", None)
        if token is None and isinstance(body_token, str):
            token = body_token

        limited, rated_at, refund = (
            self._over_rate(method, params, token)
            if parse_error is None
            else (None, None, lambda: None)
        )
        fault = limited or self._take_fault(method)
        if fault is not None:
            response, answered = self._fault_response(fault)
        else:
            if parse_error is not None:
                answered = {"ok": False, "error": parse_error.error}
            else:
                answered = await self._dispatch(method, dict(params), token, request)
            headers = {"X-Slack-Req-Id": uuid.uuid4().hex}
            if answered.get("ok") and token in self.tokens:
                headers["X-OAuth-Scopes"] = DEFAULT_BOT_SCOPES
            response = web.json_response(answered, headers=headers)
        if response.status != 200 or not (answered and answered.get("ok")):
            refund()  # only accepted calls count against a rate limit
        self.calls.append(
            Call(
                method,
                params,
                token,
                response.status,
                at,
                answered,
                rate_limited=limited is not None,
                injected=fault is not None and limited is None,
                rated_at=rated_at,
            )
        )
        return response

    async def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None, request: web.Request
    ) -> dict[str, Any]:
        handler = self._custom.get(method) or self._builtin.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        if method not in NO_TOKEN_METHODS:
            error = self._auth_error(method, token)
            if error is not None:
                return {"ok": False, "error": error}
        if method == "oauth.v2.access":
            params = self._with_client_credentials(params, request)
        try:
            result = handler(params, token)
            if inspect.isawaitable(result):
                result = await result
        except _ApiError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}
        if "ok" in result:
            return result
        return {"ok": True, **result}

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if method == "apps.connections.open":
            if token is not None and token.startswith("xapp-"):
                return None
            return "not_allowed_token_type" if token in self.tokens else "invalid_auth"
        if token is None or token not in self.tokens:
            if token is not None and token.startswith("xapp-"):
                return "not_allowed_token_type"
            return "invalid_auth"
        return None

    @staticmethod
    def _with_client_credentials(params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return params
            login, _, password = decoded.partition(":")
            params.setdefault("client_id", login)
            params.setdefault("client_secret", password)
        return params

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """A message posted to a request's ``response_url`` (JSON), answered like Slack."""
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return web.Response(status=400, text="no_text")
        self.responses.append({**body, "_path": request.path})
        return web.Response(text="ok")

    async def wait_responses(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` messages were posted to response URLs; return them all."""
        await self.wait_for(
            lambda: len(self.responses) >= count,
            timeout,
            message=f"{count} response_url post(s) (got {len(self.responses)})",
        )
        return list(self.responses)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._pending_uploads:
            return web.Response(status=404, text="Not Found\n", content_type="text/plain")
        data: bytes | None = None
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                content = bytes(await part.read(decode=False))
                if part.name == "file":
                    data = content
                    break
                if data is None and part.filename is not None:
                    data = content
        else:
            chunks = [chunk async for chunk in request.content.iter_chunked(CHUNK_SIZE)]
            data = b"".join(chunks)
        if data is None:
            return web.Response(status=400, text="no file\n", content_type="text/plain")
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        file_id = self._file_keys.get(request.match_info["key"])
        if file_id is None:
            return web.Response(status=404, text="Not Found\n", content_type="text/plain")
        token = _bearer(request)
        self.file_downloads.append((file_id, token))
        # ``fail("files.download", ...)`` makes the file host answer 429/5xx too.
        fault = self._take_fault("files.download")
        if fault is not None:
            return self._fault_response(fault)[0]
        info = self.files[file_id]
        allowed = (
            token is not None
            and token in self.tokens
            and self.team_for(token) == info["user_team"]
            and self._serve_as.get(file_id) != "login"
        )
        if not allowed:
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        content = self.file_contents[file_id]
        response = web.StreamResponse()
        response.content_type = info["mimetype"]
        response.content_length = len(content)
        if "/download/" in request.path:
            response.headers["Content-Disposition"] = f'attachment; filename="{info["name"]}"'
        await response.prepare(request)
        if request.method != "HEAD":
            half = len(content) // 2
            gate = self._download_gate
            if gate is not None and not gate.is_set():
                # Half the file, then nothing until released (a stalled transfer).
                await response.write(content[:half])
                self.stalled_downloads.append(file_id)
                await gate.wait()
                content = content[half:]
            for start in range(0, len(content), CHUNK_SIZE):
                await response.write(content[start : start + CHUNK_SIZE])
        await response.write_eof()
        return response

    def stall_downloads(self) -> asyncio.Event:
        """From now on, file downloads send half the file and then stall until the
        returned event is set (``stalled_downloads`` lists them as they stall)."""
        self._download_gate = asyncio.Event()
        return self._download_gate

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {
                    "host": "applink-fake-1",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if not isinstance(data, dict):
                    continue
                self.socket_received.append(data)
                future = self._acks.get(str(data.get("envelope_id")))
                if future is not None and not future.done():
                    future.set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws

    # ------------------------------------------------------------------ Socket Mode

    def _current_socket(self) -> web.WebSocketResponse | None:
        for ws in reversed(self._sockets):
            if not ws.closed:
                return ws
        return None

    async def wait_socket_connected(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> None:
        """Wait until a Socket Mode client is connected (and was sent ``hello``)."""
        await self.wait_for(
            lambda: self._current_socket() is not None, timeout, "a Socket Mode connection"
        )

    async def socket_send(
        self,
        payload_type: str,
        payload: dict[str, Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds the connection and the ack waits
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> dict[str, Any] | None:
        """Send an envelope to the connected client and wait for its ack.

        ``payload_type`` is ``slash_commands``, ``interactive`` or ``events_api``. Returns the
        ack's ``payload`` ({} if it had none), or None if no ack came within ``timeout``.
        ``accepts_response_payload`` defaults to what Slack sends: true for slash commands,
        view submissions and block suggestions.
        """
        await self.wait_socket_connected(timeout)
        ws = self._current_socket()
        assert ws is not None
        if accepts_response_payload is None:
            accepts_response_payload = payload_type == "slash_commands" or (
                payload_type == "interactive"
                and payload.get("type") in {"view_submission", "block_suggestion"}
            )
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": payload_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        self.socket_envelopes.append(envelope)
        try:
            await ws.send_json(envelope)
            try:
                ack = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                return None
        finally:
            self._acks.pop(envelope_id, None)
        ack_payload = ack.get("payload")
        return ack_payload if isinstance(ack_payload, dict) else {}

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message, asking the client to reconnect."""
        await self.wait_socket_connected()
        ws = self._current_socket()
        assert ws is not None
        await ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
        )

    # ------------------------------------------------------------------ state helpers

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    def _next_ts(self) -> str:
        self._ts_seq += 1
        micros = self._ts_seq * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _team_domain(self, team_id: str) -> str:
        name = self.team_names.get(team_id, team_id)
        return "".join(ch for ch in name.lower() if ch.isalnum()) or team_id.lower()

    def _register_file(
        self,
        file_id: str,
        content: bytes,
        *,
        name: str,
        title: str,
        mimetype: str,
        filetype: str,
        user: str,
        team: str,
    ) -> dict[str, Any]:
        key = f"{team}-{file_id}"
        quoted = quote(name)
        workspace_url = f"https://{self._team_domain(team)}.slack.com/"
        now = int(time.time())
        info: dict[str, Any] = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": team,
            "editable": False,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{self.url}/files-pri/{key}/{quoted}",
            "url_private_download": f"{self.url}/files-pri/{key}/download/{quoted}",
            "permalink": f"{workspace_url}files/{user}/{file_id}/{quoted}",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        self.files[file_id] = info
        self.file_contents[file_id] = content
        self._file_keys[key] = file_id
        self._serve_as.setdefault(file_id, None)
        return info

    def _channel_for(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel or channel in self._missing_channels:
            raise _ApiError("channel_not_found")
        if channel[0] in "UW":
            channel = f"D{channel}"
            self._open_dms.add(channel)
        return channel

    def _view_object(
        self,
        view: Any,
        *,
        view_id: str,
        team: str,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        result = copy.deepcopy(view)
        result.setdefault("private_metadata", "")
        result.setdefault("callback_id", "")
        result.setdefault("external_id", "")
        result.setdefault("clear_on_close", False)
        result.setdefault("notify_on_close", False)
        result.setdefault("blocks", [])
        result.update(
            id=view_id,
            team_id=team,
            state={"values": {}},
            hash=f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            root_view_id=root_view_id or view_id,
            previous_view_id=previous_view_id,
            app_id=APP_ID,
            app_installed_team_id=team,
            bot_id=self.bot_id,
        )
        return result

    def _find_view(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if view_id:
            found = self.views.get(view_id)
        elif external_id:
            found = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        else:
            raise _ApiError("invalid_arguments")
        if found is None:
            raise _ApiError("not_found")
        return found

    # ------------------------------------------------------------------ API methods

    def _auth_test(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self.team_for(token)
        return {
            "url": f"https://{self._team_domain(team)}.slack.com/",
            "team": self.team_names.get(team, team),
            "user": "relais",
            "team_id": team,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            raise _ApiError("user_not_found")
        result = copy.deepcopy(user)
        if not _truthy(params.get("include_locale")):
            result.pop("locale", None)
        return {"user": result}

    def _chat_post_message(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = self._channel_for(params.get("channel"))
        text = params.get("text")
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": text or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": APP_ID,
            "team": self.team_for(token),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                message[key] = copy.deepcopy(params[key])
        self.messages[(channel, ts)] = message
        self._history[(channel, ts)] = [copy.deepcopy(message)]
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or channel in self._missing_channels:
            raise _ApiError("channel_not_found")
        ts = str(params.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            raise _ApiError("message_not_found")
        if not any(key in params for key in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        for key in ("text", "blocks", "attachments", "metadata"):
            if key not in params:
                continue
            value = params[key]
            if key != "text" and not value:
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value) if key != "text" else (value or "")
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self._history[(channel, ts)].append(copy.deepcopy(message))
        return {
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = self._channel_for(params.get("channel"))
        user = params.get("user")
        if not user:
            raise _ApiError("user_not_in_channel")
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            raise _ApiError("no_text")
        message_ts = self._next_ts()
        ephemeral: dict[str, Any] = {
            "channel": channel,
            "user": user,
            "text": params.get("text") or "",
            "message_ts": message_ts,
        }
        for key in ("blocks", "attachments", "thread_ts"):
            if params.get(key) is not None:
                ephemeral[key] = copy.deepcopy(params[key])
        self.ephemerals.append(ephemeral)
        return {"message_ts": message_ts}

    def _check_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise _ApiError("invalid_arguments")
        if trigger_id == "expired":
            raise _ApiError("expired_trigger_id")

    def _views_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._check_trigger(params)
        view = self._view_object(
            params.get("view"), view_id=self._next_id("V"), team=self.team_for(token)
        )
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._check_trigger(params)
        view = self._view_object(
            params.get("view"), view_id=self._next_id("V"), team=self.team_for(token)
        )
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        current = self._find_view(params)
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._view_object(
            params.get("view"),
            view_id=current["id"],
            team=current["team_id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        self.views[view["id"]] = view
        for user_id, home_view in self.home.items():
            if home_view["id"] == view["id"]:
                self.home[user_id] = view
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not user_id:
            raise _ApiError("invalid_arguments")
        current = self.home.get(user_id)
        if current is not None and params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._view_object(
            params.get("view"),
            view_id=current["id"] if current else self._next_id("V"),
            team=self.team_for(token),
        )
        if view["type"] != "home":
            raise _ApiError("invalid_arguments")
        self.views[view["id"]] = view
        self.home[user_id] = view
        return {"view": copy.deepcopy(view)}

    def _conversations_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if params.get("channel"):
            channel_id = str(params["channel"])
        else:
            users = [u for u in str(params.get("users") or "").split(",") if u]
            if not users:
                raise _ApiError("users_list_not_supplied")
            channel_id = f"D{users[0]}" if len(users) == 1 else "G" + "-".join(sorted(users))
        already_open = channel_id in self._open_dms
        self._open_dms.add(channel_id)
        result: dict[str, Any] = {"channel": {"id": channel_id}}
        if already_open:
            result = {"no_op": True, "already_open": True, **result}
        return result

    def _files_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        info = self.files.get(str(params.get("file", "")))
        if info is None:
            raise _ApiError("file_not_found")
        return {
            "file": copy.deepcopy(info),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _files_get_upload_url(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length", ""))
        except (TypeError, ValueError):
            length = -1
        if not filename or length < 0:
            raise _ApiError("invalid_arguments")
        file_id = self._next_id("F")
        while file_id in self.files:
            file_id = self._next_id("F")
        self._pending_uploads[file_id] = {
            "filename": filename,
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "team": self.team_for(token),
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments")
        for item in items:
            file_id = item.get("id") if isinstance(item, dict) else None
            if file_id not in self._pending_uploads or file_id not in self.uploads:
                raise _ApiError("file_not_found")
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channels.insert(0, str(params["channel_id"]))
        files = []
        for item in items:
            pending = self._pending_uploads.pop(item["id"])
            filename = pending["filename"]
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
            info = self._register_file(
                item["id"],
                self.uploads[item["id"]],
                name=filename,
                title=item.get("title") or filename,
                mimetype=mimetype,
                filetype=extension,
                user=self.bot_user_id,
                team=pending["team"],
            )
            info["channels"] = list(channels)
            files.append(copy.deepcopy(info))
        self.completed_uploads.append(
            {
                "files": copy.deepcopy(items),
                "channel_id": params.get("channel_id"),
                "channels": channels,
                "initial_comment": params.get("initial_comment"),
                "thread_ts": params.get("thread_ts"),
                "token": token,
            }
        )
        return {"files": files}

    def _oauth_v2_access(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        client_id = params.get("client_id")
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            raise _ApiError("invalid_client_id")
        if self.client_secret is not None and params.get("client_secret") != self.client_secret:
            raise _ApiError("bad_client_secret")
        grant = self._oauth_codes.pop(str(params.get("code", "")), None)
        if grant is None:
            raise _ApiError("invalid_code")
        team = grant["team_id"]
        return {
            "access_token": grant["access_token"],
            "token_type": "bot",
            "scope": grant["scope"],
            "bot_user_id": self.bot_user_id,
            "app_id": APP_ID,
            "team": {"id": team, "name": self.team_names.get(team, team)},
            "enterprise": None,
            "authed_user": {"id": grant["user_id"]},
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/socket"}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ReplicaInstallations(AsyncInstallationStore):
    """Bolt's installation store of one of several replicas in a test or a bench: the bot
    token of each workspace of ``tokens`` (team id -> token) with ``-<replica>`` after it,
    so that a ``FakeSlack`` given each of those (``add_token``) tells which replica made
    each call. A workspace not in ``tokens`` has no installation."""

    def __init__(self, tokens: Mapping[str, str], replica: str) -> None:
        self.tokens = tokens
        self.replica = replica

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        token = self.tokens.get(team_id or "")
        if token is None:
            return None
        return Bot(
            team_id=team_id,
            bot_token=f"{token}-{self.replica}",
            bot_id="B1",
            bot_user_id="UBOT",
            installed_at=0.0,
        )
