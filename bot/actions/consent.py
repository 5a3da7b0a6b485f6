"""Consent of the people in a photo: answer a request, list the photos one appears in,
withdraw. Only the person named answers or withdraws a request (``Target.CONSENT``);
only the author withdraws their own photo's external use (``OWN_SUBMISSION``)."""

from __future__ import annotations

from bot import cards
from bot.actions.submitting import OWN_SUBMISSION
from bot.actions.table import EVERYONE, ActionName, Permission, Request, Target, action
from bot.ui import Reply

#: The person named in the consent request the value gives.
NAMED = Permission.of(target=Target.CONSENT)


def _consent_id(request: Request) -> int:
    assert request.consent_id is not None, f"{request.name} has no consent target"
    return request.consent_id


# Everyone: it lists only the caller's own requests and photos (it takes no argument).
@action(ActionName.CONSENT, EVERYONE, words=("consent", "consentement", "consentements"))
async def consent_list(request: Request) -> Reply:
    entries = await request.core.consents.entries(request.member)
    return Reply(message=cards.consent_list(request.t, entries))


@action(ActionName.CONSENT_AGREE, NAMED)
async def agree(request: Request) -> Reply:
    sub = await request.core.consents.answer(request.member, _consent_id(request), agree=True)
    return Reply(message=cards.notice(request.t("consent.agreed", id=sub.id)))


@action(ActionName.CONSENT_DECLINE, NAMED)
async def decline(request: Request) -> Reply:
    sub = await request.core.consents.answer(request.member, _consent_id(request), agree=False)
    return Reply(message=cards.notice(request.t("consent.declined", id=sub.id)))


@action(ActionName.CONSENT_WITHDRAW, NAMED)
async def withdraw(request: Request) -> Reply:
    sub = await request.core.consents.withdraw(request.member, _consent_id(request))
    return Reply(message=cards.notice(request.t("consent.withdrawn", id=sub.id)))


@action(ActionName.CONSENT_WITHDRAW_OWN, OWN_SUBMISSION)
async def withdraw_own(request: Request) -> Reply:
    sub = await request.core.consents.withdraw_as_author(request.member, request.sub.id)
    return Reply(message=cards.notice(request.t("consent.withdrawn", id=sub.id)))
