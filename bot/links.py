"""Signed, short-lived links that Relais serves itself (no chat SDK here).

``link_secret`` is the key every replica shares: ``RELAIS_SECRET_KEY``, else one derived
from the platform secrets, else a random one for this process (links then die with it).
``LibraryLinks`` makes and checks the content library's links (``GET /library/{token}``):
the token names the workspace, the CM who asked and their language, and an expiry,
signed with HMAC-SHA256; a changed byte or a past expiry is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: How long a library link works: long enough to browse and download, short enough
#: that a forwarded link soon stops working.
LIBRARY_TTL = 2 * 3600


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_secret(settings: Settings) -> bytes:
    """The signing key: RELAIS_SECRET_KEY, else derived from the platform secrets (the same
    on every replica), else random for this process (links die with it; a warning says so)."""
    if settings.relais_secret_key:
        return settings.relais_secret_key.encode()
    material = settings.microsoft_app_password + settings.slack_signing_secret
    if material:
        return hashlib.sha256(b"relais-media-links:" + material.encode()).digest()
    log.warning("RELAIS_SECRET_KEY is not set: signed links will not survive a restart")
    return secrets.token_bytes(32)


def public_base(settings: Settings) -> str:
    """Where people reach ``relais serve``: PUBLIC_URL, else HOST:PORT (the console,
    a test, a machine on the same network)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.host}:{settings.port}"


@dataclass(frozen=True)
class LibraryPass:
    """What a valid library token grants: one workspace's library, to one member, in
    their language, until ``expires`` (epoch seconds)."""

    workspace_id: int
    member_id: int
    locale: str
    expires: int


class LibraryLinks:
    """Makes and checks ``/library/{token}`` links."""

    def __init__(
        self, secret: bytes, *, ttl: int = LIBRARY_TTL, clock: Callable[[], float] = time.time
    ) -> None:
        # A key of its own, so a photo link's token can never pass as a library token.
        self._secret = hashlib.sha256(b"relais-library:" + secret).digest()
        self.ttl = ttl
        self._clock = clock

    def token(self, workspace_id: int, member_id: int, locale: str) -> str:
        expires = int(self._clock()) + self.ttl
        body = f"{workspace_id}|{member_id}|{locale}|{expires}".encode()
        signature = hmac.new(self._secret, body, hashlib.sha256).digest()[:18]
        return f"{b64(body)}.{b64(signature)}"

    def check(self, token: str) -> LibraryPass | str:
        """The pass a token grants, or why not: ``"invalid"`` (tampered, malformed) or
        ``"expired"``."""
        try:
            body_text, signature_text = token.split(".", 1)
            body, signature = unb64(body_text), unb64(signature_text)
            expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:18]
            if not hmac.compare_digest(signature, expected):
                return "invalid"
            workspace, member, locale, expires = body.decode().split("|")
            granted = LibraryPass(int(workspace), int(member), locale, int(expires))
        except (ValueError, UnicodeDecodeError):
            return "invalid"
        return "expired" if granted.expires < self._clock() else granted
