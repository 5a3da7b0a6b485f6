"""Where a slash command (or the same words typed to the bot in Teams) is handled.

``handle_command`` turns ``/submit ...`` and ``/relais <subcommand> ...`` into a
``Reply``. Adapters parse their platform's payload, call this, and draw the reply.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot import cards
from bot.core import Core
from bot.errors import InvalidInput, NotAllowed, RelaisError
from bot.i18n import Translator, translator
from bot.ui import Context, Fields, Form, Heading, Message, Reply
from domain import Charter, MemberView, Role, Status

SUBCOMMANDS = ("help", "join", "leave", "me", "snooze", "digest", "config")
MAX_SNOOZE = timedelta(weeks=12)
CARRIED_CAPTION_MAX = 1000
_DURATION = re.compile(r"^(\d{1,3})\s*([dwj]|days?|weeks?|jours?|semaines?|sem)$")


def render_error(t: Translator, err: RelaisError, tz: str) -> str:
    """A person-readable sentence for an error, in the member's language."""
    params: dict[str, Any] = {}
    for name, value in err.params.items():
        if isinstance(value, Status):
            params[name] = t(f"status.{value.value}")
        elif isinstance(value, datetime):
            params[name] = cards.when(value, tz)
        else:
            params[name] = value
    return t(err.key, **params)


def error_reply(t: Translator, err: RelaisError, tz: str) -> Reply:
    """An ephemeral reply for an error; form errors are attached to their field."""
    text = render_error(t, err, tz)
    errors = {err.field: text} if isinstance(err, InvalidInput) else {}
    return Reply(message=cards.notice(text), errors=errors, failed=True)


def parse_duration(text: str) -> timedelta | None:
    """``2w``, ``10d``, ``3 semaines`` -> a timedelta; None when unreadable."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    days = amount * (7 if unit[0] in "ws" else 1)
    return timedelta(days=days) if days > 0 else None


async def _charter_form(
    core: Core, member: MemberView, t: Translator, charter: Charter, then: str = ""
) -> Form:
    own = [n for i, n in await core.onboarding.sites(member.workspace_id) if i == member.site_id]
    return cards.charter_form(t, charter, own[0] if own else "", then=then)


async def submit_entry(core: Core, member: MemberView, caption: str) -> Reply:
    """``/submit``: the form, or the charter first when the member cannot submit yet."""
    t = translator(member.locale)
    charter = await core.onboarding.charter(member)
    if Role.AMBASSADOR not in member.roles or not charter.accepted:
        key = "join.needed_first" if Role.AMBASSADOR not in member.roles else "join.new_version"
        return Reply(
            message=cards.notice(t(key)),
            # The caption rides along in the form's value (platforms cap its size).
            form=await _charter_form(
                core, member, t, charter, then=f"submit:{caption[:CARRIED_CAPTION_MAX]}"
            ),
        )
    sites, campaigns = await core.submissions.form_choices(member)
    return Reply(
        form=cards.submission_form(
            t, caption=caption, sites=sites, site_id=member.site_id, campaigns=campaigns
        )
    )


async def handle_command(core: Core, member: MemberView, command: str, text: str) -> Reply:
    """Answer ``/submit [caption]`` or ``/relais <subcommand> [args]``."""
    t = translator(member.locale)
    tz = core.settings.relais_timezone
    try:
        if command.lstrip("/") == "submit":
            return await submit_entry(core, member, text.strip())
        word, _, rest = text.strip().partition(" ")
        return await _relais(core, member, t, tz, word.lower(), rest.strip())
    except RelaisError as err:
        return error_reply(t, err, tz)


async def _relais(
    core: Core, member: MemberView, t: Translator, tz: str, word: str, rest: str
) -> Reply:
    if word in ("", "help", "aide"):
        return Reply(message=cards.help_message(t, member.roles))
    if word in ("join", "rejoindre"):
        charter = await core.onboarding.charter(member)
        if Role.AMBASSADOR in member.roles and charter.accepted:
            return Reply(message=cards.notice(t("join.already", version=charter.version)))
        return Reply(form=await _charter_form(core, member, t, charter))
    if word in ("leave", "quitter"):
        left = await core.onboarding.leave(member)
        return Reply(message=cards.notice(t("leave.done" if left else "leave.not_member")))
    if word in ("me", "moi"):
        profile = await core.onboarding.profile(member)
        return Reply(message=cards.profile_message(t, profile, tz))
    if word == "snooze":
        return await _snooze(core, member, t, tz, rest)
    if word in ("digest", "recap"):
        return await _digest(core, member, t, rest.lower())
    if word in ("config", "settings", "réglages"):
        return await _config(core, member, t, rest)
    return Reply(message=cards.notice(t("help.unknown", word=word)))


def _require_cm(member: MemberView) -> None:
    if not member.has(Role.CM):
        raise NotAllowed()


async def _digest(core: Core, member: MemberView, t: Translator, rest: str) -> Reply:
    """``digest preview`` shows the next digest to the CM only; ``digest send`` posts it."""
    _require_cm(member)
    if rest in ("", "preview", "aperçu", "apercu"):
        digest, config = await core.rounds.preview(member.workspace_id)
        message = cards.digest_message(t, digest, config.timezone)
        heading = cards.notice(t("digest.preview_title"))
        return Reply(message=Message(text=message.text, blocks=(*heading.blocks, *message.blocks)))
    if rest in ("send", "envoyer"):
        config = await core.config.get(member.workspace_id)
        if not config.digest_channel:
            return Reply(message=cards.notice(t("digest.no_channel")))
        sent = await core.rounds.send_now(member.workspace_id)
        key = "digest.sent" if sent else "digest.already_sent"
        return Reply(message=cards.notice(t(key, channel=config.digest_channel)))
    return Reply(message=cards.notice(t("digest.usage")))


async def _config(core: Core, member: MemberView, t: Translator, rest: str) -> Reply:
    """``config`` lists the workspace settings; ``config <key> <value>`` changes one (CM)."""
    _require_cm(member)
    key, _, value = rest.strip().partition(" ")
    if key and value.strip():
        stored = await core.config.set(member, key, value)
        return Reply(message=cards.notice(t("config.done", key=key.lower(), value=stored)))
    config = await core.config.get(member.workspace_id)
    return Reply(
        message=Message(
            text=t("config.title"),
            blocks=(
                Heading(t("config.title")),
                Fields(tuple(config.shown())),
                Context(t("config.usage")),
            ),
        )
    )


async def _snooze(core: Core, member: MemberView, t: Translator, tz: str, rest: str) -> Reply:
    if rest.lower() in ("off", "stop", "non"):
        await core.onboarding.snooze(member, None)
        return Reply(message=cards.notice(t("snooze.off")))
    if rest.lower() in ("never", "jamais", "forever"):
        await core.onboarding.snooze(member, None, opt_out=True)
        return Reply(message=cards.notice(t("snooze.never")))
    duration = parse_duration(rest or "1w")
    if duration is None:
        return Reply(message=cards.notice(t("snooze.usage")))
    duration = min(duration, MAX_SNOOZE)
    until = core.clock() + duration
    await core.onboarding.snooze(member, until)
    return Reply(message=cards.notice(t("snooze.on", until=cards.when(until, tz))))
