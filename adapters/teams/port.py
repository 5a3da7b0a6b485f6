"""Teams' side of the outbox: proactive messages through stored conversation references.

Every outbound Teams message (review cards, DMs, card updates, forms) is an outbox row
sent from here with ``CloudAdapter.continue_conversation``. The reference comes from
the ``conversation_refs`` table, saved on install and on every message, so any replica
can reach anyone who has the app after a restart. Sends are paced under Teams' limits
(7 messages per second per conversation, 50 per second per tenant, in each process): a
conversation with no room now raises ``NotYet`` (the outbox puts the message back and
sends other conversations' meanwhile), the tenant's budget is waited on;
429 (with ``Retry-After``), 412 and 5xx become ``RetryLater``; 403 and 404 (the person
removed the app, the channel is gone) become a ``PermanentFailure`` naming them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import requests
from botbuilder.core import CardFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ConversationResourceResponse,
)
from botbuilder.schema.teams import ChannelInfo, TeamsChannelData
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError

from adapters.pacing import RateLimiter, pace
from adapters.teams import render
from bot.i18n import translator
from bot.ports import NotYet, PermanentFailure, RetryLater, Target, retry_after_seconds
from bot.services.relay import Relay
from bot.ui import Message
from domain import Platform

log = logging.getLogger(__name__)

PER_CONVERSATION = 7  # messages per second (Teams' published limit)
PER_TENANT = 50  # requests per second
RETRYABLE = frozenset({412, 429, 500, 502, 503, 504})


def classify(exc: Exception, who: str) -> Exception:
    """A Bot Connector failure as ``RetryLater`` or ``PermanentFailure`` for the outbox."""
    if isinstance(exc, HttpOperationError):
        response = getattr(exc, "response", None)
        status = int(getattr(response, "status_code", 0) or 0)
        headers = getattr(response, "headers", None) or {}
        if status in RETRYABLE or status >= 500:
            retry_after = retry_after_seconds(headers.get("Retry-After"))
            return RetryLater(f"teams: HTTP {status}", retry_after)
        if status in (403, 404):
            return PermanentFailure(
                f"teams: HTTP {status} for {who}: the app was removed or the conversation "
                "no longer exists (they can message Relais again to restore it)"
            )
        return PermanentFailure(f"teams: HTTP {status} for {who}: {exc}")
    if isinstance(
        exc,
        (
            DeserializationError,  # an HTML gateway page instead of JSON: a 5xx
            ClientRequestError,
            requests.RequestException,
            aiohttp.ClientError,
            asyncio.TimeoutError,
            OSError,
        ),
    ):
        return RetryLater(f"teams: {type(exc).__name__}: {exc}")
    return exc


class TeamsPort:
    """Sends outbox rows to Teams."""

    platform = "teams"

    def __init__(
        self,
        cloud: CloudAdapter,
        app_id: str,
        relay: Relay,
        image_url: Callable[[str], str | None],
    ) -> None:
        self.cloud = cloud
        self.app_id = app_id
        self.relay = relay
        self.image_url = image_url
        self.per_conversation = RateLimiter(PER_CONVERSATION)
        self.per_tenant = RateLimiter(PER_TENANT)
        # A conversation without room for longer than this raises ``NotYet`` (0: never
        # wait on one; the outbox decides).
        self.max_wait = 0.0

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        """Send ``message`` to a person's 1:1 chat or as a new thread in a channel."""
        kind = "channel" if target.kind == "channel" else "user"
        ref_data, locale, name = await self._lookup(workspace, kind, target.id)
        who = f"{kind} {name or target.id}"
        if ref_data is None:
            raise PermanentFailure(
                f"teams: no conversation with {who} yet (they must install Relais or send it "
                "a message once)"
            )
        reference = ConversationReference().deserialize(ref_data)
        activity = self.activity(message, locale)
        await self._pace(workspace, reference.conversation.id)
        result: dict[str, Any] = {"kind": kind, "key": target.id}

        async def send(ctx: TurnContext) -> None:
            self._no_hidden_retries(ctx)
            if kind == "channel":
                created = await self._new_thread(ctx, activity, target.id)
                result["conversation_id"] = created.id
                result["activity_id"] = created.activity_id
            else:
                response = await ctx.send_activity(activity)
                result["conversation_id"] = reference.conversation.id
                result["activity_id"] = response.id if response else None

        try:
            await self.cloud.continue_conversation(reference, send, self.app_id)
        except Exception as exc:
            raise classify(exc, who) from exc
        return result

    async def _new_thread(
        self, ctx: TurnContext, activity: Activity, channel_id: str
    ) -> ConversationResourceResponse:
        """Start a thread in a Teams channel with ``activity`` as its first message.

        This is the request ``TeamsInfo.send_message_to_teams_channel`` makes on its
        CloudAdapter path (``POST v3/conversations`` with the channel in ``channelData``),
        sent with the turn's own Connector client. TeamsInfo itself cannot be used: with
        an empty app id (``RELAIS_TEAMS_EMULATOR``) it takes its BotFrameworkAdapter path,
        whose ``create_conversation(reference, ...)`` call CloudAdapter refuses
        ("service_url is required").
        """
        client = ctx.turn_state.get(self.cloud.BOT_CONNECTOR_CLIENT_KEY)
        if client is None:
            raise PermanentFailure("teams: no Connector client in the proactive turn")
        parameters = ConversationParameters(
            is_group=True,
            channel_data=TeamsChannelData(channel=ChannelInfo(id=channel_id)),
            activity=activity,
        )
        return await client.conversations.create_conversation(parameters)

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Replace a card sent earlier (a decided review card)."""
        if not ref.get("activity_id") or not ref.get("conversation_id"):
            raise PermanentFailure(f"teams: cannot update a message posted as {ref}")
        kind, key = str(ref.get("kind", "user")), str(ref.get("key", ""))
        ref_data, locale, name = await self._lookup(workspace, kind, key)
        who = f"{kind} {name or key}"
        if ref_data is None:
            raise PermanentFailure(f"teams: no conversation with {who} any more")
        reference = ConversationReference().deserialize(ref_data)
        reference.conversation = ConversationAccount(
            id=ref["conversation_id"],
            tenant_id=workspace,
            conversation_type=reference.conversation.conversation_type,
        )
        activity = self.activity(message, locale)
        activity.id = ref["activity_id"]
        await self._pace(workspace, ref["conversation_id"])

        async def edit(ctx: TurnContext) -> None:
            self._no_hidden_retries(ctx)
            activity.conversation = ctx.activity.conversation
            await ctx.update_activity(activity)

        try:
            await self.cloud.continue_conversation(reference, edit, self.app_id)
        except Exception as exc:
            raise classify(exc, who) from exc

    async def _lookup(
        self, tenant: str, kind: str, key: str
    ) -> tuple[dict[str, Any] | None, str, str]:
        """(reference, locale to draw labels in, name) for a person or channel."""
        found = await self.relay.recipient(Platform.TEAMS, tenant, kind, key)
        return found.reference, found.locale, found.name

    async def _pace(self, tenant: str, conversation: str) -> None:
        key = f"conversation:{conversation}"
        wait = self.per_conversation.delay(key)
        if wait > self.max_wait:
            raise NotYet(wait, self.per_conversation.interval)
        await pace((self.per_tenant, f"tenant:{tenant}"), (self.per_conversation, key))

    def _no_hidden_retries(self, ctx: TurnContext) -> None:
        # msrest retries PUT/GET by itself, sleeping in a thread; the outbox retries instead
        # (with jitter, Retry-After, and a dead letter at the end).
        client = ctx.turn_state.get(self.cloud.BOT_CONNECTOR_CLIENT_KEY)
        config = getattr(client, "config", None)
        if config is not None:
            config.retry_policy.retries = 0
            config.retry_policy.policy.raise_on_status = False

    def activity(self, message: Message, locale: str) -> Activity:
        """The activity showing ``message`` as an Adaptive Card (labels in ``locale``)."""
        t = translator(locale)
        labels = render.labels_for(t, send_photos=t("teams.send_photos"))
        if message.form is not None:
            notice = Message(text=message.text, blocks=message.blocks) if message.blocks else None
            card = render.card_for_form(
                message.form,
                labels=labels,
                notice=notice,
                attached=_attached(t, message.form.value),
                image_url=self.image_url,
            )
        else:
            card = render.card_for_message(message, self.image_url, labels=labels)
        return Activity(
            type=ActivityTypes.message,
            summary=render.fallback_text(message),
            attachments=[CardFactory.adaptive_card(card)],
        )


def _attached(t: Any, value: str) -> str:
    """A submission form built on photos already received says how many (``draft:N:...``)."""
    if value.startswith("draft:"):
        count = value.split(":")[1]
        # A plural entry needs a number (the value carries it as text).
        return t("teams.photos_attached", count=int(count)) if count.isdigit() else ""
    return ""
