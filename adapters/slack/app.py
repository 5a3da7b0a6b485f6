"""Where Slack requests are handled: slash commands, buttons, modals and events (Bolt).

``SlackAdapter`` builds one slack-bolt ``AsyncApp`` and registers:

- ``/submit`` and ``/relais``            -> ``bot.commands.handle_command``
- every button (``block_actions``)       -> ``bot.actions.handle_action``
- every modal submit (``view_submission``) -> ``handle_action``, or a persisted photo job
- ``app_home_opened``                    -> the member's App Home, via the outbox
- ``message`` in the bot's DM with files -> a "Submit this?" reply, via the outbox

Requests are acknowledged before any slow work. Everything the bot says afterwards
goes through the outbox (so Slack's 429s and 5xx only delay it); the only direct calls
are ``views.open`` (Slack's trigger expires after 3 s) and ``users.info`` on a person's
first visit. Mounted on aiohttp at ``POST /slack/events`` (plus the OAuth routes), or
run over Socket Mode when ``SLACK_APP_TOKEN`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import edge, render
from adapters.slack.files import JOB_KIND, FileFetcher, SubmissionJob
from adapters.slack.port import SlackClients, SlackPort, classify
from bot import cards, notify
from bot.actions import handle_action
from bot.commands import handle_command, submit_entry
from bot.core import Core
from bot.domain import MemberView, Platform
from bot.i18n import Translator, supported_locale, translator
from bot.jobs import JobHandler
from bot.media import ACCEPTED_FORMATS, ACCEPTED_LABEL
from bot.ports import RetryLater
from bot.services.submissions import MAX_PHOTOS
from bot.settings import Settings
from bot.ui import Actions, Button, ButtonStyle, Context, Form, Message, Paragraph, Reply

log = logging.getLogger(__name__)

BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:history",
    "im:write",
    "files:read",
    "files:write",
    "users:read",
)
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The adapter's own button: photos dropped in the bot's DM -> the submission form.
DROPPED_SUBMIT = "slack.submit_dropped"
SUBMISSION_FORMS = ("submission.create", "submission.resubmit")
PROFILE_TIMEOUT = 1.5
# Work done after the ack runs on this process's event loop and database pool: at most
# this many requests at once, the others wait their turn (instead of timing out on the
# pool and being lost after Slack was told "ok").
WORK_LIMIT = 8
# Who someone is (locale, roles, site) is read once per MEMBER_TTL seconds per person;
# every service re-reads roles in its own transaction before acting.
MEMBER_TTL = 60.0
# Requests after which a person's cached identity is dropped (they may change roles).
CHANGES_MEMBER = frozenset({"charter.accept", "relais.command", "join", "leave", "rejoindre"})
# Declared file types the photo intake accepts (bot.media), with JPEG's common aliases.
PHOTO_MIMETYPES = frozenset(
    {mime for mime, _ in ACCEPTED_FORMATS.values()} | {"image/jpg", "image/pjpeg"}
)


def slack_configured(settings: Settings) -> bool:
    """True when the settings describe a Slack app (token, OAuth or Socket Mode)."""
    return bool(
        settings.slack_bot_token or (settings.slack_client_id and settings.slack_client_secret)
    )


class SlackAdapter:
    """Relais as a Slack app."""

    def __init__(self, core: Core, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.oauth = bool(settings.slack_client_id and settings.slack_client_secret)
        self.socket_mode = bool(settings.slack_app_token)
        installation_store: AsyncSQLAlchemyInstallationStore | None = None
        oauth_settings: AsyncOAuthSettings | None = None
        if self.oauth:
            # Bolt's own stores, on our engine; their tables come from our migrations.
            installation_store = AsyncSQLAlchemyInstallationStore(
                client_id=settings.slack_client_id, engine=core.db.engine
            )
            public = settings.public_url.rstrip("/") if settings.public_url else ""
            oauth_settings = AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=installation_store,
                state_store=AsyncSQLAlchemyOAuthStateStore(
                    expiration_seconds=600, engine=core.db.engine
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
            )
        self.clients = SlackClients(
            settings.slack_api_url,
            bot_token="" if self.oauth else settings.slack_bot_token,
            installation_store=installation_store,
        )
        self.port = SlackPort(
            self.clients, core.db, core.store, core.clock, workspace_rate=settings.relais_slack_rate
        )
        self.fetcher = FileFetcher(core, self.clients)
        self.job_handlers: dict[str, JobHandler] = {JOB_KIND: SubmissionJob(core, self.fetcher)}
        self.bolt = AsyncApp(
            signing_secret=settings.slack_signing_secret,
            client=self.clients.new_client(None if self.oauth else settings.slack_bot_token),
            oauth_settings=oauth_settings,
            request_verification_enabled=not self.socket_mode,
            process_before_response=False,
        )
        self._known: set[tuple[str, str]] = set()
        self._members: dict[tuple[str, str], tuple[float, MemberView]] = {}
        self._work = asyncio.Semaphore(WORK_LIMIT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._register()

    # -- wiring -------------------------------------------------------------------------

    def _register(self) -> None:
        bolt = self.bolt
        bolt.command("/submit")(self._on_submit)
        bolt.command("/relais")(self._on_relais)
        bolt.action(re.compile(".+"))(self._on_action)
        bolt.view(re.compile(".+"))(self._bounded(self._on_view))
        bolt.event("app_home_opened")(self._bounded(self._on_home_opened))
        bolt.event("message")(self._bounded(self._on_message))
        bolt.error(self._on_error)

    def _bounded(self, listener: Any) -> Any:
        """``listener`` taking its turn among the requests being worked on (WORK_LIMIT)."""

        @functools.wraps(listener)
        async def bounded(**kwargs: Any) -> None:
            async with self._work:
                await listener(**kwargs)

        # Bolt passes only the arguments a listener names: keep the original signature.
        bounded.__signature__ = inspect.signature(listener)  # type: ignore[attr-defined]
        return bounded

    def mount(self, app: web.Application) -> None:
        """Add ``POST /slack/events`` (and the OAuth routes when configured) to ``app``."""
        app.router.add_post(EVENTS_PATH, self.handle_http)
        if self.oauth:
            app.router.add_get(INSTALL_PATH, self.handle_oauth)
            app.router.add_get(REDIRECT_PATH, self.handle_oauth)

    async def handle_http(self, request: web.Request) -> web.Response:
        """One Slack request: checked at the edge (401 unsigned, 400 malformed), then routed."""
        admitted = await edge.admit(request, self.settings.slack_signing_secret)
        if isinstance(admitted, web.Response):
            return admitted
        response = await self.bolt.async_dispatch(admitted)
        return await to_aiohttp_response(response)

    async def handle_oauth(self, request: web.Request) -> web.Response:
        """``/slack/install`` starts the OAuth flow; ``/slack/oauth_redirect`` completes it."""
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_request = await to_bolt_request(request)
        if request.path == INSTALL_PATH:
            response = await flow.handle_installation(bolt_request)
        else:
            response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(response)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While inside: connected over Socket Mode (when ``SLACK_APP_TOKEN`` is set)."""
        handler: AsyncSocketModeHandler | None = None
        if self.socket_mode:
            handler = AsyncSocketModeHandler(
                self.bolt,
                app_token=self.settings.slack_app_token,
                web_client=self.clients.new_client(self.settings.slack_app_token),
            )
            await handler.connect_async()
            log.info("Slack: connected over Socket Mode")
        try:
            yield
        finally:
            if handler is not None:
                await handler.close_async()
            for task in list(self._tasks):
                task.cancel()
            await self.fetcher.close()

    # -- who is asking ---------------------------------------------------------------------

    async def member(self, context: AsyncBoltContext, client: AsyncWebClient) -> MemberView:
        """The member behind a request: cached, else one read; ``users.info`` on first sight."""
        team, user = str(context.team_id or ""), str(context.user_id or "")
        cached = self._members.get((team, user))
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        member = await self._lookup(team, user, client)
        self._members[(team, user)] = (now + MEMBER_TTL, member)
        return member

    def forget(self, context: AsyncBoltContext) -> None:
        """Drop the cached identity of the person behind a request that may change it."""
        self._members.pop((str(context.team_id or ""), str(context.user_id or "")), None)

    async def _lookup(self, team: str, user: str, client: AsyncWebClient) -> MemberView:
        found = await self.core.onboarding.find(Platform.SLACK, team, user)
        if found is not None:
            if (team, user) not in self._known:
                # Refresh name, language and timezone once per process, off the ack path.
                self._known.add((team, user))
                self._spawn(self._refresh(team, user, client))
            return found
        self._known.add((team, user))
        profile = await self._profile(client, user)
        return await self.core.onboarding.identify(Platform.SLACK, team, user, **profile)

    async def _refresh(self, team: str, user: str, client: AsyncWebClient) -> None:
        profile = await self._profile(client, user)
        if profile:
            await self.core.onboarding.identify(Platform.SLACK, team, user, **profile)

    async def _profile(self, client: AsyncWebClient, user: str) -> dict[str, Any]:
        """Name, language and timezone from ``users.info``; {} when Slack does not answer."""
        try:
            response = await asyncio.wait_for(
                client.users_info(user=user, include_locale=True), PROFILE_TIMEOUT
            )
        except Exception as exc:
            log.warning("users.info for %s failed (%s); using defaults", user, exc)
            return {}
        data = response.get("user") or {}
        profile = data.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or ""
        )
        return {
            "display_name": str(name)[:200],
            "locale": supported_locale(data.get("locale")),
            "timezone": data.get("tz") or None,
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- slash commands --------------------------------------------------------------------

    async def _on_submit(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        async with self._work:
            member = await self.member(context, client)
            reply = await handle_command(self.core, member, "/submit", command.get("text") or "")
            await self._show(
                member, reply, client, command.get("trigger_id"), command.get("channel_id")
            )

    async def _on_relais(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        text = command.get("text") or ""
        async with self._work:
            member = await self.member(context, client)
            reply = await handle_command(self.core, member, "/relais", text)
        if text.strip().split(" ")[0].lower() in CHANGES_MEMBER or "snooze" in text:
            self.forget(context)
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

    async def _on_action(
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
        member = await self.member(context, client)
        name = render.action_name(str(action.get("action_id", "")))
        value = str(action.get("value", ""))
        if name in CHANGES_MEMBER:
            self.forget(context)
        trigger = body.get("trigger_id")
        channel = (body.get("channel") or {}).get("id")
        if name == DROPPED_SUBMIT:
            await self._open_dropped(member, client, trigger, channel, value)
            return
        reply = await handle_action(self.core, member, name, value)
        if name in CHANGES_MEMBER:
            self.forget(context)
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
            view = self.form_view(t, reply.form, notice=reply.message, files=files)
            if await self._open_view(client, trigger, view):
                return
            reply = Reply(message=cards.notice(t("slack.form_failed")), failed=True)
        if reply.message is not None:
            await self.say(member, reply.message, channel)

    def form_view(
        self,
        t: Translator,
        form: Form,
        *,
        notice: Message | None = None,
        files: list[str] | None = None,
    ) -> dict[str, Any]:
        """A core form as a modal; ``files``: photos already sent, carried in the metadata."""
        attached = t("slack.dropped.attached", count=len(files)) if files else ""
        return render.form_view(
            form,
            close_label=t("button.cancel"),
            notice=notice,
            attached=attached,
            metadata={"files": files} if files else None,
        )

    async def _open_view(self, client: AsyncWebClient, trigger: str, view: dict[str, Any]) -> bool:
        """``views.open`` within the trigger's 3 s, retrying once on a short rate limit."""
        for attempt in range(2):
            try:
                await client.views_open(trigger_id=trigger, view=view)
                return True
            except Exception as exc:
                failure = classify(exc)
                log.warning("views.open failed: %s", failure)
                wait = failure.retry_after if isinstance(failure, RetryLater) else None
                if attempt or wait is None or wait > 1.0:
                    return False
                await asyncio.sleep(wait)
        return False

    async def say(self, member: MemberView, message: Message, channel: str | None) -> None:
        """Queue ``message`` for ``member`` only: ephemeral in ``channel``, else by DM."""
        if not channel:
            await self.core.send_dm(member, message)
            return
        async with self.core.db.transaction() as r:
            await notify.ephemeral(r, member, channel, message, now=self.core.clock())
        self.core.outbox_changed()

    async def publish_home(self, member: MemberView, note: str = "") -> None:
        """Queue a refresh of the member's App Home."""
        t = translator(member.locale)
        profile = await self.core.onboarding.profile(member)
        message = cards.home_message(t, profile, self.core.settings.relais_timezone, note)
        async with self.core.db.transaction() as r:
            await notify.home(r, member, message, now=self.core.clock())
        self.core.outbox_changed()

    # -- modals --------------------------------------------------------------------------

    async def _on_view(
        self,
        ack: Any,
        body: dict[str, Any],
        view: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        member = await self.member(context, client)
        t = translator(member.locale)
        action = str(view.get("callback_id", ""))
        meta = render.metadata_of(view)
        values, files = render.form_values((view.get("state") or {}).get("values") or {})
        if action in SUBMISSION_FORMS:
            team = str(context.team_id or "")
            await self._accept_submission(ack, member, team, action, view, meta, values, files)
            return
        reply = await handle_action(self.core, member, action, str(meta.get("v", "")), values)
        if action in CHANGES_MEMBER:
            self.forget(context)
        await ack(**self._view_answer(t, reply, view, meta))

    def _view_answer(
        self, t: Translator, reply: Reply, view: dict[str, Any], meta: dict[str, Any]
    ) -> dict[str, Any]:
        """How a submitted modal answers: field errors, the next form, or a confirmation."""
        errors = render.field_errors(reply.errors, view.get("blocks") or [])
        if errors:
            return {"response_action": "errors", "errors": errors}
        if reply.form is not None:
            # Joining from /submit (or from dropped photos) leads straight to the photo form.
            files = meta.get("files") if reply.form.action in SUBMISSION_FORMS else None
            next_view = self.form_view(t, reply.form, notice=reply.message, files=files)
            return {"response_action": "update", "view": next_view}
        message = reply.message or cards.notice(t("button.close"))
        title = (view.get("title") or {}).get("text") or "Relais"
        return {
            "response_action": "update",
            "view": render.notice_view(title, message, close_label=t("button.close")),
        }

    async def _accept_submission(
        self,
        ack: Any,
        member: MemberView,
        team: str,
        action: str,
        view: dict[str, Any],
        meta: dict[str, Any],
        values: dict[str, Any],
        files: list[dict[str, Any]],
    ) -> None:
        """Check what can be checked at once, persist a job, acknowledge; photos come later."""
        t = translator(member.locale)
        if not files:
            files = [{"id": str(f)} for f in meta.get("files") or []]
        errors = _submission_errors(t, action, values, files)
        if errors:
            field_errors = render.field_errors(errors, view.get("blocks") or [])
            if field_errors:
                await ack(response_action="errors", errors=field_errors)
            else:
                message = cards.notice("\n".join(errors.values()))
                await ack(**self._view_answer(t, Reply(message=message), view, meta))
            return
        key = f"slack:view:{view.get('id')}"
        payload = {
            "team": team,
            "user": member.external_id,
            "files": [_file_ref(f) for f in files],
            "values": values,
            "action": action,
            "value": str(meta.get("v", "")),
            "client_key": key,
        }
        # Committed before the ack: once Slack closes the modal, the submission is ours.
        async with self.core.db.transaction() as r:
            await r.jobs.add(kind=JOB_KIND, key=key, payload=payload, now=self.core.clock())
        self.core.jobs_changed()
        received = cards.notice(t("slack.received"))
        await ack(
            response_action="update",
            view=render.notice_view(
                (view.get("title") or {}).get("text") or "Relais",
                received,
                close_label=t("button.close"),
            ),
        )

    # -- events --------------------------------------------------------------------------

    async def _on_home_opened(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        member = await self.member(context, client)
        await self.publish_home(member)

    async def _on_message(
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
        member = await self.member(context, client)
        t = translator(member.locale)
        files = [f for f in event.get("files") or [] if isinstance(f, dict)]
        images = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
        others = [str(f.get("name") or f.get("id")) for f in files if f not in images]
        if images:
            ids = ",".join(str(f["id"]) for f in images[:MAX_PHOTOS])
            text = t("slack.dropped.prompt", count=min(len(images), MAX_PHOTOS))
            blocks: list[Any] = [Paragraph(text)]
            if others:
                blocks.append(
                    Context(t("photos.ignored", names=", ".join(others), accepted=ACCEPTED_LABEL))
                )
            blocks.append(
                Actions(
                    (Button(t("slack.dropped.button"), DROPPED_SUBMIT, ids, ButtonStyle.PRIMARY),)
                )
            )
            message = Message(text=text, blocks=tuple(blocks))
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

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", error, exc_info=error)


def _file_ref(file: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "name", "mimetype", "filetype", "size", "url_private_download", "url_private")
    return {k: file[k] for k in keep if k in file}


def _submission_errors(
    t: Translator, action: str, values: dict[str, Any], files: list[dict[str, Any]]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if action == "submission.create" and not files:
        errors["photos"] = t("error.no_photo")
    elif len(files) > MAX_PHOTOS:
        errors["photos"] = t("error.too_many_photos", max=MAX_PHOTOS)
    else:
        # A declared type we know we refuse (a PDF, but also a GIF, HEIC or SVG) is
        # refused here, in the form; the content is checked again after download.
        declared = [
            str(f.get("name") or f.get("id"))
            for f in files
            if f.get("mimetype") and str(f["mimetype"]).lower() not in PHOTO_MIMETYPES
        ]
        if declared:
            errors["photos"] = t(
                "photos.not_images", names=", ".join(declared), accepted=ACCEPTED_LABEL
            )
    caption = str(values.get("caption") or "").strip()
    if len(caption) > cards.CAPTION_MAX:
        errors["caption"] = t("error.caption_too_long", length=len(caption), max=cards.CAPTION_MAX)
    return errors
