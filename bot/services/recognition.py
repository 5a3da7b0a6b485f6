"""Recognition: points in the ledger and badges, decided inside a review decision's
transaction from the facts in the database.

Every credit is a ``points_ledger`` row with its reason, unique per (member, submission,
reason), so a decision retried, clicked twice or replayed credits once:

- ``approved``: the author of an approved submission (``points_approved``);
- ``first``: the author's first approved submission (``points_first``);
- ``campaign``: an approved submission sent to a campaign (``points_campaign``);
- ``referent``: a referent of the submission's site who approves it or requests changes
  (``points_referent``; once per submission, even when they decide it again after a
  resubmission).

Badges (``domain.BadgeCode``) are awarded on approval when the author's approved
submissions reach them: 1 (``first_approved``), 10, 50, one sent to a campaign
(``first_campaign``), and three different sites among them (``three_sites``: the
submissions' sites, so a roaming ambassador who reports from three places earns it
whatever their own site). Thresholds are "at least", so a badge not awarded when it was
reached (a self-approved submission earns nothing) comes with the next approval. Each
new badge is a DM to the person (in their language, once per member and badge by its
outbox key) and, only when they agreed (``/relais config me share_badges on``), a short
post in the digest channel. Nothing is credited or awarded for approving one's own
submission (``self_review``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import cards, notify
from bot.i18n import translator
from bot.services.config import WorkspaceConfig
from domain import BadgeCode, MemberView, Status, SubmissionView
from storage.repositories import Repos
from storage.repositories.recognition import ApprovedFacts

#: Decisions that count as a referent's activity on their site's submission.
REFERENT_ACTIVITY = frozenset((Status.APPROVED, Status.CHANGES_REQUESTED))


@dataclass(frozen=True)
class Recognised:
    """What one decision earned: the author's points for the submission, the badges the
    author earned with it, and the deciding referent's points."""

    author_points: int = 0
    badges: tuple[BadgeCode, ...] = ()
    referent_points: int = 0


def reached(facts: ApprovedFacts) -> list[BadgeCode]:
    """The badges a member's approved submissions have reached, in a fixed order."""
    thresholds = (
        (BadgeCode.FIRST_APPROVED, facts.approved >= 1),
        (BadgeCode.APPROVED_10, facts.approved >= 10),
        (BadgeCode.APPROVED_50, facts.approved >= 50),
        (BadgeCode.FIRST_CAMPAIGN, facts.in_campaigns >= 1),
        (BadgeCode.THREE_SITES, facts.sites >= 3),
    )
    return [code for code, ok in thresholds if ok]


async def recognise(
    r: Repos,
    actor: MemberView,
    sub: SubmissionView,
    config: WorkspaceConfig,
    *,
    now: datetime,
) -> Recognised:
    """Credit and award what ``actor``'s decision (``sub`` as it is now) earned, in the
    caller's transaction; ``announce`` then queues the badges' messages."""
    if sub.author.id == actor.id:
        return Recognised()  # approving one's own (self_review on) earns nothing
    referent_points = 0
    if sub.status in REFERENT_ACTIVITY and sub.site_id in actor.referent_sites:
        if await _credit(r, actor.id, config.points_referent, "referent", sub.id, now):
            referent_points = config.points_referent
    if sub.status is not Status.APPROVED:
        return Recognised(referent_points=referent_points)
    author = sub.author
    # Two approvals of the same author's submissions count one after the other.
    await r.badges.lock_member(author.id)
    facts = await r.badges.approved_facts(author.id)
    credits = [("approved", config.points_approved)]
    if facts.approved == 1:
        credits.append(("first", config.points_first))
    if sub.campaign_id is not None:
        credits.append(("campaign", config.points_campaign))
    points = 0
    for reason, value in credits:
        if await _credit(r, author.id, value, reason, sub.id, now):
            points += value
    new = [
        code
        for code in reached(facts)
        if await r.badges.award(author.id, code.value, submission_id=sub.id, now=now)
    ]
    return Recognised(author_points=points, badges=tuple(new), referent_points=referent_points)


async def _credit(
    r: Repos, member_id: int, points: int, reason: str, submission_id: int, now: datetime
) -> bool:
    """A ledger row (none for a value set to 0); True when it is new."""
    if points <= 0:
        return False
    return await r.points.credit(
        member_id, points, reason=reason, submission_id=submission_id, now=now
    )


async def announce(
    r: Repos,
    member: MemberView,
    badges: tuple[BadgeCode, ...],
    config: WorkspaceConfig,
    *,
    now: datetime,
) -> None:
    """Queue, for each new badge, the DM to the person and, when they agreed, the post in
    the digest channel (after the decision's own DM, so it reads first)."""
    for code in badges:
        await _announce(r, member, code, config, now)


async def _announce(
    r: Repos, member: MemberView, code: BadgeCode, config: WorkspaceConfig, now: datetime
) -> None:
    # The badge row is new, so these keys are too; checked anyway, as a duplicate key
    # would undo the decision itself.
    key = f"badge:{member.id}:{code.value}"
    if not await r.outbox.has_dedupe_key(key):
        message = cards.badge_dm(translator(member.locale), code, public=member.badges_public)
        await notify.dm(r, member, message, now=now, dedupe_key=key)
    key = f"badge_post:{member.id}:{code.value}"
    if member.badges_public and config.digest_channel and not await r.outbox.has_dedupe_key(key):
        ws = await r.workspaces.get(member.workspace_id)
        await notify.channel_post(
            r,
            workspace_id=member.workspace_id,
            platform=member.platform.value,
            channel=config.digest_channel,
            message=cards.badge_post(translator(ws.locale), member, code),
            now=now,
            dedupe_key=key,
        )
