"""A local Bot Framework Connector (Microsoft Teams flavour) for wire-level tests.

``FakeConnector`` plays every remote party a botbuilder 4.17 ``CloudAdapter`` talks to, on
127.0.0.1 (ephemeral ports):

* the **Connector REST API** at ``bf.url`` (the ``serviceUrl`` activities carry): send, reply,
  update and delete activities, create a 1:1 conversation, conversation members and the
  Teams channel list. Every call is recorded in ``bf.calls``; faults can be injected
  (``fail``, ``fail_share``);
* the **channel's token issuer** (channel -> bot): an OpenID metadata document and a JWKS
  with one RSA key endorsed for ``msteams``; ``bf.channel_token()`` signs JWTs the way the
  Bot Framework channel does, ``bf.bad_token(kind)`` signs broken ones;
* the **AAD token endpoint** (bot -> channel): an HTTPS OpenID authority that MSAL accepts,
  answering the client-credentials grant with a JWT that the Connector API then requires
  as ``Authorization: Bearer ...``;
* a **file host** (``bf.add_file``) for attachment ``contentUrl`` / ``downloadUrl``.

Point the SDK at it with ``ConfigurationBotFrameworkAuthentication(bf.sdk_config())``.
The keys that matter (any one of the URL keys switches the SDK to its "parameterized"
authentication, which then takes *all* of them from the configuration):

* ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL`` = ``bf.openid_metadata_url`` (inbound keys);
* ``TO_BOT_FROM_CHANNEL_TOKEN_ISSUER`` = ``"https://api.botframework.com"`` (required: the
  parameterized validator accepts only this issuer and has no default);
* ``TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL`` = ``bf.emulator_openid_metadata_url``;
* ``TO_CHANNEL_FROM_BOT_LOGIN_URL`` = ``bf.login_url``, an ``https://127.0.0.1:PORT/dstsv2/
  botframework.com`` authority. MSAL only takes https authorities, and for a host it does
  not know it first asks login.microsoftonline.com ("instance discovery"); a path starting
  with ``/dstsv2`` makes MSAL treat it as a plain OIDC authority, so it reads
  ``<login_url>/.well-known/openid-configuration`` here and posts to the token endpoint
  found there. MSAL verifies TLS with ``requests``, so while the fake runs it sets
  ``REQUESTS_CA_BUNDLE`` to a bundle of certifi's CAs plus its self-signed certificate
  (``trust_tls=False`` to manage that yourself with ``bf.ca_bundle``);
* ``TO_CHANNEL_FROM_BOT_OAUTH_SCOPE`` = ``"https://api.botframework.com"`` (required too);
* ``OAUTH_URL`` = ``bf.url`` (the user-token service; never called by these tests).

With no app id (``bf.sdk_config(auth=False)``: empty ``APP_ID``, *no* URL overrides) the
SDK neither validates inbound tokens nor fetches outbound ones; use
``FakeConnector(require_bot_token=False)`` so the Connector accepts unauthenticated calls.

Blocking calls: the SDK fetches OpenID metadata, JWKS and AAD tokens with *synchronous*
``requests`` calls from the event loop (and the Teams operations are synchronous too), so
the fake serves from its own thread and event loop. Its state is read from the test's loop.

What the SDK (botbuilder 4.17.1, msrest 0.7.1, urllib3 2) does on the wire, as pinned by
tests/test_teams_connector.py:

* ``CloudAdapter.process`` answers 201 (empty) to non-invoke activities, the invoke
  response (200 + JSON) to invokes; 401 only for ``PermissionError`` (wrong audience,
  issuer or service URL; AAD refusing the app secret). Expired / not-yet-valid / badly
  signed tokens raise ``jwt.PyJWTError``, and a request without Authorization header under
  the URL-overridden ("parameterized") auth raises AttributeError: both escape as 500.
* A reply in a turn posts to ``v3/conversations/{id}/activities/{replyToId}``; a proactive
  ``continue_conversation`` also uses that reply route, with the continuation activity's
  random uuid1 as ``replyToId``; a turn on a conversationUpdate posts to ``.../activities``.
* One AAD token request per turn (each turn builds a new credentials object / MSAL app).
* Connector failures: ``botbuilder.schema.ErrorResponseException`` (an
  ``msrest.exceptions.HttpOperationError``) for any non-2xx with a JSON body: the status is
  ``exc.response.status_code`` (a ``requests.Response``), ``Retry-After`` is
  ``exc.response.headers.get("Retry-After")``, the Bot Framework error
  ``exc.error.error.code`` / ``.message``, ``str(exc)`` "(code) message". A non-JSON body
  (an HTML gateway page) raises ``msrest.exceptions.DeserializationError`` (azure.core's)
  without the status. msrest's urllib3 ``Retry`` (3 retries, backoff 0 / 1.6 / 3.2 s) resends
  GET/PUT/DELETE -- never POST -- on 408 and 5xx except 501/505, and on 413/429/503 carrying
  Retry-After (sleeping that long); exhausted 5xx retries raise
  ``msrest.exceptions.ClientRequestError`` (``inner_exception``: ``requests.RetryError``, no
  status). ``connector.config.retry_policy.retries = 0`` plus
  ``connector.config.retry_policy.policy.raise_on_status = False`` on the turn's
  ``ConnectorClient`` (``turn_state[adapter.BOT_CONNECTOR_CLIENT_KEY]``) make every failure
  an ``ErrorResponseException`` at once.
* ``ConversationAccount.tenant_id`` is mapped to "tenantID" while Teams sends "tenantId":
  read the tenant from ``channelData.tenant.id``.
* ``ActivityHandler.on_adaptive_card_invoke``'s answer is serialized twice (the second time
  by ``CloudAdapter.process``, on a dict) and fails (500): return an ``InvokeResponse``
  whose ``body`` is a msrest model from ``on_invoke_activity`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import hashlib
import ipaddress
import json
import os
import random
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
import jwt
import requests.certs
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tests.waiting import poll

__all__ = [
    "BOT_FRAMEWORK_ISSUER",
    "BOT_FRAMEWORK_SCOPE",
    "EMULATOR_ISSUER",
    "Call",
    "Download",
    "FakeConnector",
    "PostResult",
]

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
#: The Bot Framework's AAD tenant; v1 tokens from it are "emulator" tokens to the SDK.
BOT_FRAMEWORK_TENANT = "d6d49420-f39b-4df7-a1dc-d59a935871db"
EMULATOR_ISSUER = f"https://sts.windows.net/{BOT_FRAMEWORK_TENANT}/"
CHANNEL_ID = "msteams"
CONNECTOR_DENIED = {"message": "Authorization has been denied for this request."}

BadTokenKind = Literal[
    "wrong_audience",
    "expired",
    "not_yet_valid",
    "wrong_signature",
    "wrong_issuer",
    "wrong_service_url",
    "no_service_url",
]

#: Default Bot Framework error codes answered by ``fail`` (``code=`` overrides).
ERROR_CODES: dict[int, tuple[str, str]] = {
    400: ("BadArgument", "Invalid request."),
    401: ("Unauthorized", "Authorization has been denied for this request."),
    403: ("ConversationBlockedByUser", "User blocked the conversation with the bot."),
    404: ("ConversationNotFound", "Conversation not found."),
    409: ("Conflict", "Conflict."),
    412: ("PreconditionFailed", "Precondition failed, please try again."),
    413: ("MessageSizeTooBig", "Activity payload too large."),
    429: ("Throttled", "Too many requests. Please retry after the time in Retry-After."),
    500: ("InternalServerError", "An internal error occurred."),
    502: ("ServiceError", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}

_EDGE_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n"
    "<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class _SigningKey:
    private: rsa.RSAPrivateKey
    kid: str

    def jwk(self, endorsements: Sequence[str] | None) -> dict[str, Any]:
        key: dict[str, Any] = dict(RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True))
        key.update({"kid": self.kid, "use": "sig", "x5t": self.kid})
        if endorsements is not None:
            key["endorsements"] = list(endorsements)
        return key

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        headers = {"kid": kid or self.kid, "x5t": kid or self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.private, algorithm="RS256", headers=headers)


_KEYS: dict[str, _SigningKey] = {}
_KEYS_LOCK = threading.Lock()


def _key(name: str) -> _SigningKey:
    """A process-wide RSA key (generating 2048-bit keys is slow, so they are shared).

    Sharing also keeps the SDK's process-wide OpenID metadata cache (keyed by URL, refreshed
    once a day) consistent when a later fake happens to reuse a port.
    """
    with _KEYS_LOCK:
        key = _KEYS.get(name)
        if key is None:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            der = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:15]).decode()
            key = _KEYS[name] = _SigningKey(private, kid)
        return key


def _tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem) written to ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FakeConnector 127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


# --------------------------------------------------------------------------- records


@dataclass
class Call:
    """One Connector REST request (``/v3/...``), as received and answered.

    ``path`` is percent-decoded (``/v3/conversations/a:1/activities``); ``body`` the JSON
    body (None without one); ``auth`` the raw Authorization header; ``bot_app_id`` the
    ``appid`` of a valid token this fake issued; ``status`` the HTTP status answered.
    """

    method: str
    path: str
    body: Any
    auth: str | None
    status: int
    query: dict[str, str] = field(default_factory=dict)
    bot_app_id: str | None = None
    response: Any = field(default=None, repr=False)
    #: The client's (host, port): one per TCP connection, to see connections reused.
    peer: tuple[str, int] | None = None
    at: float = field(default_factory=time.monotonic, repr=False)

    @property
    def json(self) -> Any:
        """Alias of ``body``."""
        return self.body

    @property
    def token(self) -> str | None:
        """The bearer token sent, if any."""
        return _bearer_value(self.auth)


@dataclass
class Download:
    """One ``GET /files/<id>``: the Authorization header sent and the status answered."""

    file_id: str
    auth: str | None
    status: int

    @property
    def token(self) -> str | None:
        return _bearer_value(self.auth)


@dataclass
class PostResult:
    """The bot's answer to ``post_activity``: status, body text and headers."""

    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class _Fault:
    path_contains: str | None
    method: str | None
    status: int
    remaining: int
    retry_after: int | None
    code: str | None
    body: Any
    html: bool = False


