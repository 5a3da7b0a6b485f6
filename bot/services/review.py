"""Review: approve, reject, request changes, escalate. One conditional UPDATE per decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import cards, notify
from bot.errors import InvalidInput, InvalidTransition, NotAllowed, StaleCard
from bot.i18n import translator
from bot.services.recognition import announce, recognise
from bot.services.submissions import load_view, raise_already_decided
from domain import (
    REASON_MAX,
    TRANSITIONS,
    ConsentState,
    MemberView,
    Mover,
    Role,
    Status,
    SubmissionView,
    transition,
)
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

REVIEWER_ROLES = (Role.CM, Role.APPROVER)
#: Statuses in which a reviewer still has something to decide.
REVIEWABLE = frozenset(t.source for t in TRANSITIONS if t.by is Mover.REVIEWER)


def own_review_refused(actor: MemberView, sub: SubmissionView, self_review: bool) -> bool:
    """The self-review rule: one's own submission goes to another reviewer, unless the
    workspace allows it (``/relais config self_review on``, for a one-person programme)."""
    return sub.author.id == actor.id and not self_review


#: What a site referent may decide, when the workspace allows it (``referents_review``).
REFERENT_DECISIONS = frozenset((Status.APPROVED, Status.CHANGES_REQUESTED))


def referent_may_decide(
    actor: MemberView, sub: SubmissionView, new: Status, referents_review: bool
) -> bool:
    """The short circuit close to the field: a site's referent approves or asks for
    changes on the site's pending, non-sensitive submissions, when the workspace allows."""
    return (
        referents_review
        and sub.site_id is not None
        and sub.site_id in actor.referent_sites
        and sub.status is Status.PENDING
        and not sub.sensitive
        and new in REFERENT_DECISIONS
    )


def may_decide(
    actor: MemberView, sub: SubmissionView, new: Status, *, referents_review: bool = False
) -> bool:
    """The role rule, in one place.

    - pending, not sensitive: a CM approves, rejects, asks for changes or escalates; a
      referent of its site approves or asks for changes when the workspace allows it;
    - pending, sensitive: a CM rejects, asks for changes or escalates; approving needs an
      approver (the exceptional circuit);
    - escalated: only an approver approves or rejects.
    Admins may do everything.
    """
    if Role.ADMIN in actor.roles:
        return True
    if not actor.has(*REVIEWER_ROLES):
        return referent_may_decide(actor, sub, new, referents_review)
    if sub.status is Status.ESCALATED:
        return Role.APPROVER in actor.roles
    if new is Status.APPROVED and sub.sensitive:
        return Role.APPROVER in actor.roles
    if new is Status.ESCALATED:
        return Role.CM in actor.roles
    return actor.has(*REVIEWER_ROLES)


def consent_missing(sub: SubmissionView) -> list[str]:
    """Why ``sub`` cannot be cleared for use outside the company on consent grounds: the
    names of those named who did not agree (or "the author" when they withdrew); [] when
    consent is complete."""
    missing = [c.name for c in sub.consents if c.state is not ConsentState.AGREED]
    if sub.consent_withdrawn and not missing:
        missing = [sub.author.display_name]
    return missing


