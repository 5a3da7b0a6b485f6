"""Where Slack requests are handled: slash commands, buttons, modal submissions and
events, each acknowledged before any slow work, then sent into the core's action table.

- ``/submit`` and ``/relais``              -> ``bot.actions.handle_command``
- every button (``block_actions``)         -> ``bot.actions.handle_action``
- every modal submit (``view_submission``) -> ``handle_action``, or a persisted photo job
- ``app_home_opened``                      -> the member's App Home, via the outbox
- ``message`` in the bot's DM with files   -> a "Submit this?" reply, via the outbox
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.identity import Identities
from adapters.slack.modals import SUBMISSION_FORMS, Modals
from bot import cards
from bot.actions import changes_member, handle_action, handle_command, submit_entry
from bot.core import Core
from bot.i18n import translator
from bot.media import ACCEPTED_LABEL
from bot.ui import Message, Reply
from domain import MAX_PHOTOS, MemberView

log = logging.getLogger(__name__)

# The adapter's own button: photos dropped in the bot's DM -> the submission form.
DROPPED_SUBMIT = "slack.submit_dropped"
# Work done after the ack runs on this process's event loop and database pool: at most
# this many requests at once, the others wait their turn (instead of timing out on the
# pool and being lost after Slack was told "ok").
WORK_LIMIT = 8


class Listeners:
    """Bolt listeners: request in, core action, reply out."""

    def __init__(self, core: Core, identity: Identities, modals: Modals) -> None:
        self.core = core
        self.identity = identity
        self.modals = modals
        self._work = asyncio.Semaphore(WORK_LIMIT)

    def register(self, bolt: AsyncApp) -> None:
        """Attach every listener to ``bolt``."""
        bolt.command("/submit")(self.on_submit)
        bolt.command("/relais")(self.on_relais)
        bolt.action(re.compile(".+"))(self.on_action)
        bolt.view(re.compile(".+"))(self._bounded(self.on_view))
        bolt.event("app_home_opened")(self._bounded(self.on_home_opened))
        bolt.event("message")(self._bounded(self.on_message))
        bolt.error(self.on_error)

    def _bounded(self, listener: Any) -> Any:
        """``listener`` taking its turn among the requests being worked on (WORK_LIMIT)."""

        @functools.wraps(listener)
        async def bounded(**kwargs: Any) -> None:
            async with self._work:
                await listener(**kwargs)

        # Bolt passes only the arguments a listener names: keep the original signature.
        bounded.__signature__ = inspect.signature(listener)  # type: ignore[attr-defined]
        return bounded

    # -- slash commands --------------------------------------------------------------------

    async def on_submit(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        async with self._work:
            member = await self.identity.member(context, client)
            reply = await handle_command(self.core, member, "/submit", command.get("text") or "")
            await self._show(
                member, reply, client, command.get("trigger_id"), command.get("channel_id")
            )

    async def on_relais(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        text = command.get("text") or ""
        async with self._work:
            member = await self.identity.member(context, client)
            reply = await handle_command(self.core, member, "/relais", text)
        if changes_member("/relais", text):
            self.identity.forget(context)
        if reply.form is None:
            # Answer in the acknowledgement itself: ephemeral, no Web API call to fail.
            message = reply.message or cards.notice("…")
            await ack(
                text=render.fallback_text(message),
                blocks=render.message_blocks(message),
                response_type="ephemeral",
            )
            return
        await ack()
        async with self._work:
            await self._show(
                member, reply, client, command.get("trigger_id"), command.get("channel_id")
            )

    # -- buttons ---------------------------------------------------------------------------

    async def on_action(
        self,
        ack: Any,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        async with self._work:
            await self._action(body, action, context, client)

    async def _action(
        self,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        member = await self.identity.member(context, client)
        name = render.action_name(str(action.get("action_id", "")))
        value = str(action.get("value", ""))
        if changes_member(name, value):
            self.identity.forget(context)
        trigger = body.get("trigger_id")
        channel = (body.get("channel") or {}).get("id")
        if name == DROPPED_SUBMIT:
            await self._open_dropped(member, client, trigger, channel, value)
            return
        reply = await handle_action(self.core, member, name, value)
        if changes_member(name, value):
            self.identity.forget(context)
        if (body.get("view") or {}).get("type") == "home" and reply.form is None:
            note = reply.message.text if reply.message else ""
            await self.publish_home(member, note=note)
            return
        await self._show(member, reply, client, trigger, channel)

    async def _open_dropped(
        self,
        member: MemberView,
        client: AsyncWebClient,
        trigger: str | None,
        channel: str | None,
        value: str,
    ) -> None:
        """Photos dropped in the DM: the same form as /submit, with those photos attached."""
        files = [f for f in value.split(",") if f][:MAX_PHOTOS]
        reply = await submit_entry(self.core, member, "")
        await self._show(member, reply, client, trigger, channel, files=files)

    # -- showing a reply ---------------------------------------------------------------------

    async def _show(
        self,
        member: MemberView,
        reply: Reply,
        client: AsyncWebClient,
        trigger: str | None,
        channel: str | None,
        *,
        files: list[str] | None = None,
    ) -> None:
        """Draw a reply after the ack: a form opens as a modal; a message is queued."""
        t = translator(member.locale)
        if reply.form is not None and trigger:
            view = self.modals.form_view(t, reply.form, notice=reply.message, files=files)
            if await self.modals.open_view(client, trigger, view):
                return
            reply = Reply(message=cards.notice(t("slack.form_failed")), failed=True)
        if reply.message is not None:
            await self.say(member, reply.message, channel)

    async def say(self, member: MemberView, message: Message, channel: str | None) -> None:
        """Queue ``message`` for ``member`` only: ephemeral in ``channel``, else by DM."""
        if not channel:
            await self.core.send_dm(member, message)
            return
        await self.core.relay.ephemeral(member, channel, message)

    async def publish_home(self, member: MemberView, note: str = "") -> None:
        """Queue a refresh of the member's App Home."""
        t = translator(member.locale)
        profile = await self.core.onboarding.profile(member)
        tz = member.timezone or (await self.core.config.get(member.workspace_id)).timezone
        await self.core.relay.home(member, cards.home_message(t, profile, tz, note))

    # -- modals --------------------------------------------------------------------------

    async def on_view(
        self,
        ack: Any,
        body: dict[str, Any],
        view: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        member = await self.identity.member(context, client)
        t = translator(member.locale)
        action = str(view.get("callback_id", ""))
        meta = render.metadata_of(view)
        values, files = render.form_values((view.get("state") or {}).get("values") or {})
        if action in SUBMISSION_FORMS:
            team = str(context.team_id or "")
            await self.modals.accept_submission(
                ack, member, team, action, view, meta, values, files
            )
            return
        reply = await handle_action(self.core, member, action, str(meta.get("v", "")), values)
        if changes_member(action):
            self.identity.forget(context)
        await ack(**self.modals.view_answer(t, reply, view, meta))

    # -- events --------------------------------------------------------------------------

    async def on_home_opened(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        member = await self.identity.member(context, client)
        await self.publish_home(member)

    async def on_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """A message in the bot's DM: photos get a one-click "Submit this?" reply."""
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        if event.get("subtype") not in (None, "file_share"):
            return
        member = await self.identity.member(context, client)
        t = translator(member.locale)
        files = [f for f in event.get("files") or [] if isinstance(f, dict)]
        images = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
        others = [str(f.get("name") or f.get("id")) for f in files if f not in images]
        if images:
            ids = ",".join(str(f["id"]) for f in images[:MAX_PHOTOS])
            count = min(len(images), MAX_PHOTOS)
            message = cards.dropped_prompt(t, count, DROPPED_SUBMIT, ids, others)
        elif others:
            message = cards.notice(
                t("photos.not_images", names=", ".join(others), accepted=ACCEPTED_LABEL)
            )
        else:
            message = cards.notice(t("slack.dm_hint"))
        # Slack retries an event it thinks we missed: its event_id makes the reply unique.
        event_id = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
        if not await self.core.send_dm(member, message, dedupe_key=f"slack:event:{event_id}"):
            log.info("Slack event %s already answered (a retry)", event_id)

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", error, exc_info=error)