def _bearer_value(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if moment.utcoffset() == dt.timedelta(0) else text


def _error(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    default_code, default_message = ERROR_CODES.get(
        status, (HTTPStatus(status).phrase.replace(" ", ""), HTTPStatus(status).phrase)
    )
    return {"error": {"code": code or default_code, "message": message or default_message}}


def _base_conversation_id(conversation_id: str) -> str:
    """``19:x@thread.tacv2;messageid=1`` -> ``19:x@thread.tacv2`` (a channel thread)."""
    return conversation_id.split(";", 1)[0]


# --------------------------------------------------------------------------- the fake


class FakeConnector:
    """Bot Framework Connector + token issuers + file host for one Teams bot.

    ``async with FakeConnector() as bf:`` (or ``start()`` / ``stop()``). Public state, safe
    to read from tests: ``calls``, ``sent``, ``activities``, ``updated``, ``deleted``,
    ``conversations``, ``users``, ``teams``, ``token_requests``, ``bot_tokens``,
    ``downloads``.

    ``require_bot_token`` (default True, like the real Connector): Connector calls without
    a bearer token are answered 401. A token that this fake did not issue (or that has
    expired, or is for another audience) is always answered 401. Use
    ``require_bot_token=False`` for a bot running without an app id (no auth at all).
    ``strict`` (default True): sending to a conversation the fake does not know answers
    404 ``ConversationNotFound``; the activity builders, ``add_conversation``,
    ``add_team`` and ``POST v3/conversations`` register conversations.
    """

    def __init__(
        self,
        app_id: str = "app-123",
        app_password: str = "secret",
        bot_name: str = "Relais",
        *,
        tenant: str = "tenant-1",
        require_bot_token: bool = True,
        strict: bool = True,
        endorsements: Sequence[str] = (CHANNEL_ID,),
        token_lifetime: int = 3600,
        trust_tls: bool = True,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.bot_name = bot_name
        self.tenant = tenant
        self.require_bot_token = require_bot_token
        self.strict = strict
        self.endorsements = tuple(endorsements)
        self.token_lifetime = token_lifetime
        self.trust_tls = trust_tls

        self.calls: list[Call] = []
        #: Activities the bot sent (send, reply, create-with-activity), as received, with
        #: ``id`` set to the id answered and ``conversation.id`` to the URL's conversation.
        self.sent: list[dict[str, Any]] = []
        #: Current version of every activity the bot sent, by id.
        self.activities: dict[str, dict[str, Any]] = {}
        #: The bodies of the updates (PUT) of each activity id, oldest first.
        self.updated: dict[str, list[dict[str, Any]]] = {}
        self.deleted: list[str] = []
        #: conversation id -> {"id", "type", "members", "team_id", "tenant_id"}.
        self.conversations: dict[str, dict[str, Any]] = {}
        #: user id ("29:...") -> TeamsChannelAccount JSON.
        self.users: dict[str, dict[str, Any]] = {}
        #: team id -> {"id", "name", "aadGroupId", "channels": {id: name}, "members": [...]}.
        self.teams: dict[str, dict[str, Any]] = {}
        #: Form fields of each AAD token request (client_id, client_secret, scope, ...).
        self.token_requests: list[dict[str, str]] = []
        #: Access tokens issued to the bot, oldest first.
        self.bot_tokens: list[str] = []
        self.downloads: list[Download] = []
        #: GETs of the OpenID metadata / JWKS documents (path), for cache checks.
        self.metadata_requests: list[str] = []

        self._files: dict[str, tuple[bytes, str, bool]] = {}
        self._faults: list[_Fault] = []
        self._share = 0.0
        self._share_statuses: tuple[int, ...] = (429, 503)
        self._share_retry_after = 1
        self._rng = random.Random(0)
        self._lock = threading.Lock()
        self._seq = 0
        self._id_base = int(time.time() * 1000)

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._runners: list[web.AppRunner] = []
        self._port: int | None = None
        self._tls_port: int | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._saved_ca_env: str | None = None
        self.ca_file: Path | None = None
        self.ca_bundle: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start both listeners (HTTP Connector, HTTPS authority) in a background thread."""
        if self._thread is not None:
            return
        ssl_context = await asyncio.to_thread(self._prepare)
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(ssl_context,), name="FakeConnector", daemon=True
        )
        self._thread.start()
        await asyncio.to_thread(self._ready.wait, 10)
        if self._startup_error is not None or self._port is None:
            await self.stop()
            raise RuntimeError("FakeConnector did not start") from self._startup_error
        if self.trust_tls:
            self._saved_ca_env = os.environ.get("REQUESTS_CA_BUNDLE")
            os.environ["REQUESTS_CA_BUNDLE"] = str(self.ca_bundle)

    def _prepare(self) -> ssl.SSLContext:
        """Blocking setup: keys, the TLS certificate and the CA bundle trusting it."""
        _key("channel")
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-connector-")
        directory = Path(self._tmp.name)
        cert_file, key_file = _tls_files(directory)
        self.ca_file = cert_file
        self.ca_bundle = directory / "ca-bundle.pem"
        base_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or requests.certs.where()
        self.ca_bundle.write_bytes(Path(base_bundle).read_bytes() + b"\n" + cert_file.read_bytes())
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(cert_file, key_file)
        return ssl_context

    async def stop(self) -> None:
        """Stop serving; restore ``REQUESTS_CA_BUNDLE``; forget the SDK's cached metadata."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
        self._thread = None
        self._loop = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self.trust_tls and os.environ.get("REQUESTS_CA_BUNDLE") == str(self.ca_bundle):
            saved = self._saved_ca_env
            # (an enclosing fake stopped first may have deleted its bundle)
            if saved is None or not os.path.exists(saved):
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = saved
        if self._port is not None:
            self._forget_sdk_metadata()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> FakeConnector:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _serve(self, ssl_context: ssl.SSLContext) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup(ssl_context))
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for runner in self._runners:
                loop.run_until_complete(runner.cleanup())
            self._runners.clear()
            loop.close()

    async def _setup(self, ssl_context: ssl.SSLContext) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/v1/.well-known/openidconfiguration", self._channel_openid)
        r.add_get("/v1/.well-known/keys", self._channel_keys)
        r.add_get("/common/v2.0/.well-known/openid-configuration", self._emulator_openid)
        r.add_get("/common/discovery/v2.0/keys", self._emulator_keys)
        r.add_get("/files/{file_id}", self._file)
        r.add_route("*", "/v3/{tail:.*}", self._connector)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._port = int(runner.addresses[0][1])

        tls_app = web.Application()
        tls_app.router.add_get(
            "/dstsv2/{tenant}/.well-known/openid-configuration", self._authority_openid
        )
        tls_app.router.add_post("/dstsv2/{tenant}/oauth2/v2.0/token", self._token)
        tls_runner = web.AppRunner(tls_app, access_log=None, shutdown_timeout=0.5)
        await tls_runner.setup()
        self._runners.append(tls_runner)
        await web.TCPSite(tls_runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        self._tls_port = int(tls_runner.addresses[0][1])

    def _forget_sdk_metadata(self) -> None:
        try:
            from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
        except ImportError:  # pragma: no cover - botbuilder is a dependency
            return
        for url in (self.openid_metadata_url, self.emulator_openid_metadata_url):
            JwtTokenExtractor.metadataCache.pop(url, None)

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """The service URL, ``http://127.0.0.1:PORT/`` (the SDK appends ``v3/...``)."""
        if self._port is None:
            raise RuntimeError("FakeConnector is not started")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def openid_metadata_url(self) -> str:
        """For ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``."""
        return self.url + "v1/.well-known/openidconfiguration"

    @property
    def emulator_openid_metadata_url(self) -> str:
        """For ``TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL``."""
        return self.url + "common/v2.0/.well-known/openid-configuration"

    @property
    def login_url(self) -> str:
        """For ``TO_CHANNEL_FROM_BOT_LOGIN_URL``: the HTTPS AAD-like authority (see module doc)."""
        if self._tls_port is None:
            raise RuntimeError("FakeConnector is not started")
        return f"https://127.0.0.1:{self._tls_port}/dstsv2/botframework.com"

    @property
    def token_url(self) -> str:
        """Where MSAL posts the client-credentials grant."""
        return self.login_url + "/oauth2/v2.0/token"

    @property
    def bot(self) -> dict[str, str]:
        """The bot's channel account, as Teams puts it in ``recipient``."""
        return {"id": f"28:{self.app_id}", "name": self.bot_name}

    def sdk_settings(
        self, app_id: str | None = None, app_password: str | None = None, *, auth: bool = True
    ) -> dict[str, str]:
        """The ``ConfigurationBotFrameworkAuthentication`` settings that use this fake.

        With ``auth=False``: an empty ``APP_ID``/``APP_PASSWORD`` and *no* URL overrides
        (the SDK then neither validates inbound tokens nor fetches outbound ones; the
        parameterized authentication would reject a request without Authorization header).
        """
        if not auth:
            return {"APP_ID": "", "APP_PASSWORD": "", "APP_TYPE": "MultiTenant"}
        return {
            "APP_ID": self.app_id if app_id is None else app_id,
            "APP_PASSWORD": self.app_password if app_password is None else app_password,
            "APP_TYPE": "MultiTenant",
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": self.login_url,
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": BOT_FRAMEWORK_SCOPE,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": self.emulator_openid_metadata_url,
            "OAUTH_URL": self.url,
        }

    def sdk_config(
        self, app_id: str | None = None, app_password: str | None = None, *, auth: bool = True
    ) -> Any:
        """``sdk_settings`` as an object with attributes, as the SDK reads its config."""
        return SimpleNamespace(**self.sdk_settings(app_id, app_password, auth=auth))

    # ------------------------------------------------------------------ tokens

    def channel_token(
        self,
        app_id: str | None = None,
        service_url: str | None = None,
        *,
        lifetime: int = 3600,
        **claims: Any,
    ) -> str:
        """A JWT as the Bot Framework channel sends to the bot (``Authorization: Bearer``).

        ``iss`` https://api.botframework.com, ``aud`` the app id, ``serviceurl`` the
        activity's service URL (``bf.url`` by default), ``nbf``/``exp``; signed RS256 with
        the key in the JWKS (``kid`` header). Extra ``claims`` are added or override.
        """
        now = int(time.time())
        payload: dict[str, Any] = {
            "serviceurl": self.url if service_url is None else service_url,
            "nbf": now - 5,
            "exp": now + lifetime,
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": self.app_id if app_id is None else app_id,
        }
        payload.update(claims)
        return _key("channel").sign(payload)

    def bad_token(
        self,
        kind: BadTokenKind,
        app_id: str | None = None,
        service_url: str | None = None,
    ) -> str:
        """A channel token broken one way.

        ``wrong_audience`` (aud another app), ``expired`` (an hour ago, beyond the SDK's
        5-minute leeway), ``not_yet_valid``, ``wrong_signature`` (same ``kid``, other key),
        ``wrong_issuer``, ``wrong_service_url``, ``no_service_url``.
        """
        now = int(time.time())
        if kind == "wrong_audience":
            return self.channel_token("some-other-app", service_url)
        if kind == "expired":
            return self.channel_token(app_id, service_url, nbf=now - 7200, exp=now - 3600)
        if kind == "not_yet_valid":
            return self.channel_token(app_id, service_url, nbf=now + 3600, exp=now + 7200)
        if kind == "wrong_issuer":
            return self.channel_token(app_id, service_url, iss="https://evil.example.com")
        if kind == "wrong_service_url":
            return self.channel_token(app_id, "https://smba.trafficmanager.net/emea/")
        if kind == "no_service_url":
            payload = jwt.decode(
                self.channel_token(app_id, service_url), options={"verify_signature": False}
            )
            payload.pop("serviceurl")
            return _key("channel").sign(payload)
        if kind == "wrong_signature":
            payload = jwt.decode(
                self.channel_token(app_id, service_url), options={"verify_signature": False}
            )
            return _key("forger").sign(payload, kid=_key("channel").kid)
        raise ValueError(f"unknown bad token kind {kind!r}")

    def emulator_token(self, app_id: str | None = None, *, lifetime: int = 3600) -> str:
        """A v1 AAD token from the Bot Framework tenant, which the SDK treats as the Emulator's."""
        app = self.app_id if app_id is None else app_id
        now = int(time.time())
        payload = {
            "aud": app,
            "iss": EMULATOR_ISSUER,
            "appid": app,
            "ver": "1.0",
            "tid": BOT_FRAMEWORK_TENANT,
            "nbf": now - 5,
            "exp": now + lifetime,
        }
        return _key("channel").sign(payload)

    def decode_bot_token(self, token: str) -> dict[str, Any]:
        """Claims of a token issued to the bot by this fake; raises ``jwt.PyJWTError``."""
        return jwt.decode(
            token,
            _key("channel").private.public_key(),
            algorithms=["RS256"],
            audience=BOT_FRAMEWORK_SCOPE,
        )

    @property
    def bot_token(self) -> str | None:
        """The latest access token issued to the bot."""
        return self.bot_tokens[-1] if self.bot_tokens else None

    # ------------------------------------------------------------------ directory

    def add_user(
        self,
        user_id: str = "29:alice",
        name: str = "Alice",
        aad: str | None = "aad-alice",
        *,
        email: str | None = None,
        tenant: str | None = None,
        given_name: str | None = None,
        surname: str | None = None,
        user_role: str = "user",
    ) -> dict[str, Any]:
        """Register (or replace) a user; returns its TeamsChannelAccount JSON."""
        login = email or f"{name.split()[0].lower()}@example.com"
        first, _, last = name.partition(" ")
        account: dict[str, Any] = {
            "id": user_id,
            "name": name,
            "aadObjectId": aad,
            "givenName": given_name if given_name is not None else first,
            "surname": surname if surname is not None else (last or None),
            "email": login,
            "userPrincipalName": login,
            "tenantId": tenant or self.tenant,
            "userRole": user_role,
        }
        self.users[user_id] = {k: v for k, v in account.items() if v is not None}
        return copy.deepcopy(self.users[user_id])

    def _ensure_user(self, user_id: str, name: str, aad: str | None, tenant: str) -> None:
        if user_id not in self.users:
            self.add_user(user_id, name, aad, tenant=tenant)

    def personal_conversation_id(self, user_id: str) -> str:
        """The 1:1 conversation id of a user (``a:<user>``), registering it."""
        for conversation in list(self.conversations.values()):
            if conversation["type"] == "personal" and conversation["members"] == [user_id]:
                return str(conversation["id"])
        return self.add_conversation(f"a:{user_id}", "personal", [user_id])

    def add_conversation(
        self,
        conversation_id: str,
        kind: Literal["personal", "channel", "groupChat"] = "personal",
        members: Iterable[str] = (),
        *,
        team_id: str | None = None,
        tenant: str | None = None,
    ) -> str:
        """Register a conversation the bot may post to; returns its id."""
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "type": kind,
            "members": list(members),
            "team_id": team_id,
            "tenant_id": tenant or self.tenant,
        }
        return conversation_id

    def add_team(
        self,
        team_id: str = "19:team-1@thread.tacv2",
        name: str = "Ambassadors",
        channels: Mapping[str, str | None] | Sequence[str] | None = None,
        *,
        members: Iterable[str] = (),
        aad_group_id: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Register a team and its channels (for ``GET v3/teams/{id}/conversations``).

        As in Teams, the General channel's id is the team id (its name is absent on the
        wire); ``channels`` defaults to just that one. A sequence gets names "Channel N".
        """
        if channels is None:
            channels = [team_id]
        if not isinstance(channels, Mapping):
            channels = {
                cid: (None if cid == team_id else f"Channel {i}") for i, cid in enumerate(channels)
            }
        team = self.teams.setdefault(
            team_id,
            {
                "id": team_id,
                "name": name,
                "aadGroupId": aad_group_id or str(uuid.uuid5(uuid.NAMESPACE_URL, team_id)),
                "channels": {},
                "members": [],
            },
        )
        team["name"] = name
        team["channels"].update(channels)
        for member in members:
            if member not in team["members"]:
                team["members"].append(member)
        for channel_id in team["channels"]:
            if channel_id not in self.conversations:
                self.add_conversation(channel_id, "channel", team_id=team_id, tenant=tenant)
        return copy.deepcopy(team)

    def _conversation_members(self, conversation_id: str) -> list[dict[str, Any]] | None:
        conversation = self.conversations.get(_base_conversation_id(conversation_id))
        if conversation is None:
            return None if self.strict else list(self.users.values())
        ids = list(conversation["members"])
        if conversation["team_id"] in self.teams:
            ids += [m for m in self.teams[conversation["team_id"]]["members"] if m not in ids]
        return [copy.deepcopy(self.users[i]) for i in ids if i in self.users]

    # ------------------------------------------------------------------ files

    def add_file(
        self,
        file_id: str,
        content: bytes,
        content_type: str = "image/jpeg",
        require_auth: bool = True,
    ) -> str:
        """Serve ``content`` at ``bf.url + "files/<file_id>"`` (returned).

        ``require_auth``: answer 401 unless the request carries a bot token issued by this
        fake, as the Teams attachment service does for ``contentUrl``; use False for
        pre-authenticated URLs such as a file's ``downloadUrl``.
        """
        self._files[file_id] = (content, content_type, require_auth)
        return self.file_url(file_id)

    def file_url(self, file_id: str) -> str:
        return self.url + "files/" + file_id

    # ------------------------------------------------------------------ activity builders

    def _next_id(self) -> str:
        with self._lock:
            self._seq += 1
            return str(self._id_base + self._seq)

    def _activity(
        self,
        activity_type: str,
        *,
        conversation: dict[str, Any],
        user_id: str,
        aad: str | None,
        name: str,
        locale: str,
        tenant: str,
        activity_id: str | None,
        timezone: str,
        channel_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = _now()
        sender: dict[str, Any] = {"id": user_id, "name": name}
        if aad is not None:
            sender["aadObjectId"] = aad
        data = {"tenant": {"id": tenant}}
        data.update(channel_data or {})
        return {
            "type": activity_type,
            "id": activity_id or self._next_id(),
            "timestamp": _iso(now),
            "localTimestamp": _iso(now.astimezone(ZoneInfo(timezone))),
            "localTimezone": timezone,
            "serviceUrl": self.url,
            "channelId": CHANNEL_ID,
            "from": sender,
            "conversation": conversation,
            "recipient": dict(self.bot),
            "entities": [
                {
                    "type": "clientInfo",
                    "locale": locale,
                    "country": locale.rpartition("-")[2] or "US",
                    "platform": "Web",
                    "timezone": timezone,
                }
            ],
            "channelData": data,
            "locale": locale,
        }

    def personal_message(
        self,
        text: str,
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        locale: str = "en-US",
        attachments: list[dict[str, Any]] | None = None,
        activity_id: str | None = None,
        tenant: str = "tenant-1",
        *,
        timezone: str = "Europe/Paris",
    ) -> dict[str, Any]:
        """A 1:1 chat message from a user to the bot (registers the user and conversation)."""
        self._ensure_user(user_id, name, aad, tenant)
        conversation = {
            "conversationType": "personal",
            "tenantId": tenant,
            "id": self.personal_conversation_id(user_id),
        }
        activity = self._activity(
            "message",
            conversation=conversation,
            user_id=user_id,
            aad=aad,
            name=name,
            locale=locale,
            tenant=tenant,
            activity_id=activity_id,
            timezone=timezone,
        )
        activity["text"] = text
        activity["textFormat"] = "plain"
        if attachments:
            activity["attachments"] = attachments
        return activity

    def channel_message(
        self,
        text: str,
        team_id: str = "19:team-1@thread.tacv2",
        channel_id: str | None = None,
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        locale: str = "en-US",
        attachments: list[dict[str, Any]] | None = None,
        activity_id: str | None = None,
        tenant: str = "tenant-1",
        *,
        thread_id: str | None = None,
        mention_bot: bool = True,
        timezone: str = "Europe/Paris",
    ) -> dict[str, Any]:
        """A channel post (or a reply in thread ``thread_id``) that @mentions the bot.

        ``channel_id`` defaults to the team's General channel (id = team id). The
        conversation id is ``<channel>;messageid=<root post id>``; ``text`` is prefixed
        with ``<at>Relais</at>`` and a ``mention`` entity when ``mention_bot``.
        """
        channel = channel_id or team_id
        self._ensure_user(user_id, name, aad, tenant)
        if team_id not in self.teams or channel not in self.teams[team_id]["channels"]:
            self.add_team(
                team_id,
                self.teams.get(team_id, {}).get("name", "Ambassadors"),
                {channel: None if channel == team_id else "Channel"},
                tenant=tenant,
            )
        self.add_team(team_id, self.teams[team_id]["name"], {}, members=[user_id])
        activity_id = activity_id or self._next_id()
        conversation = {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": tenant,
            "id": f"{channel};messageid={thread_id or activity_id}",
        }
        activity = self._activity(
            "message",
            conversation=conversation,
            user_id=user_id,
            aad=aad,
            name=name,
            locale=locale,
            tenant=tenant,
            activity_id=activity_id,
            timezone=timezone,
            channel_data={
                "teamsChannelId": channel,
                "teamsTeamId": team_id,
                "channel": {"id": channel},
                "team": {"id": team_id},
            },
        )
        if mention_bot:
            mention = f"<at>{self.bot_name}</at>"
            activity["text"] = f"{mention} {text}"
            activity["entities"].insert(
                0, {"type": "mention", "mentioned": dict(self.bot), "text": mention}
            )
        else:
            activity["text"] = text
        activity["textFormat"] = "plain"
        if thread_id is not None:
            activity["replyToId"] = thread_id
        if attachments:
            activity["attachments"] = attachments
        return activity

    def conversation_update_bot_added_to_team(
        self,
        team_id: str = "19:team-1@thread.tacv2",
        channel_ids: Mapping[str, str | None] | Sequence[str] | None = None,
        team_name: str = "Ambassadors",
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        tenant: str = "tenant-1",
    ) -> dict[str, Any]:
        """``conversationUpdate`` / ``teamMemberAdded`` for the bot installed in a team.

        Registers the team with ``channel_ids`` (default: the General channel = team id),
        so that ``TeamsInfo.get_team_channels`` lists them.
        """
        self._ensure_user(user_id, name, aad, tenant)
        team = self.add_team(team_id, team_name, channel_ids, members=[user_id], tenant=tenant)
        activity = self._activity(
            "conversationUpdate",
            conversation={
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": tenant,
                "id": team_id,
            },
            user_id=user_id,
            aad=aad,
            name=name,
            locale="en-US",
            tenant=tenant,
            activity_id=f"f:{uuid.uuid4().int % 10**19}",
            timezone="UTC",
            channel_data={
                "team": {"aadGroupId": team["aadGroupId"], "name": team_name, "id": team_id},
                "eventType": "teamMemberAdded",
                "settings": {"selectedChannel": {"id": team_id}},
            },
        )
        for key in ("localTimestamp", "localTimezone", "entities", "locale"):
            activity.pop(key)
        activity["membersAdded"] = [{"id": self.bot["id"]}]
        activity["from"].pop("name")
        return activity

    def conversation_update_bot_added_personal(
        self,
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        tenant: str = "tenant-1",
    ) -> dict[str, Any]:
        """``conversationUpdate`` for the bot installed as a personal app by a user."""
        self._ensure_user(user_id, name, aad, tenant)
        activity = self._activity(
            "conversationUpdate",
            conversation={
                "conversationType": "personal",
                "tenantId": tenant,
                "id": self.personal_conversation_id(user_id),
            },
            user_id=user_id,
            aad=aad,
            name=name,
            locale="en-US",
            tenant=tenant,
            activity_id=f"f:{uuid.uuid4().int % 10**19}",
            timezone="UTC",
        )
        for key in ("localTimestamp", "localTimezone", "entities", "locale"):
            activity.pop(key)
        activity["membersAdded"] = [{"id": self.bot["id"]}, {"id": user_id, "aadObjectId": aad}]
        return activity

    def invoke_adaptive_card_action(
        self,
        verb: str,
        data: dict[str, Any] | None = None,
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        locale: str = "en-US",
        tenant: str = "tenant-1",
        *,
        reply_to_id: str | None = None,
        conversation_id: str | None = None,
        title: str | None = None,
        timezone: str = "Europe/Paris",
    ) -> dict[str, Any]:
        """``invoke`` / ``adaptiveCard/action`` (a Universal Action ``Action.Execute``).

        The bot must answer the HTTP request with an invoke response (200 + a body).
        ``reply_to_id`` is the id of the card's message; the conversation defaults to the
        user's 1:1 chat.
        """
        activity = self._card_activity(
            "invoke", user_id, aad, name, locale, tenant, reply_to_id, conversation_id, timezone
        )
        action: dict[str, Any] = {"type": "Action.Execute", "verb": verb, "data": data or {}}
        if title is not None:
            action["title"] = title
        activity["name"] = "adaptiveCard/action"
        activity["value"] = {"action": action, "trigger": "manual"}
        return activity

    def message_submit(
        self,
        data: dict[str, Any],
        user_id: str = "29:alice",
        aad: str | None = "aad-alice",
        name: str = "Alice",
        locale: str = "en-US",
        tenant: str = "tenant-1",
        *,
        reply_to_id: str | None = None,
        conversation_id: str | None = None,
        timezone: str = "Europe/Paris",
    ) -> dict[str, Any]:
        """An ``Action.Submit`` (legacy card action): a ``message`` with ``value``, no text."""
        activity = self._card_activity(
            "message", user_id, aad, name, locale, tenant, reply_to_id, conversation_id, timezone
        )
        activity["value"] = data
        return activity

    def _card_activity(
        self,
        activity_type: str,
        user_id: str,
        aad: str | None,
        name: str,
        locale: str,
        tenant: str,
        reply_to_id: str | None,
        conversation_id: str | None,
        timezone: str,
    ) -> dict[str, Any]:
        self._ensure_user(user_id, name, aad, tenant)
        cid = conversation_id or self.personal_conversation_id(user_id)
        known = self.conversations.get(_base_conversation_id(cid))
        conversation: dict[str, Any] = {
            "conversationType": known["type"] if known else "personal",
            "tenantId": tenant,
            "id": cid,
        }
        if known and known["type"] != "personal":
            conversation["isGroup"] = True
        extra: dict[str, Any] = {"source": {"name": "message"}}
        if reply_to_id is not None:
            extra["legacy"] = {"replyToId": reply_to_id}
        activity = self._activity(
            activity_type,
            conversation=conversation,
            user_id=user_id,
            aad=aad,
            name=name,
            locale=locale,
            tenant=tenant,
            activity_id=None,
            timezone=timezone,
            channel_data=extra,
        )
        if reply_to_id is not None:
            activity["replyToId"] = reply_to_id
        return activity

    def image_attachment(self, file_id: str) -> dict[str, Any]:
        """An inline image (pasted in the compose box): fetched with the bot's token."""
        return {"contentType": "image/*", "contentUrl": self.file_url(file_id)}

    def file_attachment(
        self, file_id: str, name: str = "x.jpg", file_type: str | None = None
    ) -> dict[str, Any]:
        """A file shared in a 1:1 chat (``file.download.info``); ``downloadUrl`` needs no token."""
        url = self.file_url(file_id)
        return {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": url,
            "name": name,
            "content": {
                "downloadUrl": url,
                "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
                "fileType": file_type or name.rpartition(".")[2].lower(),
            },
        }

    def html_attachment(self, text: str = "", image_ids: Sequence[str] = ()) -> dict[str, Any]:
        """The ``text/html`` rendering Teams adds next to inline images."""
        images = "".join(
            f'<span><img height="250" src="{self.file_url(i)}" width="250" '
            f'style="vertical-align:bottom; width:250px; height:250px" itemid="{i}"></span>'
            for i in image_ids
        )
        return {"contentType": "text/html", "content": f"<div><div>{images}{text}</div></div>"}

    # ------------------------------------------------------------------ talking to the bot

    async def post_activity(
        self,
        app_url: str,
        activity: dict[str, Any],
        token: str | None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a per-request timeout
    ) -> PostResult:
        """POST ``activity`` to the bot as the channel does (``Bearer <token>`` if given).

        ``app_url`` is the bot's base URL or its full ``/api/messages`` endpoint.
        """
        url = app_url.rstrip("/")
        if not url.endswith("/api/messages"):
            url += "/api/messages"
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(url, data=json.dumps(activity), headers=headers) as response,
        ):
            text = await response.text()
            return PostResult(response.status, text, dict(response.headers))

    # ------------------------------------------------------------------ fault injection

    def fail(
        self,
        path_contains: str | None,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        *,
        method: str | None = None,
        code: str | None = None,
        body: Any = None,
        html: bool = False,
    ) -> None:
        """Answer the next ``times`` requests whose path contains ``path_contains`` (None:
        any Connector ``/v3/`` call; a string may also target ``files/`` or
        ``oauth2/v2.0/token``) and, if given, whose HTTP ``method`` matches, with ``status``.

        The body is a Bot Framework error ``{"error": {"code", "message"}}`` (``code``
        overrides the default of ``ERROR_CODES``); ``body`` replaces it (any JSON);
        ``html=True`` answers a gateway's ``text/html`` page instead (which msrest cannot
        deserialize: the SDK then raises ``DeserializationError``, without the status).
        429 carries ``Retry-After`` (``retry_after``, default 1); other statuses carry it
        when ``retry_after`` is given.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(
                _Fault(path_contains, method, status, times, retry_after, code, body, html)
            )

    def fail_share(
        self,
        share: float,
        statuses: Sequence[int] = (429, 503),
        seed: int = 0,
        retry_after: int = 1,
    ) -> None:
        """Fail that share (0..1) of Connector calls at random, reproducibly for a seed.

        ``fail_share(0)`` turns it off; queued ``fail`` faults take precedence.
        """
        if not 0 <= share <= 1:
            raise ValueError("share must be between 0 and 1")
        with self._lock:
            self._share = share
            self._share_statuses = tuple(statuses)
            self._share_retry_after = retry_after
            self._rng = random.Random(seed)

    def clear_failures(self) -> None:
        """Drop queued faults and turn off random failures."""
        with self._lock:
            self._faults.clear()
            self._share = 0.0

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        connector = path.startswith("/v3/")
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None and not connector:
                    continue
                if fault.path_contains is not None and fault.path_contains not in path:
                    continue
                if fault.method is not None and fault.method.upper() != method:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
            if connector and self._share > 0 and self._rng.random() < self._share:
                status = self._rng.choice(self._share_statuses)
                return _Fault(None, None, status, 1, self._share_retry_after, None, None)
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> tuple[web.Response, Any]:
        headers = {"MS-CV": uuid.uuid4().hex[:22]}
        if fault.status == 429 or fault.retry_after is not None:
            headers["Retry-After"] = str(1 if fault.retry_after is None else fault.retry_after)
        if fault.body is not None:
            response = web.json_response(fault.body, status=fault.status, headers=headers)
            return response, fault.body
        if fault.html:
            reason = HTTPStatus(fault.status).phrase
            html = _EDGE_HTML.format(status=fault.status, reason=reason)
            response = web.Response(
                status=fault.status, text=html, content_type="text/html", headers=headers
            )
            return response, html
        answer = _error(fault.status, fault.code)
        return web.json_response(answer, status=fault.status, headers=headers), answer

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - the polling deadline is the API
        message: str | None = None,
    ) -> Any:
        """Poll ``predicate`` (sync or async) every 10 ms until truthy; return its value.

        Raises AssertionError after ``timeout`` seconds, listing the latest calls.
        """
        return await poll(
            predicate,
            timeout,
            message=message,
            context=lambda: f"last Connector calls: {self.describe_calls()}",
        )

    async def wait_sent(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least ``count`` activities; return them all."""
        await self.wait_for(
            lambda: len(self.sent) >= count,
            timeout,
            message=f"{count} sent activit(y/ies) (got {len(self.sent)})",
        )
        return list(self.sent)

    async def wait_calls(
        self,
        path_contains: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
        method: str | None = None,
    ) -> list[Call]:
        """Wait until ``count`` Connector calls matched; return the matching calls."""
        await self.wait_for(
            lambda: len(self.calls_to(path_contains, method)) >= count,
            timeout,
            message=f"{count} call(s) to {path_contains}",
        )
        return self.calls_to(path_contains, method)

    def calls_to(self, path_contains: str, method: str | None = None) -> list[Call]:
        """Recorded Connector calls whose path contains ``path_contains``, oldest first."""
        return [
            call
            for call in list(self.calls)
            if path_contains in call.path and (method is None or call.method == method.upper())
        ]

    def sent_to(self, conversation_id: str) -> list[dict[str, Any]]:
        """Activities the bot sent to a conversation (thread suffixes included)."""
        return [a for a in list(self.sent) if a["conversation"]["id"] == conversation_id]

    def history(self, activity_id: str) -> list[dict[str, Any]]:
        """Every version of a sent activity: as sent, then after each update."""
        first = [a for a in list(self.sent) if a["id"] == activity_id][:1]
        return copy.deepcopy(first + self.updated.get(activity_id, []))

    def describe_calls(self, last: int = 10) -> str:
        calls = list(self.calls)[-last:]
        if not calls:
            return "none"
        return ", ".join(f"{c.method} {c.path}->{c.status}" for c in calls)

    # ------------------------------------------------------------------ HTTP: metadata

    async def _channel_openid(self, request: web.Request) -> web.Response:
        self.metadata_requests.append(request.path)
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self.url + "v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _channel_keys(self, request: web.Request) -> web.Response:
        self.metadata_requests.append(request.path)
        return web.json_response({"keys": [_key("channel").jwk(self.endorsements)]})

    async def _emulator_openid(self, request: web.Request) -> web.Response:
        self.metadata_requests.append(request.path)
        issuer = f"https://login.microsoftonline.com/{BOT_FRAMEWORK_TENANT}/v2.0"
        return web.json_response(
            {
                "issuer": issuer,
                "authorization_endpoint": self.url + "common/oauth2/v2.0/authorize",
                "token_endpoint": self.url + "common/oauth2/v2.0/token",
                "jwks_uri": self.url + "common/discovery/v2.0/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _emulator_keys(self, request: web.Request) -> web.Response:
        self.metadata_requests.append(request.path)
        return web.json_response({"keys": [_key("channel").jwk(None)]})

    # ------------------------------------------------------------------ HTTP: AAD authority

    async def _authority_openid(self, request: web.Request) -> web.Response:
        base = f"https://127.0.0.1:{self._tls_port}/dstsv2/{request.match_info['tenant']}"
        return web.json_response(
            {
                "issuer": base,
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "token_endpoint": base + "/oauth2/v2.0/token",
                "jwks_uri": self.url + "common/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "token"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.token_requests.append(form)
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            return self._fault_response(fault)[0]
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", "AADSTS70003: grant not supported")
        if form.get("client_id") != self.app_id:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                "was not found in the directory 'Bot Framework'.",
            )
        if form.get("client_secret") != self.app_password:
            return _aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return _aad_error(400, "invalid_scope", f"AADSTS70011: invalid scope '{scope}'.")
        now = int(time.time())
        token = _key("channel").sign(
            {
                "aud": scope.removesuffix("/.default"),
                "iss": EMULATOR_ISSUER,
                "iat": now,
                "nbf": now - 5,
                "exp": now + self.token_lifetime,
                "appid": self.app_id,
                "appidacr": "1",
                "idtyp": "app",
                "tid": BOT_FRAMEWORK_TENANT,
                "ver": "1.0",
                "jti": uuid.uuid4().hex,
            }
        )
        self.bot_tokens.append(token)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    def _token_app_id(self, auth: str | None) -> tuple[bool, str | None]:
        """(acceptable, app id) for a Connector request's Authorization header."""
        token = _bearer_value(auth)
        if token is None:
            return not self.require_bot_token, None
        try:
            claims = self.decode_bot_token(token)
        except jwt.PyJWTError:
            return False, None
        return True, claims.get("appid")

    # ------------------------------------------------------------------ HTTP: files

    async def _file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization")
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            response = self._fault_response(fault)[0]
        elif file_id not in self._files:
            response = web.json_response(_error(404, "NotFound", "File not found."), status=404)
        else:
            content, content_type, require_auth = self._files[file_id]
            ok, _ = self._token_app_id(auth)
            if require_auth and (_bearer_value(auth) is None or not ok):
                response = web.json_response(CONNECTOR_DENIED, status=401)
            else:
                response = web.Response(body=content, content_type=content_type)
        self.downloads.append(Download(file_id, auth, response.status))
        return response

    # ------------------------------------------------------------------ HTTP: Connector

    async def _connector(self, request: web.Request) -> web.Response:
        path = request.path
        auth = request.headers.get("Authorization")
        body: Any = None
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        ok, bot_app_id = self._token_app_id(auth)
        fault = self._take_fault(request.method, path)
        if fault is not None:
            response, answer = self._fault_response(fault)
        elif not ok:
            response, answer = web.json_response(CONNECTOR_DENIED, status=401), CONNECTOR_DENIED
        else:
            status, answer = self._route(request.method, path.split("/")[2:], body)
            response = web.json_response(answer, status=status)
        call = Call(
            request.method,
            path,
            body,
            auth,
            response.status,
            dict(request.query),
            bot_app_id,
            answer,
            _peer(request),
        )
        self.calls.append(call)
        return response

    def _route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        """Dispatch ``/v3/<parts>``; returns (status, JSON answer)."""
        if not parts or parts[0] not in ("conversations", "teams"):
            return 404, _error(404, "NotFound", "Unknown resource.")
        if parts[0] == "teams":
            team = self.teams.get(parts[1]) if len(parts) > 1 else None
            if method != "GET":
                return 405, _error(405, "MethodNotAllowed", "Method not allowed.")
            if team is None:
                return 404, _error(404, "TeamNotFound", "Team not found.")
            if len(parts) == 3 and parts[2] == "conversations":
                return 200, {
                    "conversations": [{"id": i, "name": n} for i, n in team["channels"].items()]
                }
            if len(parts) == 2:
                return 200, {
                    "id": team["id"],
                    "name": team["name"],
                    "aadGroupId": team["aadGroupId"],
                    "channelCount": len(team["channels"]),
                    "memberCount": len(team["members"]),
                }
            return 404, _error(404, "NotFound", "Unknown resource.")
        if not isinstance(body, dict | None):
            return 400, _error(400, "BadSyntax", "Body must be a JSON object.")
        if len(parts) == 1:
            if method == "POST":
                return self._create_conversation(body or {})
            if method == "GET":
                return 200, {"conversations": [], "continuationToken": None}
        if len(parts) < 3:
            return 405, _error(405, "MethodNotAllowed", "Method not allowed.")
        cid, resource, rest = parts[1], parts[2], parts[3:]
        if self.strict and _base_conversation_id(cid) not in self.conversations:
            return 404, _error(404)
        if resource == "activities":
            return self._activities(method, cid, rest, body or {})
        if resource in ("members", "pagedmembers") and method == "GET":
            members = self._conversation_members(cid) or []
            if resource == "pagedmembers":
                return 200, {"members": members, "continuationToken": None}
            if not rest:
                return 200, members
            for member in members:
                if rest[0] in (member["id"], member.get("aadObjectId")):
                    return 200, member
            return 404, _error(
                404, "MemberNotFoundInConversation", "The member was not found in the roster."
            )
        return 405, _error(405, "MethodNotAllowed", "Method not allowed.")

    def _activities(
        self, method: str, cid: str, rest: list[str], body: dict[str, Any]
    ) -> tuple[int, Any]:
        if method == "POST" and not rest:
            return 201, {"id": self._record_sent(cid, body, None)}
        if method == "GET" and len(rest) == 2 and rest[1] == "members":
            return 200, self._conversation_members(cid) or []
        if len(rest) != 1:
            return 405, _error(405, "MethodNotAllowed", "Method not allowed.")
        activity_id = rest[0]
        if method == "POST":  # reply (the SDK also uses it proactively, with a random id)
            return 201, {"id": self._record_sent(cid, body, activity_id)}
        known = self.activities.get(activity_id)
        if known is None or _base_conversation_id(known["conversation"]["id"]) != (
            _base_conversation_id(cid)
        ):
            return 404, _error(404, "ActivityNotFoundInConversation", "The activity was not found.")
        if method == "PUT":
            update = copy.deepcopy(body)
            update["id"] = activity_id
            update["conversation"] = {**(update.get("conversation") or {}), "id": cid}
            self.updated.setdefault(activity_id, []).append(update)
            self.activities[activity_id] = update
            return 200, {"id": activity_id}
        if method == "DELETE":
            self.deleted.append(activity_id)
            self.activities.pop(activity_id, None)
            return 200, {}
        return 405, _error(405, "MethodNotAllowed", "Method not allowed.")

    def _record_sent(self, cid: str, body: dict[str, Any], reply_to: str | None) -> str:
        activity = copy.deepcopy(body)
        activity_id = self._next_id()
        activity["id"] = activity_id
        activity["conversation"] = {**(activity.get("conversation") or {}), "id": cid}
        if reply_to is not None:
            activity.setdefault("replyToId", reply_to)
        self.activities[activity_id] = activity
        self.sent.append(activity)
        return activity_id

    def _create_conversation(self, params: dict[str, Any]) -> tuple[int, Any]:
        members = params.get("members") or []
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        if params.get("isGroup") and channel:
            # A new thread in a channel (TeamsInfo.send_message_to_teams_channel).
            known = self.conversations.get(channel)
            if known is None or known["type"] != "channel":
                return 404, _error(404, "ConversationNotFound", f"Channel {channel} not found.")
            if not params.get("activity"):
                return 400, _error(400, "BadArgument", "A channel thread needs an activity.")
            activity_id = self._record_sent(channel, params["activity"], None)
            thread = f"{channel};messageid={activity_id}"
            self.activities[activity_id]["conversation"]["id"] = thread
            return 201, {"id": thread, "activityId": activity_id}
        if params.get("isGroup") or len(members) != 1 or not members[0].get("id"):
            return 400, _error(400, "BadArgument", "Only 1:1 conversations can be created.")
        user_id = str(members[0]["id"])
        if self.strict and user_id not in self.users:
            return 404, _error(404, "MemberNotFound", f"User {user_id} not found.")
        existing = [
            c["id"]
            for c in list(self.conversations.values())
            if c["type"] == "personal" and c["members"] == [user_id]
        ]
        cid = existing[0] if existing else f"a:new-{user_id}"
        if not existing:
            tenant = params.get("tenantId") or (
                (params.get("channelData") or {}).get("tenant", {}).get("id")
            )
            self.add_conversation(cid, "personal", [user_id], tenant=tenant)
        answer: dict[str, Any] = {"id": cid}
        if params.get("activity"):
            answer["activityId"] = self._record_sent(cid, params["activity"], None)
        return 201, answer


def _aad_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description.removeprefix("AADSTS").split(":")[0])],
            "timestamp": _now().strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )


def _peer(request: web.Request) -> tuple[str, int] | None:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return (str(peer[0]), int(peer[1])) if peer else None
