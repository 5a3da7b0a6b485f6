"""Slack's side of the outbox: Web API clients per workspace and the ``PlatformPort``.

Every outbound Slack message (review cards, DMs, ephemeral replies, App Home views,
card updates) is an outbox row sent from here, so a 429 or a 5xx only delays it: the
error is turned into ``RetryLater`` (with Slack's ``Retry-After``) or, when retrying
cannot help (``channel_not_found``, a revoked token), ``PermanentFailure``.

Sends are paced under Slack's limits, in each process: per channel, a token bucket of
about one message per second with a short burst (``CHANNEL_BURST`` messages at once
after a quiet spell; a DM's channel is the person, an ephemeral reply is paced per person
in its channel, an App Home per person), and a per-workspace budget
(``RELAIS_SLACK_RATE`` requests per second, 20 by default, spread evenly) for every call
that posts or rewrites a message (``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``, ``views.publish``). A channel with no token left is not waited
on: the port raises ``NotYet`` and the outbox puts the message back until the channel's
next token, sending other people's messages meanwhile. A 429 holds that channel back for
its ``Retry-After`` and takes its burst away for a minute; several 429s in a row from one
workspace (whatever the channel) hold the whole workspace back, so queued sends wait
instead of all hitting the limit.

Every client shares one aiohttp session (one connection pool) per ``SlackClients``,
opened on first use inside the event loop: without it slack_sdk opens a new session,
so a new TCP (and TLS) connection, for every Web API call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image as PILImage
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.pacing import Limiter, RateLimiter, TokenBucket, pace
from adapters.slack import render
from bot.media import PhotoBudget, decoded_bytes
from bot.ports import NotYet, PermanentFailure, RetryLater, Target, retry_after_seconds
from bot.services.relay import Uploads
from bot.ui import File, Image, Message
from bot.worker import Clock
from storage.media_store import LocalMediaStore
from storage.repositories.slack import COMPLETE, RESERVED, UPLOADED

log = logging.getLogger(__name__)

# Slack error codes worth another try later; everything else is permanent.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
# chat.postMessage: "about one message per second per channel" (Slack's published limit),
# "short bursts allowed" (no number published: a handful, and a 429 takes it away).
PER_CHANNEL = 1.0
CHANNEL_BURST = 5
# Seconds a send to a channel beyond its burst waits after its token came back, so that
# the network's jitter (one request delayed more than the one before it) does not turn
# into a 429 (an offset: the sends stay 1/PER_CHANNEL apart, see TokenBucket).
CHANNEL_MARGIN = 0.02
# Timeout of every Web API call (the shared session's).
TIMEOUT = 15
# Requests per second per workspace for the calls that post or rewrite messages
# (RELAIS_SLACK_RATE).
WORKSPACE_RATE = 20.0
# This many 429s in a row from one workspace, on any channels, hold back the whole workspace.
WORKSPACE_429_STREAK = 3


def api_base_url(url: str) -> str:
    """``SLACK_API_URL`` with the trailing slash the SDK expects."""
    return url if url.endswith("/") else url + "/"


def _status_and_error(exc: SlackApiError) -> tuple[int, str]:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    # A 5xx from Slack's edge is an HTML or text page, not JSON: ``data`` is a str.
    data = getattr(response, "data", None)
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    return status, error


def rate_limited_for(exc: Exception) -> float | None:
    """Seconds to wait (Retry-After, 1 if absent) when ``exc`` is Slack's rate limit answer
    (429, or ``ratelimited``); None for any other failure."""
    if not isinstance(exc, SlackApiError):
        return None
    status, error = _status_and_error(exc)
    if status != 429 and error not in ("ratelimited", "rate_limited"):
        return None
    headers = {k.lower(): v for k, v in (getattr(exc.response, "headers", {}) or {}).items()}
    return retry_after_seconds(headers.get("retry-after")) or 1.0


def classify(exc: Exception) -> Exception:
    """Turn a Web API failure into ``RetryLater`` or ``PermanentFailure`` for the outbox."""
    if isinstance(exc, SlackApiError):
        status, error = _status_and_error(exc)
        retry_after = rate_limited_for(exc)
        if retry_after is not None:
            return RetryLater(f"slack: rate limited ({status})", retry_after)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return RetryLater(f"slack: HTTP {status} {error}".strip())
        return PermanentFailure(f"slack: {error or f'HTTP {status}'}")
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError, OSError)):
        return RetryLater(f"slack: {type(exc).__name__}: {exc}")
    return exc


class SlackClients:
    """The bot token and a Web API client for each workspace.

    Single-workspace mode uses ``SLACK_BOT_TOKEN``; with OAuth, tokens come from Bolt's
    installation store in our database.
    """

    def __init__(
        self,
        api_url: str,
        *,
        bot_token: str = "",
        installation_store: AsyncInstallationStore | None = None,
    ) -> None:
        self.base_url = api_base_url(api_url)
        self.bot_token = bot_token
        self.installation_store = installation_store
        self._clients: dict[str, AsyncWebClient] = {}
        # Every client made here, and the one aiohttp session they all share once open.
        self._made: list[AsyncWebClient] = []
        self._session: aiohttp.ClientSession | None = None

    async def token(self, team_id: str) -> str:
        """The bot token for ``team_id``; ``PermanentFailure`` when Relais is not installed."""
        if self.installation_store is None:
            if not self.bot_token:
                raise PermanentFailure("SLACK_BOT_TOKEN is not set")
            return self.bot_token
        bot = await self.installation_store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            raise PermanentFailure(f"Relais is not installed in Slack workspace {team_id}")
        return bot.bot_token

    async def client(self, team_id: str) -> AsyncWebClient:
        """A Web API client authorised for ``team_id`` (failures surface to the caller)."""
        token = await self.token(team_id)
        self.session()
        if token not in self._clients:
            self._clients[token] = self.new_client(token)
        return self._clients[token]

    def new_client(self, token: str | None = None) -> AsyncWebClient:
        """A client on ``SLACK_API_URL`` that does not retry by itself (the outbox does).

        It uses the shared session once one is open (``session()``); a client made before
        that (Bolt's, built with the app outside the event loop) is given it then. Bolt
        copies its client's session into the client of each request.
        """
        client = AsyncWebClient(
            token=token,
            base_url=self.base_url,
            timeout=TIMEOUT,
            retry_handlers=[],
            session=self._session if self._session is not None else None,
        )
        self._made.append(client)
        return client

    def session(self) -> aiohttp.ClientSession:
        """The one aiohttp session (connection pool) of every client; call in the loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=60),
            )
            for client in self._made:
                client.session = self._session
        return self._session

    async def close(self) -> None:
        """Close the shared session (its connections)."""
        if self._session is not None:
            session, self._session = self._session, None
            for client in self._made:
                client.session = None
            await session.close()


