"""Where Slack requests are handled: slash commands, buttons, modal submissions and
events, each acknowledged within Slack's 3 s, then sent into the core's action table.

- ``/submit`` and ``/relais``              -> ``bot.actions.handle_command``
- every button (``block_actions``)         -> ``bot.actions.handle_action``
- every modal submit (``view_submission``) -> ``handle_action``, or a persisted photo job
- ``app_home_opened``                      -> the member's App Home, via the outbox
- ``message`` in the bot's DM with files   -> a "Submit this?" reply, via the outbox
- a long select menu (``block_suggestion``) -> the sites matching what was typed

The database work done before an ack is bounded (``adapters.deadline``): when the
database is stopped or frozen the ack still comes in time and tells the person, in
their language, that nothing was done and to try again in a minute. Work after an ack
(buttons) is bounded too, and what it cannot do is said through the request's
``response_url`` (a POST to Slack, no database needed); it never turns into Bolt's
404 or 500.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.deadline import (
    AFTER_ACK_BUDGET,
    AFTER_ACK_PATIENCE,
    SLACK_BUDGET,
    Attempt,
    Unavailable,
    describe,
    unreachable,
)
from adapters.slack import render
from adapters.slack.identity import Identities
from adapters.slack.installations import StoreUnavailable
from adapters.slack.modals import SUBMISSION_FORMS, Modals
from bot import cards
from bot.actions import changes_member, handle_action, handle_command, submit_entry
from bot.core import Core
from bot.i18n import Translator, translator
from bot.media import ACCEPTED_LABEL
from bot.ui import LINK, Message, Reply
from domain import MAX_PHOTOS, MemberView

log = logging.getLogger(__name__)

# The adapter's own button: photos dropped in the bot's DM -> the submission form.
DROPPED_SUBMIT = "slack.submit_dropped"
# Work done after the ack runs on this process's event loop and database pool: at most
# this many requests at once, the others wait their turn (instead of timing out on the
# pool and being lost after Slack was told "ok").
WORK_LIMIT = 8
# /submit's own lane: its form is read (from the per-workspace cache, bot/services/forms.py)
# and opened beside the work above, never behind it, at most FORM_LIMIT at once. At most
# ADMIT_LIMIT /submit are acked and still waiting for their form: one more waits before
# its ack (at most ADMIT_WAIT seconds, then it is acked and waits after), so under a burst
# requests are not acknowledged much faster than their forms can be opened and the forms
# of those acked do not fall past Slack's 3 s trigger behind a backlog (150 forms: about
# 1 s of work on one contended core). Below that, acks wait for nothing.
FORM_LIMIT = 16
ADMIT_LIMIT = 150
ADMIT_WAIT = 1.5
# Seconds /submit waits to read who the person is before it uses their last sight.
FORM_MEMBER_WAIT = 0.5
# Seconds to post a message to a request's response_url (or a notice on the App Home).
RESPONSE_URL_TIMEOUT = 5
# block_id prefix of a notice shown on top of an App Home (replaced by the next one).
HOME_NOTICE = "relais.notice."


def slack_unescape(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>`` in a command's text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Listeners:
    """Bolt listeners: request in, core action, reply out."""

    def __init__(self, core: Core, identity: Identities, modals: Modals) -> None:
        self.core = core
        self.identity = identity
        self.modals = modals
        self._work = asyncio.Semaphore(WORK_LIMIT)
        self._forms = asyncio.Semaphore(FORM_LIMIT)
        self._admitted = asyncio.Semaphore(ADMIT_LIMIT)
        self._tasks: set[asyncio.Future[Any]] = set()
        api = urlsplit(core.settings.slack_api_url)
        self._api_host = (api.hostname or "", api.port)

    def register(self, bolt: AsyncApp) -> None:
        """Attach every listener to ``bolt``."""
        bolt.command("/submit")(self.on_submit)
        bolt.command("/relais")(self.on_relais)
        bolt.action(re.compile(".+"))(self.on_action)
        bolt.view(re.compile(".+"))(self.on_view)
        bolt.options(re.compile(".+"))(self.on_options)
        bolt.event("app_home_opened")(self._bounded(self.on_home_opened))
        bolt.event("message")(self._bounded(self.on_message))
        bolt.error(self.on_error)

    def _bounded(self, listener: Any) -> Any:
        """``listener`` taking its turn among the requests being worked on (WORK_LIMIT).

        Events are acknowledged by Bolt before the listener runs: when the database
        cannot be reached, one log line says which event went unanswered."""

        @functools.wraps(listener)
        async def bounded(**kwargs: Any) -> None:
            try:
                async with self._work:
                    await listener(**kwargs)
            except Exception as exc:
                if not unreachable(exc):
                    raise
                log.warning(
                    "Slack %s: database unavailable (%s); not answered",
                    listener.__name__,
                    describe(exc),
                )

        # Bolt passes only the arguments a listener names: keep the original signature.
        bounded.__signature__ = inspect.signature(listener)  # type: ignore[attr-defined]
        return bounded

    def _locale(self, context: AsyncBoltContext) -> str:
        """The person's language without the database: as last seen, else the workspace's."""
        known = self.identity.cached(context)
        return known.locale if known is not None else self.core.settings.relais_locale

    # -- select menus that load their options ----------------------------------------------

    async def on_options(
        self, ack: Any, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """The sites matching what the person typed in a long site menu (more than a
        static menu holds). Nothing to offer when the database does not answer in time."""
        typed, field = str(body.get("value") or ""), body.get("action_id")

        async def work() -> list[tuple[int, str]]:
            async with self._work:
                member = await self.identity.member(context, client)
                if field not in ("site", "sites"):
                    return []
                return await self.core.sites.matching(
                    member.workspace_id, typed, render.OPTIONS_MAX
                )

        try:
            found = await Attempt(SLACK_BUDGET).run(work())
        except Unavailable as out:
            log.warning("Slack options for %s: database unavailable (%s)", field, out.reason)
            found = []
        await ack(options=[render.menu_option(str(i), name) for i, name in found])

    # -- slash commands --------------------------------------------------------------------

    async def on_submit(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await self._command(ack, "/submit", command, context, client)

    async def on_relais(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await self._command(ack, "/relais", command, context, client)

    async def _command(
        self,
        ack: Any,
        name: str,
        command: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """A slash command: answered in the ack itself (ephemeral, no Web API call to
        fail), or acknowledged and its form opened (``views.open``)."""
        text = command.get("text") or ""
        if name == "/relais":
            # Escaped command (manifest): mentions arrive as <@U123>, and Slack writes a
            # typed &, < and > as entities (the arrow of ``site rename A -> B``).
            text = slack_unescape(text)
        if name == "/submit":
            # Its answer is a form (views.open), so it needs nothing in the ack: acked as
            # soon as the form lane has room for it (FORM_LIMIT, ADMIT_WAIT).
            admitted = await self._admit()
            await ack()
            try:
                async with self._forms:
                    await self._open_submit(command, context, client, text)
            finally:
                if admitted:
                    self._admitted.release()
            return
        attempt = Attempt(SLACK_BUDGET, self.core.db)

        async def work() -> tuple[MemberView, Reply]:
            async with self._work:
                member = await self.identity.member(context, client)
                with attempt.action():
                    reply = await handle_command(self.core, member, name, text)
            if changes_member(name, text):
                self.identity.forget(context)
            return member, reply

        try:
            member, reply = await attempt.run(work())
        except Unavailable as out:
            await self._command_unavailable(ack, name, command, context, out)
            return
        if reply.form is None:
            await ack(**_ephemeral(reply.message or cards.notice("…")))
            return
        await ack()

        async def show() -> None:
            async with self._work:
                await self._show(
                    member, reply, client, command.get("trigger_id"), command.get("channel_id")
                )

        await self._after_ack(name, translator(member.locale), command.get("response_url"), show)

    async def _admit(self) -> bool:
        """A place among the ``ADMIT_LIMIT`` forms pending, waited for at most
        ``ADMIT_WAIT`` seconds."""
        try:
            await asyncio.wait_for(self._admitted.acquire(), ADMIT_WAIT)
        except TimeoutError:
            return False
        return True

    async def _open_submit(
        self, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient, text: str
    ) -> None:
        """``/submit`` after its ack: the form (or the charter first), read within Slack's
        trigger window; a database that does not answer in time is said through the
        ``response_url`` (only reads happen here: nothing is half done).

        The form comes first: on its own lane (``FORM_LIMIT``, a turn held until
        ``views.open`` returned; not the buttons' and events' ``WORK_LIMIT``), from choices
        cached per workspace, and ``views.open`` goes out on Bolt's client, whose
        connection pool the outbox's sends and the photo downloads do not use
        (``SlackAdapter``)."""

        async def prepare() -> tuple[MemberView, Reply]:
            # Someone seen before gets their form even when the database is slow or away.
            member = await self.identity.member_soon(context, client, FORM_MEMBER_WAIT)
            return member, await handle_command(self.core, member, "/submit", text)

        try:
            # The caller holds a turn in the form lane (FORM_LIMIT); the budget starts with
            # the work: a turn waited for under load is not the database failing.
            member, reply = await Attempt(SLACK_BUDGET, self.core.db).run(prepare())
        except Unavailable as out:
            log.warning("Slack /submit: database unavailable (%s); told to retry", out.reason)
            t = translator(self._locale(context))
            await self.respond(command.get("response_url"), cards.notice(t(out.notice)))
            return
        except Exception:
            log.exception("Slack /submit failed after its ack")
            return
        trigger, channel = command.get("trigger_id"), command.get("channel_id")
        await self._after_ack(
            "/submit",
            translator(member.locale),
            command.get("response_url"),
            lambda: self._show(member, reply, client, trigger, channel),
        )

    async def _command_unavailable(
        self,
        ack: Any,
        name: str,
        command: dict[str, Any],
        context: AsyncBoltContext,
        out: Unavailable,
    ) -> None:
        t = translator(self._locale(context))
        url = command.get("response_url")
        if out.late is not None:
            log.warning("Slack %s: database slow (%s); the answer will follow", name, out.reason)
            await ack(**_ephemeral(cards.notice(t("outage.pending"))))
            self._spawn(self._answer_late(name, t, url, out.late))
            return
        log.warning("Slack %s: database unavailable (%s); told to retry", name, out.reason)
        await ack(**_ephemeral(cards.notice(t(out.notice))))

    async def _answer_late(
        self, name: str, t: Translator, url: str | None, late: asyncio.Future[Any]
    ) -> None:
        """A command still committing at its deadline: its real answer, when it has one."""
        try:
            _, reply = await late
        except Exception as exc:
            log.warning("Slack %s: finished late with %s", name, describe(exc))
            message = cards.notice(t("outage.unconfirmed"))
        else:
            message = reply.message
            if reply.form is not None:  # the trigger has expired: no form can open now
                message = cards.notice(t("slack.form_failed"))
        if message is not None:
            await self.respond(url, message)

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
        name = render.action_name(str(action.get("action_id", "")))
        if name == LINK:
            return  # a link button: Slack opened its page; nothing to do here
        try:
            # The budget starts with the work: waiting for a turn (WORK_LIMIT) under load
            # is not the database failing.
            async with self._work:
                attempt = Attempt(AFTER_ACK_BUDGET, self.core.db, patience=AFTER_ACK_PATIENCE)
                await attempt.run(self._action(body, action, context, client, attempt))
        except Unavailable as out:
            # The ack is gone: the response_url is how the person hears of it; App Home
            # buttons have none, so their home is shown again with the notice on top.
            t = translator(self._locale(context))
            url = body.get("response_url")
            if out.late is not None:
                log.warning("Slack %s: database slow (%s); finishing", name, out.reason)
                out.late.add_done_callback(functools.partial(_log_late, name))
                return
            log.warning("Slack %s: database unavailable (%s); told to retry", name, out.reason)
            notice = cards.notice(t(out.notice))
            view = body.get("view") or {}
            if not url and view.get("type") == "home":
                await self.home_notice(client, str(context.user_id or ""), view, notice)
                return
            await self.respond(url, notice)
        except Exception:
            # A bug: logged with its traceback, and not Bolt's 404 after the ack.
            log.exception("Slack button %s failed", name)

    async def _action(
        self,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        attempt: Attempt,
    ) -> None:
        member = await self.identity.member(context, client)
        name = render.action_name(str(action.get("action_id", "")))
        value = str(action.get("value", ""))
        if changes_member(name, value):
            self.identity.forget(context)
        trigger = body.get("trigger_id")
        channel = (body.get("channel") or {}).get("id")
        with attempt.action():
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

    # -- after the ack ---------------------------------------------------------------------

    async def _after_ack(
        self, name: str, t: Translator, url: str | None, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Work after an ack: a database failure is told through ``url``, never Bolt's 404."""
        try:
            await work()
        except Exception as exc:
            if not unreachable(exc):
                log.exception("Slack %s failed after its ack", name)
                return
            log.warning("Slack %s: database unavailable after the ack (%s)", name, describe(exc))
            await self.respond(url, cards.notice(t("outage.try_again")))

    async def respond(self, url: str | None, message: Message) -> bool:
        """Post ``message`` (ephemeral) to a request's ``response_url``: no database, no
        outbox. Only Slack's hosts (or the configured API host) are trusted."""
        if not url or not self._trusted(url):
            log.warning("Slack: no usable response_url to tell the person")
            return False
        try:
            response = await AsyncWebhookClient(url, timeout=RESPONSE_URL_TIMEOUT).send(
                response_type="ephemeral",
                replace_original=False,
                text=render.fallback_text(message),
                blocks=render.message_blocks(message),
            )
        except Exception as exc:
            log.warning("Slack response_url post failed: %s", describe(exc))
            return False
        if response.status_code != 200:
            log.warning("Slack response_url answered %s: %s", response.status_code, response.body)
            return False
        return True

    async def home_notice(
        self, client: AsyncWebClient, user: str, home: dict[str, Any], notice: Message
    ) -> bool:
        """Show ``notice`` on top of the App Home the person clicked in (the view Slack
        sent with the click): a ``views.publish``, no database, no outbox. A notice shown
        before is replaced, not stacked; the next refresh of the home drops it."""
        kept = [
            b
            for b in home.get("blocks") or []
            if isinstance(b, dict) and not str(b.get("block_id", "")).startswith(HOME_NOTICE)
        ]
        top = render.message_blocks(notice)
        for n, block in enumerate(top):
            block["block_id"] = f"{HOME_NOTICE}{n}"
        view = {"type": "home", "blocks": [*top, *kept][: render.VIEW_BLOCKS_MAX]}
        try:
            await asyncio.wait_for(
                client.views_publish(user_id=user, view=view), RESPONSE_URL_TIMEOUT
            )
        except Exception as exc:
            log.warning("Slack: could not show the notice on %s's home: %s", user, describe(exc))
            return False
        return True

    def _trusted(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
            return True
        return bool(host) and (host, parts.port) == self._api_host

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        """A submitted modal, answered in the ack: field errors, the next form, or a
        confirmation; the submission form's photos become a job committed before it."""
        action = str(view.get("callback_id", ""))
        attempt = Attempt(SLACK_BUDGET, self.core.db)

        async def work() -> dict[str, Any]:
            async with self._work:
                member = await self.identity.member(context, client)
                with attempt.action():
                    return await self._view_answer(member, action, view, context)

        try:
            answer = await attempt.run(work())
        except Unavailable as out:
            # The modal stays open with the reason on it: sending the same form again is
            # safe (its job is keyed by the view, so it is recorded once).
            t = translator(self._locale(context))
            key = out.form_notice
            log.warning("Slack form %s: database unavailable (%s); told", action, out.reason)
            if out.late is not None:
                out.late.add_done_callback(functools.partial(_log_late, action))
            await ack(**self.modals.unavailable_answer(t, view, t(key)))
            return
        await ack(**answer)

    async def _view_answer(
        self, member: MemberView, action: str, view: dict[str, Any], context: AsyncBoltContext
    ) -> dict[str, Any]:
        t = translator(member.locale)
        meta = render.metadata_of(view)
        values, files = render.form_values((view.get("state") or {}).get("values") or {})
        if action in SUBMISSION_FORMS:
            team = str(context.team_id or "")
            return await self.modals.accept_submission(
                member, team, action, view, meta, values, files
            )
        reply = await handle_action(self.core, member, action, str(meta.get("v", "")), values)
        if changes_member(action):
            self.identity.forget(context)
        return self.modals.view_answer(t, reply, view, meta)

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
        images = [f for f in files if str(f.get("mimetype", "")).startswith(("image/", "video/"))]
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

    async def on_error(
        self, error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse | None:
        if isinstance(error, StoreUnavailable):
            # Bolt could not authorize the request (multi-workspace OAuth, the database
            # away, a workspace this process has not served yet): answered here, in time.
            return self.unauthorized_answer(body, context, error)
        log.error("Slack request failed: %s", error, exc_info=error)
        return None

    def unauthorized_answer(
        self, body: dict[str, Any], context: AsyncBoltContext, error: Exception
    ) -> BoltResponse:
        """What a request Bolt could not authorize during an outage is answered with:
        the person told to try again in a minute where Slack lets us say it (a command's
        ack, a form's errors, a button's response_url, which needs no token); an event
        gets a 503, so Slack sends it again later."""
        log.warning("Slack request not authorized in time (%s); told to retry", error)
        t = translator(self._locale(context))
        busy = isinstance(error, StoreUnavailable) and error.busy
        notice = cards.notice(t("busy.try_again" if busy else "outage.try_again"))
        kind = body.get("type")
        if "command" in body:
            return BoltResponse(status=200, body=_ephemeral(notice))
        if kind == "view_submission":
            view = body.get("view") or {}
            form_notice = t("busy.form_not_sent" if busy else "outage.form_not_sent")
            answer = self.modals.unavailable_answer(t, view, form_notice)
            return BoltResponse(status=200, body=answer)
        if kind == "block_actions":
            self._spawn(self.respond(body.get("response_url"), notice))
            return BoltResponse(status=200, body="")
        return BoltResponse(status=503, body={"error": "database unavailable, retry later"})


def _ephemeral(message: Message) -> dict[str, Any]:
    """An ack body shown only to the person who ran the command."""
    return {
        "text": render.fallback_text(message),
        "blocks": render.message_blocks(message),
        "response_type": "ephemeral",
    }


def _log_late(name: str, task: asyncio.Future[Any]) -> None:
    """The outcome of work that was still committing when its request was answered."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("Slack %s: finished late with %s", name, describe(error))
    else:
        log.info("Slack %s: finished late", name)
