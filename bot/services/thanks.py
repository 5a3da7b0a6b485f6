"""The Thank button: a CM's personal thank-you for an approved submission reaches its
author once.

The ``thanks`` row (unique per submission) is written with the author's DM (its outbox
dedupe key is the submission's too) and the card updates in one transaction; a second
click, even at the same moment on another replica, finds the row and is told who
thanked, and when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import cards, notify
from bot.errors import AlreadyThanked, InvalidInput, NotAllowed, NotFound
from bot.i18n import translator
from bot.services.review import REVIEWER_ROLES
from bot.services.submissions import load_view
from domain import THANKS_NOTE_MAX, MemberView, Status, SubmissionView

if TYPE_CHECKING:
    from bot.core import Core


def thankable(sub: SubmissionView) -> None:
    """Raise unless ``sub`` may still be thanked: approved, and not thanked yet."""
    if sub.status is not Status.APPROVED:
        raise NotAllowed("error.thank_not_approved", id=sub.id)
    if sub.thanked_at is not None:
        raise AlreadyThanked(id=sub.id, by=sub.thanked_by_name or "?", at=sub.thanked_at)


class Thanks:
    """The CMs' thank-you to the authors of approved submissions."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def thank(self, actor: MemberView, submission_id: int, note: str) -> SubmissionView:
        """Send the author the CM's thank-you (with ``note``), once; the cards then say
        who thanked. A later click raises ``AlreadyThanked`` (who, when)."""
        note = note.strip()
        if len(note) > THANKS_NOTE_MAX:
            raise InvalidInput("error.reason_too_long", field="note", max=THANKS_NOTE_MAX)
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            # Roles come from the database at every action, never from what a button showed.
            actor = await r.members.view(actor.id)
            if not actor.has(*REVIEWER_ROLES):
                raise NotAllowed("error.reviewers_only")
            sub = await load_view(r, submission_id)
            if sub.workspace_id != actor.workspace_id:
                raise NotFound("error.submission_not_found", id=submission_id)
            if sub.author.id == actor.id:
                raise NotAllowed("error.own_submission")
            thankable(sub)
            if not await r.thanks.add(submission_id, by_id=actor.id, note=note, now=now):
                # Another click committed first (its row is visible now).
                thankable(await load_view(r, submission_id))
                raise AlreadyThanked(id=submission_id, by="?", at=now)
            after = await load_view(r, submission_id)
            author_t = translator(after.author.locale)
            await notify.dm(
                r,
                after.author,
                cards.thanks_dm(author_t, after, actor.display_name, note),
                now=now,
                dedupe_key=f"thanks:{submission_id}",
            )
            await self.core.submissions.update_cards(r, after)
        self.core.outbox_changed()
        return after