class SlackPort:
    """Sends outbox rows to Slack."""

    platform = "slack"

    def __init__(
        self,
        clients: SlackClients,
        uploads: Uploads,
        store: LocalMediaStore,
        clock: Clock,
        *,
        workspace_rate: float = WORKSPACE_RATE,
        channel_rate: float = PER_CHANNEL,
        channel_burst: int = CHANNEL_BURST,
        channel_margin: float = CHANNEL_MARGIN,
        max_wait: float = 0.0,
        timer: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: PhotoBudget | None = None,
    ) -> None:
        self.clients = clients
        self.uploads = uploads
        self.store = store
        self.clock = clock
        # Shared with the process's photo intake (Core.photo_budget): a WebP photo is
        # decoded to be sent as PNG.
        self.budget = budget or PhotoBudget()
        # Keys: "<team>:<channel>" (a DM: the person's id; an App Home: "home:<user>"; an
        # ephemeral message: "<channel>/<user>"), and "<team>" for the workspace budget.
        self.per_channel = TokenBucket(
            channel_rate, channel_burst, margin=channel_margin, clock=timer, sleep=sleep
        )
        self.per_workspace = RateLimiter(workspace_rate, clock=timer, sleep=sleep)
        # A channel that has no token for longer than this raises ``NotYet`` rather than
        # wait (0: never wait; the outbox decides). The workspace budget is always waited on.
        self.max_wait = max_wait
        self._streaks: dict[str, int] = {}
        # When each hold ends on the outbox's clock: the dispatcher retries the row that got
        # the 429 once Retry-After has passed on that clock, and the hold must not outlast it.
        self._holds: dict[tuple[Limiter, str], datetime] = {}
        # A DM is posted to the person's id and Slack answers with the D... channel that
        # ``chat.update`` then names: both are paced as one channel.
        self._aliases: dict[tuple[str, str], str] = {}
        self._upload_locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        """Post ``message``; the reference is the channel and ``ts`` (for ``chat.update``)."""
        try:
            client = await self.clients.client(workspace)
            images = await self._images(client, workspace, message)
            if target.kind == "home":
                await self._paced(
                    workspace,
                    f"home:{target.id}",
                    client.views_publish,
                    user_id=target.id,
                    view=render.home_view(message, images),
                )
                return {"home": target.id}
            shared = [b for b in message.blocks if isinstance(b, File)]
            if shared and target.kind in ("user", "channel"):
                return await self._share(client, workspace, target, message, shared[0])
            blocks = render.message_blocks(message, images)
            if target.kind == "ephemeral":
                return await self._ephemeral(client, workspace, target, message, blocks)
            response = await self._paced(
                workspace,
                target.id,
                client.chat_postMessage,
                channel=target.id,
                text=render.fallback_text(message),
                blocks=blocks,
                mrkdwn=False,
                unfurl_links=False,
                unfurl_media=False,
            )
            ref = {"channel": response["channel"], "ts": response["ts"]}
            await self._share_videos(client, workspace, message, ref)
            return ref
        except (RetryLater, PermanentFailure, NotYet):
            raise
        except Exception as exc:
            raise self._classify(exc, message) from exc

    async def prepare(self, workspace: str, message: Message) -> None:
        """Upload ``message``'s photos now (the outbox does this for a channel's cards side
        by side, before posting them one by one under the channel's pace)."""
        if any(isinstance(b, Image) for b in message.blocks):
            client = await self.clients.client(workspace)
            await self._images(client, workspace, message)

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Rewrite a posted message in place (a decided review card)."""
        if "channel" not in ref or "ts" not in ref:
            raise PermanentFailure(f"cannot update a message posted as {ref}")
        try:
            client = await self.clients.client(workspace)
            images = await self._images(client, workspace, message)
            await self._paced(
                workspace,
                ref["channel"],
                client.chat_update,
                channel=ref["channel"],
                ts=ref["ts"],
                text=render.fallback_text(message),
                blocks=render.message_blocks(message, images),
            )
        except (RetryLater, PermanentFailure, NotYet):
            raise
        except Exception as exc:
            raise self._classify(exc, message) from exc

    async def _ephemeral(
        self,
        client: AsyncWebClient,
        workspace: str,
        target: Target,
        message: Message,
        blocks: list[dict[str, Any]],
    ) -> dict[str, Any]:
        text = render.fallback_text(message)
        try:
            # Only ``target.user`` sees it: paced per person in the channel, so replies to
            # several people's clicks in one channel do not queue behind one another.
            await self._paced(
                workspace,
                f"{target.id}/{target.user}",
                client.chat_postEphemeral,
                channel=target.id,
                user=target.user,
                text=text,
                blocks=blocks,
            )
            return {"ephemeral": target.id}
        except SlackApiError as exc:
            failure = classify(exc)
            if isinstance(failure, RetryLater):
                raise failure from exc
        # The person left the channel (or it is gone): tell them in their DM instead.
        response = await self._paced(
            workspace,
            target.user,
            client.chat_postMessage,
            channel=target.user,
            text=text,
            blocks=blocks,
            mrkdwn=False,
        )
        return {"channel": response["channel"], "ts": response["ts"]}

    async def _share(
        self,
        client: AsyncWebClient,
        workspace: str,
        target: Target,
        message: Message,
        block: File,
    ) -> dict[str, Any]:
        """A file handed to a person (an export): uploaded and shared in their DM (or the
        channel) with the message's text as its comment. Unlike a card's photo it is shared,
        so it is uploaded for each message; a lost answer to the last call may share it
        twice, as a lost answer to ``chat.postMessage`` may post twice."""
        channel = target.id
        if target.kind == "user":
            opened = await client.conversations_open(users=target.id)
            channel = str(opened["channel"]["id"])
        # Streamed from disk on the shared session (a zip of someone's photos can be large).
        file_id = await self._share_file(
            client,
            workspace,
            channel,
            block.media_key,
            block.filename,
            block.title,
            comment=render.fallback_text(message),
        )
        return {"channel": channel, "file": file_id}

    async def _share_videos(
        self, client: AsyncWebClient, workspace: str, message: Message, ref: dict[str, Any]
    ) -> None:
        """Share each video's cleaned clip in the thread of the message just posted (a
        review card, a digest), so the reader plays it in Slack. A file a bot uploads
        without sharing is visible to nobody else, so the clip is shared, once per
        message. The message is already posted, so a failure is not handed to the outbox
        (a retry would post the card twice): a transient one (rate limit, 5xx, the
        channel's pace) is tried again here, up to ``SHARE_ATTEMPTS`` times; anything
        else is logged, and the card still shows the poster frame."""
        for block in message.blocks:
            if not isinstance(block, Image) or not block.video_key:
                continue
            for attempt in range(1, SHARE_ATTEMPTS + 1):
                try:
                    await self._share_file(
                        client,
                        workspace,
                        str(ref["channel"]),
                        block.video_key,
                        _upload_name(self.store.path(block.video_key)),
                        block.play_label or block.alt,
                        thread_ts=str(ref["ts"]),
                    )
                    break
                except Exception as exc:
                    failure = classify(exc) if isinstance(exc, SlackApiError) else exc
                    transient = isinstance(failure, (RetryLater, NotYet))
                    if not transient or attempt == SHARE_ATTEMPTS:
                        log.warning(
                            "slack: video %s not shared under its card: %r",
                            block.video_key,
                            failure,
                        )
                        break
                    wait = getattr(failure, "retry_after", None) or 1.0
                    await asyncio.sleep(min(wait, SHARE_WAIT_MAX))

    async def _share_file(
        self,
        client: AsyncWebClient,
        workspace: str,
        channel: str,
        key: str,
        filename: str,
        title: str,
        *,
        comment: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Upload a stored file (streamed from disk) and share it in ``channel`` (in a
        thread with ``thread_ts``); return its Slack file id."""
        if not self.store.exists(key):
            raise PermanentFailure(f"file {key} is missing from MEDIA_DIR")
        path = await asyncio.to_thread(self.store.path, key)
        length = (await asyncio.to_thread(path.stat)).st_size
        answer = await client.files_getUploadURLExternal(filename=filename, length=length)
        file_id, url = str(answer["file_id"]), str(answer["upload_url"])
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        timeout = aiohttp.ClientTimeout(total=300)
        try:
            async with self.clients.session().post(
                url, data=_chunks(path), headers=headers, timeout=timeout
            ) as resp:
                status = resp.status
                await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryLater(f"slack: upload of {filename}: {exc!r}") from exc
        if status != 200:
            raise RetryLater(f"slack: upload of {filename}: HTTP {status}")
        extra: dict[str, Any] = {}
        if comment is not None:
            extra["initial_comment"] = comment
        if thread_ts is not None:
            extra["thread_ts"] = thread_ts
        await self._paced(
            workspace,
            channel,
            client.files_completeUploadExternal,
            files=[{"id": file_id, "title": title}],
            channel_id=channel,
            **extra,
        )
        return file_id

    async def _paced(
        self, team: str, channel: str, call: Callable[..., Awaitable[Any]], /, **kwargs: Any
    ) -> Any:
        """``call(**kwargs)`` once ``channel`` and the workspace ``team`` have room for it."""
        key = self._ready(team, channel)
        await pace((self.per_channel, key), (self.per_workspace, team))
        try:
            response = await call(**kwargs)
        except SlackApiError as exc:
            self._answered(team, key, rate_limited_for(exc))
            raise
        self._answered(team, key, None)
        answered = response.get("channel") if channel.startswith(("U", "W")) else None
        if isinstance(answered, str) and answered != channel:
            self._aliases[(team, answered)] = channel
        return response

    def _ready(self, team: str, channel: str) -> str:
        """The pacing key of ``channel``; raises ``NotYet`` when the channel has no token
        for longer than ``max_wait``. Checked just before the call, after the message's
        photos are uploaded: a card given back for pacing has its photo up when its turn
        comes, so only the post itself is left then."""
        key = f"{team}:{self._aliases.get((team, channel), channel)}"
        if self._holds:
            now = self.clock()
            for limit in ((self.per_channel, key), (self.per_workspace, team)):
                until = self._holds.get(limit)
                if until is not None and until <= now:
                    del self._holds[limit]
                    limit[0].release(limit[1])
        wait = self.per_channel.delay(key)
        if wait > self.max_wait:
            raise NotYet(wait, self.per_channel.interval)
        return key

    def _answered(self, team: str, key: str, retry_after: float | None) -> None:
        """Push the channel (and, after a streak of 429s, the workspace) back on a 429."""
        if retry_after is None:
            self._streaks.pop(team, None)
            return
        self._hold(self.per_channel, key, retry_after)
        streak = self._streaks.get(team, 0) + 1
        self._streaks[team] = streak
        if streak >= WORKSPACE_429_STREAK:
            # 429s on several sends in a row: the workspace's budget, not one channel's.
            log.warning("slack: workspace %s rate limited; holding it %.1fs", team, retry_after)
            self._hold(self.per_workspace, team, retry_after)

    def _hold(self, limiter: TokenBucket | RateLimiter, key: str, seconds: float) -> None:
        limiter.hold(key, seconds)
        now = self.clock()
        if len(self._holds) > 1024:
            self._holds = {k: until for k, until in self._holds.items() if until > now}
        self._holds[(limiter, key)] = now + timedelta(seconds=seconds)

    @staticmethod
    def _classify(exc: Exception, message: Message) -> Exception:
        failure = classify(exc)
        has_images = any(isinstance(b, Image) for b in message.blocks)
        if (
            isinstance(failure, PermanentFailure)
            and has_images
            and "invalid_blocks" in str(failure)
        ):
            # A photo uploaded a moment ago may still be processing on Slack's side.
            return RetryLater("slack: uploaded photo not ready yet", 3.0)
        return failure

    async def _images(self, client: AsyncWebClient, team: str, message: Message) -> dict[str, str]:
        """Upload each photo of ``message`` once per workspace; media key -> Slack file id.

        The cleaned photo (no EXIF, no GPS) is uploaded by the bot without sharing it in
        any channel, so cards show it in HTTP and Socket Mode alike and no public URL is
        needed.
        """
        keys = list(dict.fromkeys(b.media_key for b in message.blocks if isinstance(b, Image)))
        found: dict[str, str] = {}
        if not keys:
            return found
        found.update(await self.uploads.uploaded(team, keys))
        for key in keys:
            if key not in found:
                file_id = await self._upload(client, team, key)
                if file_id is not None:
                    found[key] = file_id
        return found

    async def _upload(self, client: AsyncWebClient, team: str, key: str) -> str | None:
        """Upload one photo, resuming an upload an earlier try (or a crashed process) began.

        Slack's upload is three calls; each one's result is committed as soon as it
        succeeds (``slack_uploads.state``), so a retry after a failure or a crash does only
        the steps still missing: never a second file, at most the one step that was under
        way again. One upload per photo at a time in this process (two cards showing the
        same photo wait for one another); across replicas the first reservation wins.
        """
        lock = self._upload_locks.setdefault((team, key), asyncio.Lock())
        try:
            async with lock:
                return await self._upload_steps(client, team, key)
        finally:
            if not lock.locked():
                self._upload_locks.pop((team, key), None)

    async def _upload_steps(self, client: AsyncWebClient, team: str, key: str) -> str | None:
        step = await self.uploads.upload_step(team, key)
        if step is not None and step.state == COMPLETE:
            return step.file_id
        if not await asyncio.to_thread(self.store.exists, key):  # S3: a network call
            log.warning("photo %s is missing from MEDIA_DIR; card sent without it", key)
            return None
        filename = _upload_name(self.store.path(key))
        if step is None or step.state == RESERVED:
            async with self._upload_file(key) as (path, length):
                if step is None:
                    answer = await client.files_getUploadURLExternal(
                        filename=filename, length=length
                    )
                    step = await self.uploads.reserve_upload(
                        team, key, str(answer["file_id"]), str(answer["upload_url"])
                    )
                    if step.state == COMPLETE:  # another replica finished it meanwhile
                        return step.file_id
                if step.state == RESERVED:
                    await self._send_file(
                        team, key, step.file_id, step.upload_url or "", path, length, filename
                    )
                    await self._advance(team, key, step.file_id, UPLOADED)
        file_id = step.file_id
        try:
            await client.files_completeUploadExternal(files=[{"id": file_id, "title": filename}])
        except SlackApiError as exc:
            failure = classify(exc)
            if isinstance(failure, RetryLater):
                raise failure from exc
            # Refused: perhaps an earlier try completed it and its answer was lost.
            if not await self._file_exists(client, file_id):
                await self._abandon(team, key, file_id)
                raise RetryLater(f"slack: upload of {filename} not accepted ({failure})") from exc
        await self._advance(team, key, file_id, COMPLETE)
        return file_id

    async def _send_file(
        self,
        team: str,
        key: str,
        file_id: str,
        url: str,
        path: Path,
        length: int,
        filename: str,
    ) -> None:
        """Step two: the bytes, to the URL step one gave (no token: the URL is the grant),
        streamed from disk. The body is a generator that owns the open file: the shared
        session's writer may still be reading when a server answers early (a 429 or a 5xx
        before the body), so the file must not be closed under it."""
        timeout = aiohttp.ClientTimeout(total=60)
        http = self.clients.session()
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        try:
            async with http.post(url, data=_chunks(path), headers=headers, timeout=timeout) as resp:
                status = resp.status
                await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryLater(f"slack: upload of {filename}: {type(exc).__name__}: {exc}") from exc
        if status == 200:
            return
        if status == 429 or status >= 500:
            raise RetryLater(f"slack: upload of {filename}: HTTP {status}")
        # The URL is no longer accepted (expired, unknown): the next try starts a new upload.
        await self._abandon(team, key, file_id)
        raise RetryLater(f"slack: upload URL for {filename} refused (HTTP {status}); starting over")

    async def _file_exists(self, client: AsyncWebClient, file_id: str) -> bool:
        try:
            await client.files_info(file=file_id)
        except SlackApiError as exc:
            failure = classify(exc)
            if isinstance(failure, RetryLater):
                raise failure from exc
            return False
        return True

    async def _advance(self, team: str, key: str, file_id: str, state: str) -> None:
        await self.uploads.advance_upload(team, key, file_id, state)

    async def _abandon(self, team: str, key: str, file_id: str) -> None:
        await self.uploads.abandon_upload(team, key, file_id)

    @asynccontextmanager
    async def _upload_file(self, key: str) -> AsyncIterator[tuple[Path, int]]:
        """The stored photo as Slack can show it, on disk: (path, length in bytes).

        Slack image blocks take no WebP: a WebP photo is converted to a temporary PNG (in
        a thread, within the photo budget) that is removed after the upload."""
        path = self.store.path(key)
        if path.suffix.lower() != ".webp":
            yield path, (await asyncio.to_thread(path.stat)).st_size
            return
        png = await asyncio.to_thread(self.store.new_temp_path)
        try:
            image = await asyncio.to_thread(PILImage.open, path, formats=("WEBP",))
            try:
                cost = decoded_bytes(image)
            except BaseException:
                image.close()
                raise
            # The worker thread closes the image when done.
            await self.budget.run(cost, _to_png, image, png)
            size = (await asyncio.to_thread(png.stat)).st_size
            yield png, size
        finally:
            png.unlink(missing_ok=True)


#: Tries at sharing a video's clip under the message just posted, and the longest wait
#: between two (a Retry-After above it is cut to it).
SHARE_ATTEMPTS = 3
SHARE_WAIT_MAX = 10.0

#: Bytes read from disk at a time for an upload (in a thread).
UPLOAD_CHUNK = 256 * 1024


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    """The file's bytes, ``UPLOAD_CHUNK`` at a time, read in a thread; the file is closed
    when the generator ends or is closed."""
    fh = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(fh.read, UPLOAD_CHUNK):
            yield chunk
    finally:
        fh.close()


def _upload_name(path: Path) -> str:
    """The file name Slack is given: a WebP photo is sent as PNG."""
    return path.with_suffix(".png").name if path.suffix.lower() == ".webp" else path.name


def _to_png(image: PILImage.Image, out: Path) -> None:
    """Decode ``image``, write it as PNG to ``out`` and close it; runs in a worker thread."""
    with image:
        image.save(out, "PNG")
