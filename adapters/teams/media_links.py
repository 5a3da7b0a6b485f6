"""Short-lived signed links to cleaned photos: ``GET /media/{signed-token}`` under PUBLIC_URL.

Teams shows a card's image by fetching its URL from Microsoft's side, so the photo must
be reachable over HTTP; the link names one stored photo and an expiry, signed with
HMAC-SHA256. Nobody can list photos or forge a link to another one, and a leaked link
stops working after ``ttl``. Only cleaned copies (no EXIF, no GPS) are ever served.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.links import b64, unb64
from storage.media_store import LocalMediaStore

log = logging.getLogger(__name__)

DEFAULT_TTL = 72 * 3600
_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    # Cleaned videos, played in the browser (aiohttp's FileResponse answers Range requests).
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".zip": "application/zip",
}
#: Files handed to a person (exports, their own data): saved, never shown in the browser.
_ATTACHMENTS = (".csv", ".json", ".zip")


class MediaLinks:
    """Makes and checks signed photo links."""

    def __init__(
        self,
        secret: bytes,
        public_url: str,
        *,
        ttl: int = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl
        self._clock = clock

    def token(self, media_key: str) -> str:
        """``<key>.<expiry>.<signature>``, URL-safe."""
        body = f"{media_key}|{int(self._clock()) + self.ttl}".encode()
        signature = hmac.new(self._secret, body, hashlib.sha256).digest()[:18]
        return f"{b64(body)}.{b64(signature)}"

    def url(self, media_key: str) -> str | None:
        """The public URL of a photo, or None when PUBLIC_URL is not set."""
        if not self.public_url:
            return None
        return f"{self.public_url}/media/{self.token(media_key)}"

    def verify(self, token: str) -> str | None:
        """The media key a valid, unexpired token names; None otherwise."""
        try:
            body_text, signature_text = token.split(".", 1)
            body, signature = unb64(body_text), unb64(signature_text)
            key, expiry = body.decode().rsplit("|", 1)
            expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:18]
            if not hmac.compare_digest(signature, expected) or int(expiry) < self._clock():
                return None
        except (ValueError, UnicodeDecodeError):
            return None
        return key

    def handler(
        self, store: LocalMediaStore
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for ``GET /media/{token}``."""

        async def serve(request: web.Request) -> web.StreamResponse:
            key = self.verify(request.match_info["token"])
            # Blocking calls (the disk; with MEDIA_URL, the bucket): in a thread.
            if key is None or not await asyncio.to_thread(_stored, store, key):
                raise web.HTTPNotFound(text="This photo link is invalid or has expired.")
            path = await asyncio.to_thread(store.path, key)
            headers = {
                "Content-Type": _TYPES.get(path.suffix.lower(), "application/octet-stream"),
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
            }
            suffix = path.suffix.lower()
            if suffix in _ATTACHMENTS:
                headers["Content-Disposition"] = (
                    f'attachment; filename="relais-{path.stem[:12]}{suffix}"'
                )
            return web.FileResponse(path, headers=headers)

        return serve


def _stored(store: LocalMediaStore, key: str) -> bool:
    """True when ``key`` names a stored photo; a signed key that is not a media key at all
    (``../``, a NUL) names none and is logged: only our own links should be signed."""
    try:
        return store.exists(key)
    except ValueError:
        log.warning("a validly signed photo link names %r, which is not a media key", key[:80])
        return False
