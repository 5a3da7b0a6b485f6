"""The ambassador's actions: /submit, send the form, withdraw, resubmit after changes."""

from __future__ import annotations

from bot import cards
from bot.actions.common import flag, int_or_none
from bot.actions.table import EVERYONE, ActionName, Author, Permission, Request, Target, action
from bot.core import Core
from bot.i18n import Translator, translator
from bot.services.consent import parse_appears, people_tokens
from bot.ui import Form, Reply
from domain import Charter, MemberView, Role

CARRIED_CAPTION_MAX = 1000
#: The author of a submission of their own workspace.
OWN_SUBMISSION = Permission.of(target=Target.SUBMISSION, author=Author.OWN)


async def charter_form(
    core: Core, member: MemberView, t: Translator, charter: Charter, then: str = ""
) -> Form:
    """The charter to read and accept, with the list of sites (theirs selected)."""
    sites = await core.sites.names(member.workspace_id)
    return cards.charter_form(t, charter, sites, member.site_id, then=then)


async def submit_entry(core: Core, member: MemberView, caption: str) -> Reply:
    """``/submit``: the form, or the charter first when the member cannot submit yet."""
    t = translator(member.locale)
    # From the per-workspace cache (bot/services/forms.py): the form opens at once.
    ready = await core.forms.for_submit(member)
    if isinstance(ready, Charter):
        charter = ready
        key = "join.needed_first" if Role.AMBASSADOR not in member.roles else "join.new_version"
        return Reply(
            message=cards.notice(t(key)),
            # The caption rides along in the form's value (platforms cap its size).
            form=await charter_form(
                core, member, t, charter, then=f"submit:{caption[:CARRIED_CAPTION_MAX]}"
            ),
        )
    sites, campaigns = ready
    return Reply(
        form=cards.submission_form(
            t, caption=caption, sites=sites, site_id=member.site_id, campaigns=campaigns
        )
    )


# Everyone may type /submit: a member who is not an ambassador yet is walked through the
# charter first. Recording a submission checks the ambassador role and the charter.
@action(ActionName.SUBMIT, EVERYONE)
async def submit(request: Request) -> Reply:
    return await submit_entry(request.core, request.member, request.value)


@action(ActionName.SUBMISSION_CREATE, Permission.of(Role.AMBASSADOR))
async def create(request: Request) -> Reply:
    v = request.values or {}
    sub = await request.core.submissions.create(
        request.member,
        photos=request.photos,
        caption=str(v.get("caption") or ""),
        site_id=int_or_none(v.get("site")),
        campaign_id=int_or_none(v.get("campaign")),
        people_consented=flag(v.get("outside_agreement")),
        sensitive=flag(v.get("sensitive")),
        client_key=str(v["client_key"]) if v.get("client_key") else None,
        # Who appears is asked about photos; field news (no photo) shows nobody.
        appears=parse_appears(v.get("appears")) if request.photos else None,
        people=people_tokens(v.get("people")),
        title=str(v.get("title") or ""),
        link=str(v.get("link") or ""),
    )
    return Reply(message=cards.notice(request.t("submission.created", id=sub.id)))


@action(ActionName.SUBMISSION_WITHDRAW, OWN_SUBMISSION)
async def withdraw(request: Request) -> Reply:
    sub = await request.core.submissions.withdraw(request.member, request.sub.id)
    return Reply(message=cards.notice(request.t("submission.withdrawn", id=sub.id)))


async def _resubmit_form(request: Request) -> Form:
    sub = request.sub
    sites, campaigns = await request.core.forms.choices(request.member)
    return cards.submission_form(
        request.t,
        caption=sub.caption,
        sites=sites,
        site_id=request.member.site_id,
        campaigns=campaigns,
        action=ActionName.SUBMISSION_RESUBMIT,
        value=str(sub.id),
        sensitive=sub.sensitive,
        appears=sub.appears,
        people=tuple(c.external_id for c in sub.consents),
        outside_agreement=sub.people_consented,
        title=sub.title or "",
        link=sub.link or "",
    )


# The "Edit and resubmit" button of a changes-requested DM: the form, to its author only.
@action(ActionName.SUBMISSION_RESUBMIT_FORM, OWN_SUBMISSION)
async def resubmit_form(request: Request) -> Reply:
    return Reply(form=await _resubmit_form(request))


@action(ActionName.SUBMISSION_RESUBMIT, OWN_SUBMISSION, form=_resubmit_form)
async def resubmit(request: Request) -> Reply:
    v = request.values or {}
    sub = await request.core.submissions.resubmit(
        request.member,
        request.sub.id,
        caption=str(v.get("caption") or ""),
        photos=request.photos,
        people_consented=flag(v.get("outside_agreement")),
        sensitive=flag(v.get("sensitive")),
        site_id=int_or_none(v.get("site")),
        campaign_id=int_or_none(v.get("campaign")),
        appears=(
            parse_appears(v.get("appears")) if request.photos or request.sub.media_keys else None
        ),
        people=people_tokens(v.get("people")),
        title=str(v.get("title") or ""),
        link=str(v.get("link") or ""),
    )
    return Reply(message=cards.notice(request.t("submission.resubmitted", id=sub.id)))
