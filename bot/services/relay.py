"""What adapters keep and queue between a platform and the core, as core services.

Adapters never open a database transaction themselves: a reply shown only to one
person, an App Home refresh, a job for work after the ack, Teams conversation
references and photo drafts all go through here, one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import notify
from bot.media import CleanImage
from bot.ui import Message
from domain import MemberView, Platform
from storage.db import Database

if TYPE_CHECKING:
    from bot.core import Core


@dataclass(frozen=True)
class ConversationSeen:
    """A conversation reference to keep: a person's (``user``) or a channel's."""

    kind: str
    key: str
    reference: dict[str, Any]
    name: str = ""


@dataclass(frozen=True)
class Recipient:
    """Where a platform port sends: the stored reference, the locale to draw labels in,
    and a name for error messages."""

    reference: dict[str, Any] | None
    locale: str
    name: str


@dataclass(frozen=True)
class UploadStep:
    """How far a photo's upload to a platform got: its state, file id and upload URL."""

    state: str
    file_id: str
    upload_url: str | None


class Relay:
    """Queues and keeps, for adapters."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.uploads = Uploads(core.db, core.clock)

    async def ephemeral(self, member: MemberView, channel: str, message: Message) -> None:
        """Queue ``message`` for ``member`` only, in ``channel``."""
        async with self.core.db.transaction() as r:
            await notify.ephemeral(r, member, channel, message, now=self.core.clock())
        self.core.outbox_changed()

    async def home(self, member: MemberView, message: Message) -> None:
        """Queue a refresh of the member's home view (Slack App Home)."""
        async with self.core.db.transaction() as r:
            await notify.home(r, member, message, now=self.core.clock())
        self.core.outbox_changed()

    async def channel_post(
        self, member: MemberView, channel: str, message: Message, *, dedupe_key: str
    ) -> None:
        """Queue ``message`` as a post in ``channel`` of ``member``'s workspace (a reply
        the platform refused in the turn), once per ``dedupe_key``."""
        async with self.core.db.transaction() as r:
            if await r.outbox.has_dedupe_key(dedupe_key):
                return
            await notify.channel_post(
                r,
                workspace_id=member.workspace_id,
                platform=member.platform.value,
                channel=channel,
                message=message,
                now=self.core.clock(),
                dedupe_key=dedupe_key,
            )
        self.core.outbox_changed()

    async def job(self, kind: str, key: str, payload: dict[str, Any]) -> None:
        """Commit a job (work after the ack) and wake the job runners."""
        async with self.core.db.transaction() as r:
            await r.jobs.add(kind=kind, key=key, payload=payload, now=self.core.clock())
        self.core.jobs_changed()

    async def remember(self, workspace_id: int, seen: Sequence[ConversationSeen]) -> None:
        """Insert or refresh conversation references (Teams proactive messaging)."""
        if not seen:
            return
        async with self.core.db.transaction() as r:
            for item in seen:
                await r.conversations.save(
                    workspace_id,
                    item.kind,
                    item.key,
                    item.reference,
                    now=self.core.clock(),
                    name=item.name,
                )

    async def recipient(self, platform: Platform, workspace: str, kind: str, key: str) -> Recipient:
        """The stored reference of a person or channel, and how to address them."""
        async with self.core.db.read() as r:
            ws = await r.workspaces.find(platform, workspace)
            if ws is None:
                return Recipient(None, "en", "")
            ref = await r.conversations.get(ws.id, kind, key)
            name, locale = "", ws.locale
            if kind == "user":
                row = await r.members.find(ws.id, key)
                if row is not None:
                    view = await r.members.view(row.id)
                    name, locale = view.display_name, view.locale
            return Recipient(ref, locale, name)

    async def keep_draft(
        self, token: str, member: MemberView, photos: list[dict[str, Any]], caption: str
    ) -> None:
        """Keep cleaned photos until their owner sends the form."""
        async with self.core.db.transaction() as r:
            await r.drafts.add(token, member.id, photos, caption, now=self.core.clock())

    async def draft_photos(self, member: MemberView, token: str) -> list[CleanImage]:
        """The photos of draft ``token``, only when it is ``member``'s own ([] otherwise)."""
        async with self.core.db.read() as r:
            draft = await r.drafts.get(token)
        if draft is None or draft.member_id != member.id:
            return []
        return [CleanImage(**p) for p in draft.photos.get("photos", [])]


class Uploads:
    """Photos a platform holds a copy of (Slack's uploads), recorded step by step so an
    upload interrupted by a failure or a crash resumes instead of starting again."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    async def uploaded(self, workspace: str, keys: Sequence[str]) -> dict[str, str]:
        """Media key -> the platform's file id, for the uploads to ``workspace`` that
        completed."""
        found: dict[str, str] = {}
        async with self.db.read() as r:
            for key in keys:
                file_id = await r.slack_uploads.file_id(workspace, key)
                if file_id:
                    found[key] = file_id
        return found

    async def upload_step(self, workspace: str, key: str) -> UploadStep | None:
        """How far the upload of ``key`` to ``workspace`` got (None: not begun)."""
        async with self.db.read() as r:
            row = await r.slack_uploads.get(workspace, key)
            return UploadStep(row.state, row.file_id, row.upload_url) if row else None

    async def reserve_upload(
        self, workspace: str, key: str, file_id: str, upload_url: str
    ) -> UploadStep:
        """Record an upload's first step; when another worker recorded one first, theirs."""
        async with self.db.transaction() as r:
            row = await r.slack_uploads.reserve(
                workspace, key, file_id, upload_url, now=self.clock()
            )
            return UploadStep(row.state, row.file_id, row.upload_url)

    async def advance_upload(self, workspace: str, key: str, file_id: str, state: str) -> None:
        """Record that the upload of ``file_id`` reached ``state``."""
        async with self.db.transaction() as r:
            await r.slack_uploads.advance(workspace, key, file_id, state)

    async def abandon_upload(self, workspace: str, key: str, file_id: str) -> None:
        """Forget an unfinished upload the platform no longer accepts (start over)."""
        async with self.db.transaction() as r:
            await r.slack_uploads.abandon(workspace, key, file_id)
