"""Review actions: show, approve, reject, request changes, escalate (reviewers only,
never one's own submission unless the workspace allows it)."""

from __future__ import annotations

from bot import cards
from bot.actions.table import ActionName, Author, Permission, Request, Target, action
from bot.services.review import REVIEWER_ROLES
from bot.ui import Form, Reply
from domain import SubmissionView

#: A reviewer deciding a submission of their own workspace, not their own.
DECIDE = Permission.of(*REVIEWER_ROLES, target=Target.SUBMISSION, author=Author.OTHERS)
#: The same, or a referent of the submission's site when the workspace allows it
#: (``referents_review``): approve and request changes, the short circuit.
DECIDE_OR_REFERENT = Permission.of(
    *REVIEWER_ROLES, target=Target.SUBMISSION, author=Author.OTHERS, site_referents=True
)


def _reason(request: Request) -> str:
    return str((request.values or {}).get("reason") or "")


async def _reason_form(request: Request) -> Form:
    return cards.reason_form(request.t, request.name, request.sub.id, request.value)


@action(
    ActionName.REVIEW_SHOW,
    Permission.of(*REVIEWER_ROLES, target=Target.SUBMISSION, site_referents=True),
)
async def show(request: Request) -> Reply:
    """From a reminder: the submission's review card, for a reviewer, right here."""
    return Reply(message=cards.review_card(request.t, request.sub, request.config.timezone))


def _decided(request: Request, sub: SubmissionView) -> Reply:
    """What the reviewer sees after a decision: what happened, to whose submission."""
    text = request.t(f"review.done.{sub.status.value}", id=sub.id, author=sub.author.display_name)
    return Reply(message=cards.notice(text))


@action(ActionName.REVIEW_APPROVE, DECIDE_OR_REFERENT)
async def approve(request: Request) -> Reply:
    review, member, sid = request.core.review, request.member, request.sub.id
    return _decided(request, await review.approve(member, sid, revision=request.revision))


@action(ActionName.REVIEW_APPROVE_INTERNAL, DECIDE_OR_REFERENT)
async def approve_internal(request: Request) -> Reply:
    """Approve for use inside the company only: possible whatever the consent answers."""
    review, member, sid = request.core.review, request.member, request.sub.id
    sub = await review.approve(member, sid, revision=request.revision, internal_only=True)
    return _decided(request, sub)


@action(ActionName.REVIEW_REJECT, DECIDE, form=_reason_form)
async def reject(request: Request) -> Reply:
    review, member, sid = request.core.review, request.member, request.sub.id
    sub = await review.reject(member, sid, _reason(request), revision=request.revision)
    return _decided(request, sub)


@action(ActionName.REVIEW_CHANGES, DECIDE_OR_REFERENT, form=_reason_form)
async def request_changes(request: Request) -> Reply:
    review, member, sid = request.core.review, request.member, request.sub.id
    sub = await review.request_changes(member, sid, _reason(request), revision=request.revision)
    return _decided(request, sub)


@action(ActionName.REVIEW_ESCALATE, DECIDE, form=_reason_form)
async def escalate(request: Request) -> Reply:
    review, member, sid = request.core.review, request.member, request.sub.id
    sub = await review.escalate(member, sid, _reason(request), revision=request.revision)
    return _decided(request, sub)
