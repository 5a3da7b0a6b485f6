"""Fetching a photo a person sent, from the platform's file host, into the media intake.

Shared by the Slack and Teams photo jobs: the body is streamed (memory does not grow
with the file), a 429 or 5xx is a ``RetryLater`` for the job runner, any other refusal
is a ``MediaRejected`` the person is told about.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from bot.media import CleanImage, MediaIntake, MediaRejected, RejectCode
from bot.ports import RetryLater, retry_after_seconds


async def fetch_photo(
    http: httpx.AsyncClient,
    url: str,
    media: MediaIntake,
    *,
    headers: dict[str, str] | None = None,
    what: str = "file download",
    html_means: RejectCode | None = None,
) -> CleanImage:
    """Stream ``url`` through ``media``; ``html_means``: an HTML answer is that refusal
    (Slack serves its sign-in page with HTTP 200 when the token may not read a file)."""
    try:
        async with http.stream("GET", url, headers=headers or {}) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                raise RetryLater(f"{what}: HTTP {status}", retry_after)
            if status != 200:
                raise MediaRejected("download_failed")
            content_type = response.headers.get("Content-Type", "").lower()
            if html_means is not None and content_type.startswith("text/html"):
                raise MediaRejected(html_means)
            return await media.intake(_chunks(response))
    except httpx.TransportError as exc:
        raise RetryLater(f"{what}: {type(exc).__name__}: {exc}") from exc


async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_bytes(64 * 1024):
        yield chunk
