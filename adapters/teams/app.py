"""Where Teams activities are handled: words typed to the bot, photos, card actions, installs.

``TeamsAdapter`` hosts a botbuilder ``CloudAdapter`` at ``POST /api/messages``:

- a ``message`` in personal chat: ``help``, ``join``, ``me``, ``snooze 2w``, ``leave``,
  ``submit [caption]`` -> ``bot.actions``; photos -> a persisted ``teams.photos`` job
  (``files.py``) that answers with the submission form; ``review here`` typed in a
  channel (mentioning Relais) makes it the review channel (CMs only);
- an ``adaptiveCard/action`` invoke (``Action.Execute``), or a message carrying
  ``value`` (the ``Action.Submit`` fallback) -> ``bot.actions.handle_action``; the card
  is answered in place;
- ``conversationUpdate`` / ``installationUpdate``: conversation references of the
  person and of the team's channels are saved for proactive messages.

Every activity refreshes the sender's conversation reference, so the outbox
(``port.py``) can reach them later from any replica. Replies in personal chat go
through the outbox (deduplicated on the activity id, so Teams' redelivery of the same
activity has one effect); replies in a channel are sent in the turn.

When the database is stopped or frozen, a turn's database work is bounded
(``adapters.deadline``): the activity is still answered, and the person is told in the
turn (``ctx.send_activity``, or the invoke's answer), with no database, that nothing was
done and to try again in a minute.

All ``botbuilder``/``botframework`` imports of Relais live in ``adapters/teams/`` so
moving to the Microsoft 365 Agents SDK changes only this folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, ClassVar

import jwt
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext, serializer_helper
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
)
from botbuilder.schema import Activity, ActivityTypes, ConversationAccount
from botframework.connector.auth import (
    AuthenticationConstants,
    PasswordServiceClientCredentialFactory,
)
from msrest.exceptions import HttpOperationError
from msrest.serialization import Model

from adapters.deadline import TEAMS_BUDGET, Attempt, Unavailable, describe
from adapters.teams import edge, render
from adapters.teams.connectors import ReusedConnectors
from adapters.teams.files import (
    HTML_COPY,
    JOB_KIND,
    PhotosJob,
    load_draft,
    sort_attachments,
)
from adapters.teams.media_links import MediaLinks
from adapters.teams.port import TeamsPort, classify
from adapters.text import clean, may_need_cleaning
from bot import cards, logcontext, metrics
from bot.actions import error_reply, handle_action, handle_command, submit_entry
from bot.core import Core
from bot.errors import RelaisError
from bot.i18n import supported_locale, translator
from bot.jobs import JobHandler
from bot.links import link_secret
from bot.media import ACCEPTED_LABEL
from bot.ports import RetryLater
from bot.services.relay import ConversationSeen
from bot.settings import Settings
from bot.ui import Message, Reply
from domain import MemberView, Platform

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
MAX_BODY = 256 * 1024
MAX_TEXT = 20_000
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
NEEDS_SENDER = frozenset({"message", "invoke", "conversationUpdate", "installationUpdate"})


def malformed(body: Any) -> str | None:
    """Why an activity cannot be processed, in one sentence; None when it looks sound."""
    if not isinstance(body, dict):
        return "the body must be a JSON object (a Bot Framework activity)"
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "the activity has no type"
    service = body.get("serviceUrl")
    if not isinstance(service, str) or not service.startswith(("https://", "http://")):
        return "the activity has no serviceUrl"
    if kind in NEEDS_SENDER:
        sender, conversation = body.get("from"), body.get("conversation")
        if not isinstance(sender, dict) or not sender.get("id"):
            return "the activity has no sender (from.id)"
        if not isinstance(conversation, dict) or not conversation.get("id"):
            return "the activity has no conversation.id"
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        return f"the activity's text must be a string of at most {MAX_TEXT} characters"
    return edge.problem(body)


def _tenant(activity: Activity) -> str:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (data.get("tenant") or {}).get("id") if isinstance(data.get("tenant"), dict) else None
    conversation = activity.conversation
    return str(tenant or (conversation.tenant_id if conversation else None) or "default")


def _user_key(activity: Activity) -> str:
    sender = activity.from_property
    return str(sender.aad_object_id or sender.id)


def _channel_id(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("channel")
    return str(channel["id"]) if isinstance(channel, dict) and channel.get("id") else None


def _personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return bool(conversation) and (conversation.conversation_type in (None, "personal"))


class TeamsAdapter:
    """Relais as a Microsoft Teams bot."""

    def __init__(
        self, core: Core, settings: Settings, *, sdk_overrides: dict[str, str] | None = None
    ) -> None:
        self.core = core
        self.settings = settings
        self.app_id = settings.microsoft_app_id
        self.auth = bool(self.app_id)
        if settings.relais_teams_emulator and self.auth:
            raise ValueError("RELAIS_TEAMS_EMULATOR needs MICROSOFT_APP_ID to be empty")
        self._sdk = {
            "APP_ID": self.app_id,
            "APP_PASSWORD": settings.microsoft_app_password,
            "APP_TYPE": settings.microsoft_app_type,
            "APP_TENANTID": settings.microsoft_app_tenant_id,
            **(sdk_overrides or {}),
        }
        # One connector client (and HTTP connection pool) per service URL, reused.
        self.connectors = ReusedConnectors(SimpleNamespace(**self._sdk))
        self.cloud = CloudAdapter(self.connectors)
        self.cloud.on_turn_error = self._on_turn_error
        self.links = MediaLinks(link_secret(settings), settings.public_url)
        self.port = TeamsPort(self.cloud, self.app_id, core.relay, self.links.url)
        self.photos = PhotosJob(core, self.bot_token)
        self.job_handlers: dict[str, JobHandler] = {JOB_KIND: self.photos}

    # -- HTTP ----------------------------------------------------------------------------

    name = "teams"

    def mount(self, app: web.Application) -> None:
        """Add ``POST /api/messages`` and the signed photo links (``/media/{token}``)."""
        app.router.add_post(MESSAGES_PATH, self.handle)
        app.router.add_get("/media/{token}", self.links.handler(self.core.store))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While inside: nothing runs in the background; leaving closes HTTP clients."""
        try:
            yield
        finally:
            await self.close()

    def describe(self) -> list[str]:
        """Start-up lines: the route, or a loud warning when authentication is off."""
        lines = []
        if self.auth:
            lines.append(f"Teams: POST {MESSAGES_PATH} for app {self.settings.microsoft_app_id}")
        else:
            lines.append(
                "WARNING TEAMS AUTHENTICATION IS OFF (RELAIS_TEAMS_EMULATOR, no "
                "MICROSOFT_APP_ID): anyone who can reach /api/messages can act as anyone. "
                "Local emulator use only."
            )
        if not self.settings.public_url:
            lines.append("WARNING PUBLIC_URL is not set: Teams review cards will show no photos")
        return lines

    async def handle(self, request: web.Request) -> web.Response:
        """One activity, timed (``relais_ack_seconds``) and logged with its id."""
        timer = metrics.RequestTimer("teams")
        status = 500
        logcontext.start_request(logcontext.new_request_id())
        try:
            response = await self._handle(request, timer)
            status = response.status
            return response
        finally:
            timer.done(status)

    async def _handle(self, request: web.Request, timer: metrics.RequestTimer) -> web.Response:
        """Checked, authenticated by the SDK (401 when not), then processed."""
        timer.kind = "refused"
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _problem(413, "the activity is too large")
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return _problem(413, "the activity is too large")
        try:
            body = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            log.warning("Teams activity refused (400): the body is not JSON")
            return _problem(400, "the body is not JSON")
        problem = malformed(body)
        if problem:
            log.warning("Teams activity refused (400): %s", problem)
            return _problem(400, problem)
        kind = body.get("type")
        timer.kind = kind if kind in ACTIVITY_KINDS else "other"
        if isinstance(body.get("id"), str):
            logcontext.REQUEST_ID.set(body["id"][:128])
        tenant = (body.get("channelData") or {}).get("tenant") or {}
        logcontext.bind_workspace(tenant.get("id") if isinstance(tenant.get("id"), str) else None)
        if self.auth and not request.headers.get("Authorization", "").startswith("Bearer "):
            return _problem(401, "missing Bot Framework token")
        try:
            return await self._process(request, clean(body) if may_need_cleaning(raw) else body)
        except (PermissionError, jwt.PyJWTError) as exc:
            log.warning("Teams request refused: %s", exc)
            return _problem(401, "invalid Bot Framework token")

    async def _process(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        """``CloudAdapter.process`` for a POST, on the checked and cleaned ``body``."""
        activity = Activity().deserialize(body)
        auth = request.headers.get("Authorization", "")
        invoke = await self.cloud.process_activity(auth, activity, self.on_turn)
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(data=serializer_helper(invoke.body), status=invoke.status)

    async def bot_token(self) -> str | None:
        """A Bot Framework token for downloading inline images (None without an app id)."""
        if not self.auth:
            return None
        return await fetch_bot_token(self.settings, self._sdk)

    async def close(self) -> None:
        """Release HTTP clients."""
        await self.photos.close()
        await self.connectors.close()

    # -- turns -----------------------------------------------------------------------------

    async def on_turn(self, ctx: TurnContext) -> None:
        """The bot's entry point (CloudAdapter calls it for every authenticated activity)."""
        activity = ctx.activity
        kind = activity.type
        if kind == ActivityTypes.message:
            handler = self._on_message
        elif kind == ActivityTypes.invoke:
            if activity.name != "adaptiveCard/action":
                await _invoke_reply(ctx, 200, None)
                return
            handler = self._on_invoke
        elif kind in (ActivityTypes.conversation_update, ActivityTypes.installation_update):
            handler = self._on_install
        else:
            return
        attempt = Attempt(TEAMS_BUDGET, self.core.db)

        async def work() -> None:
            member = await self._member(ctx)
            with attempt.action():
                await handler(ctx, member)

        try:
            await attempt.run(work())
        except Unavailable as out:
            await self._unavailable(ctx, out)

    async def _unavailable(self, ctx: TurnContext, out: Unavailable) -> None:
        """The database did not let the turn finish: say so in the turn, without it."""
        activity = ctx.activity
        if out.late is not None:
            key = "outage.pending"
            out.late.add_done_callback(_log_late)
        else:
            key = out.notice
        log.warning("Teams %s: database unavailable (%s); told", activity.type, out.reason)
        if activity.type == ActivityTypes.invoke:
            locale = supported_locale(activity.locale) or self.settings.relais_locale
            await _invoke_reply(ctx, 200, _card_answer(MESSAGE_TYPE, translator(locale)(key)))
        elif activity.type == ActivityTypes.message:
            locale = supported_locale(activity.locale) or self.settings.relais_locale
            text = cards.notice(translator(locale)(key))
            try:
                await ctx.send_activity(self.port.activity(text, locale))
            except Exception as exc:
                if classify(exc, "the sender") is exc:
                    raise
                # No database to queue it in: the log is all that can know.
                log.warning("Teams: the outage notice was refused too: %s", describe(exc))

    async def _member(self, ctx: TurnContext) -> MemberView:
        """The sender, created on first sight; their conversation reference refreshed."""
        activity = ctx.activity
        tenant, user = _tenant(activity), _user_key(activity)
        member = await self.core.onboarding.find(Platform.TEAMS, tenant, user)
        name = activity.from_property.name or ""
        locale = supported_locale(activity.locale)
        if member is None or (name and member.display_name != name):
            member = await self.core.onboarding.identify(
                Platform.TEAMS, tenant, user, display_name=name, locale=locale
            )
        await self._remember(ctx, member)
        return member

    async def _remember(self, ctx: TurnContext, member: MemberView) -> None:
        activity = ctx.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        data = reference.serialize()
        seen: list[ConversationSeen] = []
        if _personal(activity):
            seen.append(ConversationSeen("user", member.external_id, data, member.display_name))
        channel = _channel_id(activity)
        if channel:
            channel_ref = {**data, "conversation": {**data["conversation"], "id": channel}}
            seen.append(ConversationSeen("channel", channel, channel_ref))
        await self.core.relay.remember(member.workspace_id, seen)

    async def _on_message(self, ctx: TurnContext, member: MemberView) -> None:
        activity = ctx.activity
        t = translator(member.locale)
        if isinstance(activity.value, dict) and activity.value:
            # Action.Submit fallback (clients without universal actions).
            action, value, inputs = render.read_submission(activity.value)
            reply = await self._act(member, action, value, inputs)
            await self._reply(ctx, member, reply)
            return
        text = _clean_text(activity)
        attachments = [a.serialize() for a in activity.attachments or []]
        photos, unusable = sort_attachments(attachments, activity.service_url)
        files = [u for u in unusable if u != HTML_COPY]
        if photos:
            # What was left aside is listed on the form, the HTML copy Teams adds to a
            # pasted image included, so nothing is dropped silently.
            ignored = [t("teams.html_copy") if u == HTML_COPY else u for u in unusable]
            key = f"teams:activity:{activity.id}"
            payload = {
                "tenant": _tenant(activity),
                "user": member.external_id,
                "service_url": activity.service_url,
                "caption": text,
                "photos": photos,
                "ignored": ignored,
                "key": key,
            }
            await self.core.relay.job(JOB_KIND, key, payload)
            return
        if files:
            names = ", ".join(files)
            text_out = t("photos.not_images", names=names, accepted=ACCEPTED_LABEL)
            await self._reply(ctx, member, Reply(message=cards.notice(text_out)))
            return
        await self._reply(ctx, member, await self._command(ctx, member, text))

    async def _command(self, ctx: TurnContext, member: MemberView, text: str) -> Reply:
        t = translator(member.locale)
        word, _, rest = text.strip().partition(" ")
        word = word.lower()
        try:
            if word in ("submit", "envoyer", "/submit"):
                return await submit_entry(self.core, member, rest.strip())
            if word == "review" and rest.strip().lower() in ("here", "ici"):
                channel = _channel_id(ctx.activity)
                if channel is None:
                    return Reply(message=cards.notice(t("teams.review_here_channel_only")))
                await self.core.config.set(member, "review_channel", channel)
                return Reply(message=cards.notice(t("teams.review_here_done")))
            parts = rest.split()
            if (
                word == "config"
                and len(parts) >= 3
                and parts[0].lower() == "site_digest"
                and parts[-1].lower() in ("here", "ici")
            ):
                # The equivalent of "review here" for a site's own digest: this channel.
                channel = _channel_id(ctx.activity)
                if channel is None:
                    return Reply(message=cards.notice(t("teams.site_digest_here_channel_only")))
                text = " ".join(["config", *parts[:-1], channel])
            if not word:
                return await handle_command(self.core, member, "/relais", "help")
            reply = await handle_command(self.core, member, "/relais", text.lstrip("/"))
            if word in ("help", "aide") and reply.message is not None:
                words = cards.notice(t("teams.help_words"))
                reply = Reply(message=cards.joined(reply.message, words))
            return reply
        except RelaisError as err:
            return error_reply(t, err, member.timezone or "UTC")

    async def _act(
        self, member: MemberView, action: str, value: str, inputs: dict[str, Any]
    ) -> Reply:
        """A card action: the submission form uses its draft's photos; others go as is."""
        if action in ("submission.create", "submission.resubmit") and value.startswith("draft:"):
            token, photos = await load_draft(self.core, member, value)
            if not photos:
                t = translator(member.locale)
                return Reply(message=cards.notice(t("teams.draft_missing")), failed=True)
            values = {**inputs, "client_key": f"teams:draft:{token}"}
            return await handle_action(self.core, member, action, "", values, photos)
        return await handle_action(self.core, member, action, value, inputs)

    async def _reply(self, ctx: TurnContext, member: MemberView, reply: Reply) -> None:
        """Personal chat: through the outbox (once per activity). Channel: in the turn."""
        message = reply.message
        if reply.form is not None:
            message = cards.form_message(reply.form, message)
        if message is None:
            return
        if not _personal(ctx.activity):
            await self._reply_in_turn(ctx, member, message)
            return
        # Teams may deliver an activity again: it is answered once.
        await self.core.send_dm(
            member, message, dedupe_key=f"teams:activity:{ctx.activity.id}:reply"
        )

    async def _reply_in_turn(self, ctx: TurnContext, member: MemberView, message: Message) -> None:
        """A reply in a channel, sent in the turn. When the Bot Connector refuses it (429,
        5xx, no answer) it goes through the outbox instead, as a post in that channel;
        the activity itself is answered normally (a 5xx would make Teams deliver it again
        and its action run twice)."""
        activity = ctx.activity
        try:
            await ctx.send_activity(self.port.activity(message, member.locale))
            return
        except Exception as exc:
            failure = classify(exc, "the channel")
            if failure is exc:
                raise
        channel = _channel_id(activity)
        if not isinstance(failure, RetryLater) or channel is None:
            log.warning("Teams: reply to activity %s refused, not sent: %s", activity.id, failure)
            return
        log.warning("Teams: reply to activity %s refused (%s); queued", activity.id, failure)
        key = f"teams:activity:{activity.id}:reply"
        await self.core.relay.channel_post(member, channel, message, dedupe_key=key)

    async def _on_invoke(self, ctx: TurnContext, member: MemberView) -> None:
        activity = ctx.activity
        action, value, inputs = render.read_submission(activity.value)
        reply = await self._act(member, action, value, inputs)
        t = translator(member.locale)
        labels = render.labels_for(t, send_photos=t("teams.send_photos"))
        if reply.form is not None:
            card = render.card_for_form(
                reply.form,
                labels=labels,
                notice=reply.message,
                image_url=self.links.url,
            )
            await _invoke_reply(ctx, 200, _card_answer(CARD_TYPE, card))
            return
        text = reply.message.text if reply.message else ""
        if reply.failed or action.startswith("review."):
            # The card stays as it is (the person can fix the input); a decided review
            # card is replaced by the outbox for everyone who sees it.
            await _invoke_reply(ctx, 200, _card_answer(MESSAGE_TYPE, text))
            return
        card = render.card_for_message(reply.message or cards.notice(text), self.links.url)
        await _invoke_reply(ctx, 200, _card_answer(CARD_TYPE, card))

    async def _on_install(self, ctx: TurnContext, member: MemberView) -> None:
        """The app was installed (personally or in a team): remember how to reach them."""
        activity = ctx.activity
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        team = data.get("team") if isinstance(data.get("team"), dict) else None
        bot_id = activity.recipient.id if activity.recipient else None
        added = [m.id for m in activity.members_added or []]
        if team is None or (
            activity.type == ActivityTypes.conversation_update and bot_id not in added
        ):
            return
        try:
            channels = await TeamsInfo.get_team_channels(ctx)
        except Exception as exc:  # the team is still usable through the channel it came from
            log.warning("could not list the team's channels: %s", exc)
            return
        base = TurnContext.get_conversation_reference(activity)
        base.activity_id = None
        seen: list[ConversationSeen] = []
        for channel in channels:
            base.conversation = ConversationAccount(
                id=channel.id, conversation_type="channel", tenant_id=_tenant(activity)
            )
            seen.append(
                ConversationSeen("channel", channel.id, base.serialize(), channel.name or "General")
            )
        await self.core.relay.remember(member.workspace_id, seen)

    async def _on_turn_error(self, ctx: TurnContext, error: Exception) -> None:
        activity = ctx.activity
        if activity.type == ActivityTypes.event and activity.name == "ContinueConversation":
            # A proactive send (the outbox): TeamsPort classifies the error and the outbox
            # reports it (retry or dead letter) in one line; a traceback adds nothing.
            raise error
        if isinstance(error, HttpOperationError):
            # The Bot Connector refused something sent in the turn: the activity itself
            # was received, so it is answered (botbuilder's on_turn_error contract: the
            # turn ends) and not redelivered to run its action twice. One line.
            log.warning("Teams turn %s: the Bot Connector refused a send: %s", activity.id, error)
            return
        log.error("Teams turn failed: %s", error, exc_info=error)
        raise error


def _log_late(task: asyncio.Future[Any]) -> None:
    """The outcome of a turn that was still committing when the activity was answered."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("Teams turn finished late with %s", describe(error))


def _clean_text(activity: Activity) -> str:
    """The text without the bot's @mention (channel messages start with <at>Relais</at>);
    a mention of a person becomes ``<@id|name>`` (``role grant @Ana referent Lyon``), the
    form the core reads, the id being the one Relais knows them by (Entra object id)."""
    text = activity.text or ""
    if activity.recipient is not None:
        text = TurnContext.remove_mention_text(activity, activity.recipient.id) or text
    for entity in activity.entities or []:
        mention = entity.additional_properties if hasattr(entity, "additional_properties") else {}
        if entity.type != "mention" or not isinstance(mention, dict):
            continue
        said, who = mention.get("text"), mention.get("mentioned") or {}
        if not isinstance(said, str) or not isinstance(who, dict) or not said:
            continue
        if activity.recipient is not None and who.get("id") == activity.recipient.id:
            continue
        person = who.get("aadObjectId") or who.get("id") or ""
        name = " ".join(str(who.get("name") or "").split()).replace(">", "")
        text = text.replace(said, f" <@{person}|{name}> ", 1)
    while "<at>" in text and "</at>" in text:
        start, end = text.index("<at>"), text.index("</at>") + len("</at>")
        if end <= start:
            break
        text = text[:start] + text[end:]
    return " ".join(text.split())


class CardAnswer(Model):
    """The body of an ``adaptiveCard/action`` invoke response: a card or a message.

    The SDK's ``AdaptiveCardInvokeResponse`` types ``value`` as a dict, so it cannot carry
    the message form (a string); ``CloudAdapter.process`` serialises any msrest model.
    """

    # msrest declares this class-level map as an instance variable (a type comment).
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {  # type: ignore[misc]
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, status_code: int, type: str, value: Any) -> None:
        super().__init__()
        self.status_code = status_code
        self.type = type
        self.value = value


def _card_answer(kind: str, value: Any) -> CardAnswer:
    return CardAnswer(200, kind, value)


async def _invoke_reply(ctx: TurnContext, status: int, body: Any) -> None:
    await ctx.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body))
    )


def _problem(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


# Activity types as counted in the metrics: a fixed list, whatever an activity claims.
ACTIVITY_KINDS = frozenset(
    {
        "message",
        "invoke",
        "conversationUpdate",
        "installationUpdate",
        "messageReaction",
        "messageUpdate",
        "messageDelete",
        "typing",
        "event",
    }
)


async def fetch_bot_token(settings: Settings, sdk_overrides: dict[str, str] | None = None) -> str:
    """A Bot Framework token for the app in ``settings`` (MSAL, from Azure AD or the login
    URL in ``sdk_overrides``); raises when the app id, secret or tenant are refused."""
    sdk = sdk_overrides or {}
    factory = PasswordServiceClientCredentialFactory(
        settings.microsoft_app_id,
        settings.microsoft_app_password,
        settings.microsoft_app_tenant_id,
    )
    tenant = (
        settings.microsoft_app_tenant_id
        if settings.microsoft_app_type.lower() == "singletenant"
        else "botframework.com"
    )
    login = sdk.get("TO_CHANNEL_FROM_BOT_LOGIN_URL") or (
        AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + tenant
    )
    scope = (
        sdk.get("TO_CHANNEL_FROM_BOT_OAUTH_SCOPE")
        or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
    )
    credentials = await factory.create_credentials(settings.microsoft_app_id, scope, login, True)
    # MSAL is synchronous and may call Azure AD: keep it off the event loop.
    return str(await asyncio.to_thread(credentials.get_access_token))
