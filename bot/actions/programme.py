"""Taking part in the programme: help, join (the charter), leave, me, snooze; and the
CM's digest and settings."""

from __future__ import annotations

from datetime import timedelta

from bot import cards
from bot.actions.common import int_or_none, parse_duration
from bot.actions.dispatch import dispatch, parse_command
from bot.actions.submitting import charter_form, submit_entry
from bot.actions.table import EVERYONE, ActionName, Permission, Request, action
from bot.errors import InvalidInput
from bot.services.config import parse_onoff
from bot.ui import Reply
from domain import Role

MAX_SNOOZE = timedelta(weeks=12)
CM_ONLY = Permission.of(Role.CM)


@action(ActionName.HELP, EVERYONE, words=("help", "aide", ""))
async def help_(request: Request) -> Reply:
    return Reply(message=cards.help_message(request.t, request.member.roles))


@action(ActionName.JOIN, EVERYONE, words=("join", "rejoindre"), changes_member=True)
async def join(request: Request) -> Reply:
    core, member, t = request.core, request.member, request.t
    charter = await core.onboarding.charter(member)
    if Role.AMBASSADOR in member.roles and charter.accepted:
        return Reply(message=cards.notice(t("join.already", version=charter.version)))
    return Reply(form=await charter_form(core, member, t, charter))


@action(ActionName.CHARTER_ACCEPT, EVERYONE, changes_member=True)
async def accept_charter(request: Request) -> Reply:
    """The charter form: the version read, and what to do next (``submit:<caption>``)."""
    version_text, _, then = request.value.partition(":")
    version = int_or_none(version_text)
    if version is None:
        raise InvalidInput("error.invalid_input", field="charter")
    site = str((request.values or {}).get("site") or "").strip()
    site_id = int_or_none(site) if site else None
    if site and site_id is None:
        raise InvalidInput("error.unknown_site", field="site")
    member = await request.core.onboarding.join(
        request.member, charter_version=version, site_id=site_id
    )
    done = cards.notice(request.t("join.done", version=version))
    if then.startswith("submit:"):
        follow = await submit_entry(request.core, member, then.removeprefix("submit:"))
        return Reply(message=done, form=follow.form)
    return Reply(message=done)


@action(ActionName.LEAVE, EVERYONE, words=("leave", "quitter"), changes_member=True)
async def leave(request: Request) -> Reply:
    left = await request.core.onboarding.leave(request.member)
    return Reply(message=cards.notice(request.t("leave.done" if left else "leave.not_member")))


@action(ActionName.ME, EVERYONE, words=("me", "moi"))
async def me(request: Request) -> Reply:
    profile = await request.core.onboarding.profile(request.member)
    return Reply(message=cards.profile_message(request.t, profile, request.tz))


@action(ActionName.SNOOZE, EVERYONE, words=("snooze", "pause"), changes_member=True)
async def snooze(request: Request) -> Reply:
    core, member, t, rest = request.core, request.member, request.t, request.value.lower()
    if rest in ("off", "stop", "non"):
        await core.onboarding.snooze(member, None)
        return Reply(message=cards.notice(t("snooze.off")))
    if rest in ("never", "jamais", "forever"):
        await core.onboarding.snooze(member, None, opt_out=True)
        return Reply(message=cards.notice(t("snooze.never")))
    duration = parse_duration(rest or "1w")
    if duration is None:
        return Reply(message=cards.notice(t("snooze.usage")))
    until = core.clock() + min(duration, MAX_SNOOZE)
    await core.onboarding.snooze(member, until)
    return Reply(message=cards.notice(t("snooze.on", until=cards.when(until, request.tz, t))))


@action(ActionName.MYDATA, EVERYONE, words=("mydata", "mesdonnees", "mes-donnees", "données"))
async def mydata(request: Request) -> Reply:
    """Everything Relais stores about the member, by direct message: a JSON file, and
    their photos as a zip. Only their own data: the action takes no argument."""
    done = await request.core.privacy.export(request.member)
    key = "mydata.sent_photos" if done.photos else "mydata.sent"
    return Reply(message=cards.notice(request.t(key, count=done.photos)))


@action(ActionName.FORGET, EVERYONE, words=("forget", "oublier", "oubliez-moi"))
async def forget(request: Request) -> Reply:
    """What forgetting deletes, and the button that does it."""
    keep = request.config.forget_approved == "anonymise"
    return Reply(message=cards.forget_prompt(request.t, request.member, keep_approved=keep))


@action(ActionName.FORGET_CONFIRM, EVERYONE, changes_member=True)
async def forget_confirm(request: Request) -> Reply:
    """Forget the member who clicked, if the prompt was theirs (a forwarded or shared
    prompt cannot forget anyone else)."""
    if request.value != str(request.member.id):
        raise InvalidInput("forget.not_yours", field="forget")
    done = await request.core.forgetting.forget(request.member)
    key = "forget.done" if done.kept else "forget.done_none"
    return Reply(message=cards.notice(request.t(key, count=done.kept)))


