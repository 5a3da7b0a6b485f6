"""Where a button press or a form submission is handled.

Every ``Button.action`` and ``Form.action`` the core emits is routed here. Adapters
pass the action, its value, the form's values and the photos they already took in
through ``core.media`` (downloads are platform-specific; cleaning is not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot import cards
from bot.commands import error_reply, handle_command, submit_entry
from bot.core import Core
from bot.errors import InvalidInput, NotFound, RelaisError
from bot.i18n import Translator, translator
from bot.media import CleanImage
from bot.ui import Reply
from domain import MemberView

FormValues = Mapping[str, Any]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes", "on", "y", "o", "oui")


def _submission_id(value: str) -> int:
    return _card_ref(value)[0]


def _card_ref(value: str) -> tuple[int, int | None]:
    """``"12:2"`` (submission 12 as shown at revision 2) or ``"12"`` -> (12, 2 | None)."""
    id_text, _, revision_text = value.partition(":")
    number = _int_or_none(id_text)
    if number is None:
        raise NotFound("error.submission_not_found", id=value)
    return number, _int_or_none(revision_text)


async def handle_action(
    core: Core,
    member: MemberView,
    action: str,
    value: str,
    values: FormValues | None = None,
    photos: Sequence[CleanImage] = (),
) -> Reply:
    """Run the action a button or form asked for and say what happened."""
    t = translator(member.locale)
    tz = core.settings.relais_timezone
    try:
        return await _route(core, member, t, action, value, values, photos)
    except RelaisError as err:
        return error_reply(t, err, tz)


async def _route(
    core: Core,
    member: MemberView,
    t: Translator,
    action: str,
    value: str,
    values: FormValues | None,
    photos: Sequence[CleanImage],
) -> Reply:
    if action == "charter.accept":
        return await _accept_charter(core, member, t, value, values or {})
    if action == "relais.command":
        # A button that runs a /relais subcommand (App Home: join, snooze, leave).
        return await handle_command(core, member, "/relais", value)
    if action == "review.approve":
        sid, revision = _card_ref(value)
        sub = await core.review.approve(member, sid, revision=revision)
        return Reply(
            message=cards.notice(
                t("review.done.approved", id=sub.id, author=sub.author.display_name)
            )
        )
    if action in ("review.reject", "review.changes"):
        sid, revision = _card_ref(value)
        reason = str((values or {}).get("reason") or "")
        if values is None:
            return Reply(form=cards.reason_form(t, action, sid, value))
        if action == "review.reject":
            sub = await core.review.reject(member, sid, reason, revision=revision)
        else:
            sub = await core.review.request_changes(member, sid, reason, revision=revision)
        return Reply(
            message=cards.notice(
                t(f"review.done.{sub.status.value}", id=sub.id, author=sub.author.display_name)
            )
        )
    if action == "review.escalate":
        sid, revision = _card_ref(value)
        sub = await core.review.escalate(
            member, sid, str((values or {}).get("reason") or ""), revision=revision
        )
        return Reply(
            message=cards.notice(
                t("review.done.escalated", id=sub.id, author=sub.author.display_name)
            )
        )
    if action == "review.show":
        # From a reminder: the submission's review card, for a reviewer, right here.
        sub = await core.review.show(member, _submission_id(value))
        return Reply(message=cards.review_card(t, sub, core.settings.relais_timezone))
    if action == "submission.withdraw":
        sub = await core.submissions.withdraw(member, _submission_id(value))
        return Reply(message=cards.notice(t("submission.withdrawn", id=sub.id)))
    if action == "submission.create":
        v = values or {}
        sub = await core.submissions.create(
            member,
            photos=photos,
            caption=str(v.get("caption") or ""),
            site_id=_int_or_none(v.get("site")),
            campaign_id=_int_or_none(v.get("campaign")),
            people_consented=_flag(v.get("people_consented")),
            sensitive=_flag(v.get("sensitive")),
            client_key=str(v["client_key"]) if v.get("client_key") else None,
        )
        return Reply(message=cards.notice(t("submission.created", id=sub.id)))
    if action == "submission.resubmit_form":
        sub = await core.submissions.view(_submission_id(value))
        sites, campaigns = await core.submissions.form_choices(member)
        return Reply(
            form=cards.submission_form(
                t,
                caption=sub.caption,
                sites=sites,
                site_id=member.site_id,
                campaigns=campaigns,
                action="submission.resubmit",
                value=str(sub.id),
                sensitive=sub.sensitive,
                consented=sub.people_consented,
            )
        )
    if action == "submission.resubmit":
        v = values or {}
        sub = await core.submissions.resubmit(
            member,
            _submission_id(value),
            caption=str(v.get("caption") or ""),
            photos=photos,
            people_consented=_flag(v.get("people_consented")),
            sensitive=_flag(v.get("sensitive")),
            site_id=_int_or_none(v.get("site")),
            campaign_id=_int_or_none(v.get("campaign")),
        )
        return Reply(message=cards.notice(t("submission.resubmitted", id=sub.id)))
    raise NotFound("error.unknown_action", action=action)


async def _accept_charter(
    core: Core, member: MemberView, t: Translator, value: str, values: FormValues
) -> Reply:
    version_text, _, then = value.partition(":")
    version = _int_or_none(version_text)
    if version is None:
        raise InvalidInput("error.invalid_input", field="charter")
    member = await core.onboarding.join(
        member, charter_version=version, site_name=str(values.get("site") or "") or None
    )
    done = cards.notice(t("join.done", version=version))
    if then.startswith("submit:"):
        follow = await submit_entry(core, member, then.removeprefix("submit:"))
        return Reply(message=done, form=follow.form)
    return Reply(message=done)
