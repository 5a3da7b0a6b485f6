"""Photos sent through Slack: fetched with the bot token after the ack, from a persisted job.

A submitted modal (or a "Submit this?" click on photos dropped in the bot's DM) writes a
``slack.submission`` job and acknowledges at once. ``SubmissionJob`` then streams each
file from Slack (httpx, bearer token, never to a host that is not Slack's or the
configured API's) through the core's media intake, which re-checks the type by content,
and records the submission. A refused file gets the author a DM saying why and what is
accepted, and nothing is recorded; a transient failure is retried by the job runner; a
job that fails for good tells the author too, with their caption, so nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.photos import fetch_photo
from adapters.slack.port import SlackClients, classify
from bot import cards
from bot.actions import handle_action
from bot.core import Core
from bot.i18n import translator
from bot.media import ACCEPTED_LABEL, CleanImage, MediaRejected
from bot.ports import RetryLater
from bot.ui import Message
from domain import MemberView, Platform

log = logging.getLogger(__name__)

JOB_KIND = "slack.submission"
SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")


class FileFetcher:
    """Streams Slack files into the media intake."""

    def __init__(self, core: Core, clients: SlackClients) -> None:
        self.core = core
        self.clients = clients
        api_host = urlsplit(clients.base_url).hostname or ""
        self._extra_hosts = {api_host} if api_host else set()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0), follow_redirects=True)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    def allowed(self, url: str) -> bool:
        """True when ``url`` is Slack's (or the configured API server's) over HTTPS or local."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in self._extra_hosts:
            return parts.scheme in ("http", "https")
        return parts.scheme == "https" and any(
            host == h or host.endswith("." + h) for h in SLACK_FILE_HOSTS
        )

    async def owned_url(self, team: str, file: dict[str, Any], owner: str) -> str:
        """The download URL of a file the submitter shared themselves.

        ``files.info`` is asked every time: it says who shared the file (``user``), which
        a payload naming a file id cannot be trusted to say. Someone else's file is
        refused (``not_yours``): Relais never downloads it with the bot token.
        """
        client = await self.clients.client(team)
        try:
            info = await client.files_info(file=str(file.get("id") or ""))
        except Exception as exc:
            failure = classify(exc)
            if isinstance(failure, RetryLater):
                raise failure from exc
            raise MediaRejected("download_failed") from exc
        data = info.get("file") or {}
        if not owner or str(data.get("user") or "") != owner:
            log.warning("refusing file %s: shared by someone else", file.get("id"))
            raise MediaRejected("not_yours")
        url = data.get("url_private_download") or data.get("url_private")
        if not url:
            raise MediaRejected("download_failed")
        return str(url)

    async def fetch(self, team: str, file: dict[str, Any], owner: str) -> CleanImage:
        """Download one of ``owner``'s files and clean it; ``MediaRejected`` when it is not
        theirs or not a usable photo."""
        url = await self.owned_url(team, file, owner)
        if not self.allowed(url):
            log.warning("refusing to send the bot token to %s", urlsplit(url).hostname)
            raise MediaRejected("download_failed")
        token = await self.clients.token(team)
        # Slack answers a file URL it will not serve to this token with its sign-in page
        # (HTTP 200): the app lacks files:read.
        return await fetch_photo(
            self._http,
            url,
            self.core.media,
            headers={"Authorization": f"Bearer {token}"},
            what="slack file download",
            html_means="login_page",
        )


class NotRecorded(Exception):
    """The photos were fetched, but recording the submission failed."""


class SubmissionJob:
    """Runs ``slack.submission`` jobs: fetch the photos, then record the submission."""

    def __init__(self, core: Core, fetcher: FileFetcher) -> None:
        self.core = core
        self.fetcher = fetcher

    async def _member(self, payload: dict[str, Any]) -> MemberView:
        return await self.core.onboarding.member(Platform.SLACK, payload["team"], payload["user"])

    async def run(self, payload: dict[str, Any]) -> None:
        """Fetch, clean and record; explain any refused file to the author."""
        member = await self._member(payload)
        t = translator(member.locale)
        photos: list[CleanImage] = []
        problems: list[str] = []
        for file in payload.get("files", []):
            name = str(file.get("name") or file.get("id") or "?")
            try:
                photos.append(await self.fetcher.fetch(payload["team"], file, member.external_id))
            except MediaRejected as err:
                detail = {"accepted": ACCEPTED_LABEL, **err.detail}
                problems.append(
                    t("photos.file_refused", name=name, reason=t(f"media.{err.code}", **detail))
                )
        if problems:
            await self._tell(member, t("photos.refused"), problems)
            return
        values = dict(payload.get("values") or {})
        values["client_key"] = payload["client_key"]
        try:
            reply = await handle_action(
                self.core,
                member,
                payload.get("action", "submission.create"),
                str(payload.get("value", "")),
                values,
                photos,
            )
        except Exception as exc:
            # The photos arrived; recording failed. Retried, and if it never works the
            # person is told that, not that their photos could not be fetched.
            raise NotRecorded(f"{type(exc).__name__}: {exc}") from exc
        if reply.failed and reply.message is not None:
            await self._send(member, reply.message)

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        """Every retry failed: say what failed (fetching the photos, or recording the
        submission once they were here), with the caption so nothing is lost."""
        member = await self._member(payload)
        t = translator(member.locale)
        caption = str((payload.get("values") or {}).get("caption") or "")
        if NotRecorded.__name__ in error:
            title, lines = t("slack.submission_not_recorded"), [t("slack.not_recorded_why")]
        else:
            title, lines = t("slack.photos_not_received"), [t("media.download_failed")]
        if caption:
            lines.append(t("dm.outcome.caption", caption=caption))
        await self._tell(member, title, lines)

    async def _tell(self, member: MemberView, title: str, lines: list[str]) -> None:
        await self._send(member, cards.explained(title, lines))

    async def _send(self, member: MemberView, message: Message) -> None:
        await self.core.send_dm(member, message)