PREVIEW = ("preview", "aperçu", "apercu")
SEND = ("send", "envoyer")


@action(ActionName.DIGEST, CM_ONLY, words=("digest", "recap"))
async def digest(request: Request) -> Reply:
    """``digest preview`` shows the next digest to the CM only (``digest preview <site>``:
    that site's own); ``digest send`` posts it now (``digest send <site>``: the site's, in
    its channel)."""
    core, t, rest, config = request.core, request.t, request.value.lower(), request.config
    word, _, site = request.value.strip().partition(" ")  # the site as typed
    if word.lower() in PREVIEW and site.strip():  # a site's own digest
        content, config = await core.rounds.preview_site(request.member.workspace_id, site)
        message = cards.digest_message(t, content, config.timezone)
        heading = cards.notice(t("digest.preview_title"))
        return Reply(message=cards.joined(heading, message, text=message.text))
    if word.lower() in SEND and site.strip():  # a site's own digest, now
        sent, name, channel = await core.rounds.send_site_now(request.member.workspace_id, site)
        key = "digest.site_sent" if sent else "digest.site_already_sent"
        return Reply(message=cards.notice(t(key, site=name, channel=channel)))
    if rest in ("", *PREVIEW):
        content, config = await core.rounds.preview(request.member.workspace_id)
        message = cards.digest_message(t, content, config.timezone)
        heading = cards.notice(t("digest.preview_title"))
        return Reply(message=cards.joined(heading, message, text=message.text))
    if rest in SEND:
        if not config.digest_channel:
            return Reply(message=cards.notice(t("digest.no_channel")))
        sent = await core.rounds.send_now(request.member.workspace_id)
        key = "digest.sent" if sent else "digest.already_sent"
        return Reply(message=cards.notice(t(key, channel=config.digest_channel)))
    return Reply(message=cards.notice(t("digest.usage")))


@action(ActionName.CONFIG, CM_ONLY, words=("config", "settings", "réglages", "reglages"))
async def config(request: Request) -> Reply:
    """``config`` lists the workspace settings; ``config <key> <value>`` changes one."""
    t = request.t
    key, _, value = request.value.strip().partition(" ")
    if key.lower() == SITE_DIGEST:
        return await _site_digest(request, value)
    if key and value.strip():
        stored = await request.core.config.set(request.member, key, value)
        return Reply(
            message=cards.notice(
                t("config.done", key=key.lower(), value=cards.config_value(t, stored))
            )
        )
    local = await request.core.config.site_digests(request.member.workspace_id)
    return Reply(message=cards.config_message(t, request.config.shown(), local))


SITE_DIGEST = "site_digest"


async def _site_digest(request: Request, value: str) -> Reply:
    """``config site_digest <site> <channel>|off``: the site name may hold spaces, the
    channel (a mention, an id, a name) is the last word."""
    t = request.t
    site, _, channel = value.strip().rpartition(" ")
    if not site.strip() or not channel:
        return Reply(message=cards.notice(t("config.site_digest_usage")), failed=True)
    stop = parse_onoff(channel) == "off"
    name, stored, changed = await request.core.config.set_site_digest(
        request.member, site, None if stop else channel
    )
    if stored is None:
        key = "config.site_digest_off" if changed else "config.site_digest_none"
        return Reply(message=cards.notice(t(key, site=name)))
    slot = str(request.config.digest_schedule)
    text = t("config.site_digest_done", site=name, channel=stored, slot=slot)
    return Reply(message=cards.notice(text))


@action(
    ActionName.CONFIG_ME,
    EVERYONE,
    words=("config me", "config moi", "settings me", "réglages moi", "reglages moi"),
    changes_member=True,
)
async def config_me(request: Request) -> Reply:
    """``config me`` lists the member's own preferences; ``config me <key> on|off``
    changes one (whether they appear by name on the leaderboard, whether their badges
    are announced in the channel)."""
    t = request.t
    key, _, value = request.value.strip().partition(" ")
    if key and value.strip():
        name, state = await request.core.onboarding.set_preference(request.member, key, value)
        return Reply(message=cards.notice(t(f"me.prefs.{name}.{state}")))
    if key:
        return Reply(message=cards.notice(t("me.prefs_usage")))
    return Reply(message=cards.preferences_message(t, request.member))


# A button that runs a /relais subcommand (App Home: join, snooze, leave; a nudge's
# snooze): the subcommand's own entry decides who may run it.
@action(ActionName.RELAIS_COMMAND, EVERYONE, changes_member=True)
async def relais_command(request: Request) -> Reply:
    name, rest, word = parse_command("/relais", request.value)
    if name is None or name is ActionName.RELAIS_COMMAND:
        return Reply(message=cards.notice(request.t("help.unknown", word=word[:40])))
    return await dispatch(request.core, request.member, name, rest)