class Review:
    """The reviewers' side of a submission's life."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def approve(
        self,
        actor: MemberView,
        submission_id: int,
        *,
        revision: int | None = None,
        internal_only: bool = False,
    ) -> SubmissionView:
        """Approve; the author is told and credited with points (and badges).

        ``revision`` is the version the reviewer saw (from the card); a newer one is refused.
        ``internal_only``: for use inside the company only, always possible; otherwise,
        while someone named in the photo declined, has not answered or withdrew, the
        workspace's ``consent_rule`` refuses it (``block``) or lets it through with a
        warning on the card (``warn``).
        """
        return await self._decide(
            actor, submission_id, Status.APPROVED, None, revision, internal_only=internal_only
        )

    async def reject(
        self, actor: MemberView, submission_id: int, reason: str, *, revision: int | None = None
    ) -> SubmissionView:
        """Reject with a reason the author will read."""
        return await self._decide(
            actor, submission_id, Status.REJECTED, self._reason(reason, required=True), revision
        )

    async def request_changes(
        self, actor: MemberView, submission_id: int, comment: str, *, revision: int | None = None
    ) -> SubmissionView:
        """Send back to the author with what to change; they may resubmit."""
        return await self._decide(
            actor,
            submission_id,
            Status.CHANGES_REQUESTED,
            self._reason(comment, required=True),
            revision,
        )

    async def escalate(
        self,
        actor: MemberView,
        submission_id: int,
        note: str = "",
        *,
        revision: int | None = None,
    ) -> SubmissionView:
        """Hand a (sensitive) submission to the approvers."""
        return await self._decide(
            actor, submission_id, Status.ESCALATED, self._reason(note, required=False), revision
        )

    @staticmethod
    def _reason(text: str, *, required: bool) -> str | None:
        text = text.strip()
        if required and not text:
            raise InvalidInput("error.reason_required", field="reason")
        if len(text) > REASON_MAX:
            raise InvalidInput("error.reason_too_long", field="reason", max=REASON_MAX)
        return text or None

    async def _decide(
        self,
        actor: MemberView,
        submission_id: int,
        new: Status,
        reason: str | None,
        revision: int | None = None,
        *,
        internal_only: bool = False,
    ) -> SubmissionView:
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            # Roles come from the database at every action, never from what a button showed.
            actor = await r.members.view(actor.id)
            if not actor.has(*REVIEWER_ROLES) and not actor.referent_sites:
                raise NotAllowed("error.reviewers_only")
            before = await load_view(r, submission_id)
            if before.workspace_id != actor.workspace_id:
                raise NotAllowed("error.reviewers_only")
            move = transition(before.status, new)
            if move is None or move.by is not Mover.REVIEWER:
                if before.status in REVIEWABLE:
                    raise InvalidTransition(status=before.status)
                await raise_already_decided(r, submission_id)
            assert move is not None
            config = await self.core.config.load(r, actor.workspace_id)
            if own_review_refused(actor, before, config.self_review):
                raise NotAllowed("error.own_submission")
            if not may_decide(actor, before, new, referents_review=config.referents_review):
                key = (
                    "error.sensitive_needs_approver"
                    if before.sensitive or before.status is Status.ESCALATED
                    else "error.reviewers_only"
                )
                raise NotAllowed(key)
            if new is Status.ESCALATED and not await r.members.any_with_role(
                actor.workspace_id, Role.APPROVER, Role.ADMIN
            ):
                raise NotAllowed("error.no_approver")
            if revision is not None and revision != before.revision:
                raise StaleCard(id=submission_id, revision=before.revision)
            if new is Status.APPROVED and not internal_only and config.consent_rule == "block":
                missing = consent_missing(before)
                if missing:
                    raise NotAllowed("error.consent_incomplete", names=", ".join(missing))
            if not await r.submissions.transition(
                submission_id,
                expected=before.status,
                expected_revision=revision,
                new=new,
                now=now,
                decided_by=actor.id,
                reason=reason,
            ):
                await raise_already_decided(r, submission_id)
            if new is Status.APPROVED:
                await r.submissions.set_internal_only(submission_id, internal_only)
            await r.reviews.add(
                submission_id,
                actor_id=actor.id,
                action=move.audit,
                from_status=before.status,
                to_status=new,
                reason=reason,
                now=now,
            )
            after = await load_view(r, submission_id)
            # Points and badges, in this transaction (none for approving one's own).
            earned = await recognise(r, actor, after, config, now=now)
            await self._notify(r, after, earned.author_points, config.timezone)
            await announce(r, after.author, earned.badges, config, now=now)
        self.core.outbox_changed()
        return after

    async def _notify(self, r: Repos, sub: SubmissionView, points: int, tz: str) -> None:
        now = self.core.clock()
        ws = await r.workspaces.get(sub.workspace_id)
        submissions = self.core.submissions
        await submissions.update_cards(r, sub)
        if sub.status is Status.ESCALATED:
            row = await r.submissions.get(sub.id)
            card_ids = list((row.card_outbox_ids or []) if row else [])
            approvers = await r.members.with_role(ws.id, Role.APPROVER)
            for approver in approvers:
                if approver.id == sub.author.id:
                    continue
                msg = cards.approver_dm(translator(approver.locale), sub, tz)
                card_ids.append(await notify.dm(r, approver, msg, now=now))
            await r.submissions.set_cards(sub.id, card_ids)
        author_t = translator(sub.author.locale)
        await notify.dm(r, sub.author, cards.outcome_dm(author_t, sub, tz, points), now=now)
