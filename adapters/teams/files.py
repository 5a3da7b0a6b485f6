"""Photos sent to the bot in Teams: fetched after the ack, from a persisted job.

Teams delivers a pasted image as an ``image/*`` attachment whose ``contentUrl`` must be
fetched with the bot's token, and a file as ``application/vnd.microsoft.teams.file.
download.info`` whose ``downloadUrl`` is pre-authenticated (fetched without a token).
The token is only ever sent to the host of the activity's own service URL (or Teams'
known hosts): an attachment pointing anywhere else is refused, never fetched with it.

``PhotosJob`` streams each photo through the core's media intake (type by content),
keeps the cleaned photos in a draft, and sends the person the submission form; the form
carries only the draft's token. A refused file is explained by DM; nothing is recorded.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.photos import fetch_photo
from bot import cards
from bot.actions import submit_entry
from bot.core import Core
from bot.i18n import translator
from bot.media import ACCEPTED_LABEL, CleanImage, MediaRejected
from bot.ui import Message
from domain import MAX_PHOTOS, MemberView, Platform

log = logging.getLogger(__name__)

JOB_KIND = "teams.photos"
FILE_INFO = "application/vnd.microsoft.teams.file.download.info"
IMAGE_FILE_TYPES = frozenset({"jpg", "jpeg", "png", "webp", "mp4", "mov", "webm"})
# Hosts Teams serves attachments from, besides the activity's service URL.
TEAMS_HOSTS = ("trafficmanager.net", "teams.microsoft.com", "sharepoint.com", "botframework.com")

TokenSource = Callable[[], Awaitable[str | None]]


def host_of(url: str) -> str:
    """The lower-case host of ``url`` ("" when unreadable)."""
    return (urlsplit(url).hostname or "").lower()


def trusted(url: str, service_url: str) -> bool:
    """True when ``url`` is on the activity's service host or one of Teams' own hosts."""
    host = host_of(url)
    if not host:
        return False
    if host == host_of(service_url):
        return urlsplit(url).scheme in ("http", "https")
    return urlsplit(url).scheme == "https" and any(
        host == h or host.endswith("." + h) for h in TEAMS_HOSTS
    )


HTML_COPY = "text/html"


def sort_attachments(
    attachments: list[dict[str, Any]], service_url: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """(photos to fetch, names of what cannot be used) from an activity's attachments.

    Teams' ``text/html`` copy of a message is reported as ``HTML_COPY`` so the caller
    can name it in the person's language."""
    photos: list[dict[str, Any]] = []
    unusable: list[str] = []
    for att in attachments:
        kind = str(att.get("contentType") or att.get("content_type") or "")
        name = str(att.get("name") or "")
        if kind.startswith(("image/", "video/")):
            url = str(att.get("contentUrl") or att.get("content_url") or "")
            if url and trusted(url, service_url):
                photos.append({"url": url, "name": name or "image", "token": True})
            else:
                unusable.append(name or "image")
        elif kind == FILE_INFO:
            content = att.get("content") or {}
            url = str(content.get("downloadUrl") or "")
            file_type = str(content.get("fileType") or name.rsplit(".", 1)[-1]).lower()
            if url and file_type in IMAGE_FILE_TYPES and trusted(url, service_url):
                photos.append({"url": url, "name": name or "file", "token": False})
            else:
                unusable.append(name or "file")
        elif kind == "text/html":
            if HTML_COPY not in unusable:
                unusable.append(HTML_COPY)
        elif kind.startswith("application/vnd.microsoft.card"):
            continue
        else:
            unusable.append(name or kind or "?")
    return photos[:MAX_PHOTOS], unusable


class PhotosJob:
    """Runs ``teams.photos`` jobs: fetch, clean, keep in a draft, send the form."""

    def __init__(self, core: Core, token: TokenSource) -> None:
        self.core = core
        self.token = token
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0), follow_redirects=False)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def _member(self, payload: dict[str, Any]) -> MemberView:
        return await self.core.onboarding.member(Platform.TEAMS, payload["tenant"], payload["user"])

    async def fetch(self, photo: dict[str, Any], service_url: str) -> CleanImage:
        """Download one attachment and clean it."""
        if not trusted(photo["url"], service_url):
            raise MediaRejected("download_failed")
        headers = {}
        if photo.get("token"):
            token = await self.token()
            if token:
                headers["Authorization"] = f"Bearer {token}"
        return await fetch_photo(
            self._http, photo["url"], self.core.media, headers=headers, what="teams file download"
        )

    async def run(self, payload: dict[str, Any]) -> None:
        """Fetch and clean every photo, then send the submission form (or say what failed)."""
        member = await self._member(payload)
        t = translator(member.locale)
        photos: list[CleanImage] = []
        problems: list[str] = []
        for photo in payload.get("photos", []):
            try:
                photos.append(await self.fetch(photo, payload["service_url"]))
            except MediaRejected as err:
                reason = t(f"media.{err.code}", **{"accepted": ACCEPTED_LABEL, **err.detail})
                problems.append(t("photos.file_refused", name=photo["name"], reason=reason))
        if problems or not photos:
            text = t("photos.refused")
            await self._send(
                member,
                cards.explained(text, problems),
                key=payload["key"],
            )
            return
        token = secrets.token_urlsafe(24)
        await self.core.relay.keep_draft(
            token, member, [asdict(p) for p in photos], str(payload.get("caption") or "")
        )
        reply = await submit_entry(self.core, member, str(payload.get("caption") or ""))
        form = reply.form
        if form is not None and form.action == "submission.create":
            form = _with_value(form, f"draft:{len(photos)}:{token}")
        ignored = payload.get("ignored") or []
        note = cards.photos_ignored(t, ignored) if ignored else ""
        if form is None:
            message = reply.message or cards.notice(t("form.submit.title"))
        else:
            message = cards.form_message(form, reply.message, note=note)
        await self._send(member, message, key=payload["key"])

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        """The photos could not be fetched after every retry: say so, with the caption."""
        member = await self._member(payload)
        t = translator(member.locale)
        lines = [t("media.download_failed")]
        if payload.get("caption"):
            lines.append(t("dm.outcome.caption", caption=payload["caption"]))
        text = t("teams.photos_not_received")
        await self._send(
            member,
            cards.explained(text, lines),
            key=payload["key"] + ":failed",
        )

    async def _send(self, member: MemberView, message: Message, *, key: str) -> None:
        await self.core.send_dm(member, message, dedupe_key=f"{key}:reply")


async def load_draft(core: Core, member: MemberView, value: str) -> tuple[str, list[CleanImage]]:
    """The photos of the draft a form names (``draft:N:token``), if it is this member's."""
    token = value.split(":", 2)[2] if value.startswith("draft:") and value.count(":") >= 2 else ""
    if not token:
        return "", []
    photos = await core.relay.draft_photos(member, token)
    return (token, photos) if photos else ("", [])


def _with_value(form: Any, value: str) -> Any:
    return replace(form, value=value)
