"""Queueing outbound messages: every helper writes an outbox row in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from bot.ports import Target
from bot.ui import Message
from domain import MemberView
from storage.repositories import Repos


async def dm(
    r: Repos,
    member: MemberView,
    message: Message,
    *,
    now: datetime,
    dedupe_key: str | None = None,
) -> int:
    """Queue a direct message to ``member``; returns the outbox row id."""
    return await r.outbox.add(
        workspace_id=member.workspace_id,
        platform=member.platform.value,
        kind="post",
        target=Target("user", member.external_id).to_json(),
        payload=message.to_json(),
        now=now,
        dedupe_key=dedupe_key,
    )


async def channel_post(
    r: Repos,
    *,
    workspace_id: int,
    platform: str,
    channel: str,
    message: Message,
    now: datetime,
    dedupe_key: str | None = None,
) -> int:
    """Queue a post in a channel; returns the outbox row id."""
    return await r.outbox.add(
        workspace_id=workspace_id,
        platform=platform,
        kind="post",
        target=Target("channel", channel).to_json(),
        payload=message.to_json(),
        now=now,
        dedupe_key=dedupe_key,
    )


async def ephemeral(
    r: Repos, member: MemberView, channel: str, message: Message, *, now: datetime
) -> int:
    """Queue a message only ``member`` sees, in ``channel`` (a reply to what they did)."""
    return await r.outbox.add(
        workspace_id=member.workspace_id,
        platform=member.platform.value,
        kind="post",
        target=Target("ephemeral", channel, member.external_id).to_json(),
        payload=message.to_json(),
        now=now,
    )


async def home(r: Repos, member: MemberView, message: Message, *, now: datetime) -> int:
    """Queue a refresh of ``member``'s home view (replaces the whole view)."""
    return await r.outbox.add(
        workspace_id=member.workspace_id,
        platform=member.platform.value,
        kind="post",
        target=Target("home", member.external_id).to_json(),
        payload=message.to_json(),
        now=now,
    )


async def replace(r: Repos, post_id: int, message: Message, *, now: datetime) -> int:
    """Queue an in-place update of the message that outbox row ``post_id`` posted."""
    original = await r.outbox.get(post_id)
    if original is None:
        raise LookupError(f"outbox row {post_id} does not exist")
    return await r.outbox.add(
        workspace_id=original.workspace_id,
        platform=original.platform,
        kind="update",
        target=original.target,
        payload=message.to_json(),
        now=now,
        replaces_id=post_id,
    )
