"""Recognition: ``/relais leaderboard`` (everyone; the privacy rules are the service's)
and the Thank button on an approved review card (reviewers, never their own)."""

from __future__ import annotations

from bot import cards
from bot.actions.table import (
    EVERYONE,
    ActionName,
    Author,
    Permission,
    Request,
    Target,
    action,
)
from bot.services.review import REVIEWER_ROLES
from bot.services.thanks import thankable
from bot.ui import Form, Reply
from domain import LeaderboardPeriod

#: A reviewer thanking the author of a submission of their own workspace, not their own.
THANK = Permission.of(*REVIEWER_ROLES, target=Target.SUBMISSION, author=Author.OTHERS)

#: The words of a period, English and French.
PERIODS = {
    "month": LeaderboardPeriod.MONTH,
    "mois": LeaderboardPeriod.MONTH,
    "all": LeaderboardPeriod.ALL,
    "tout": LeaderboardPeriod.ALL,
}


def parse_leaderboard(text: str) -> tuple[LeaderboardPeriod, str]:
    """``[month|all] [site]`` -> (period, site name as typed); this month by default."""
    first, _, rest = text.strip().partition(" ")
    period = PERIODS.get(first.lower())
    if period is None:
        return LeaderboardPeriod.MONTH, text.strip()
    return period, rest.strip()


@action(ActionName.LEADERBOARD, EVERYONE, words=("leaderboard", "classement"))
async def leaderboard(request: Request) -> Reply:
    """The month's (or all-time) leaderboard of the workspace or of one site."""
    period, site = parse_leaderboard(request.value)
    board = await request.core.leaderboard.view(request.member, period, site)
    return Reply(message=cards.leaderboard_message(request.t, board))


async def _thank_form(request: Request) -> Form:
    # Refused before the form when already thanked (who, when) or not approved.
    thankable(request.sub)
    return cards.thank_form(request.t, request.sub)


@action(ActionName.REVIEW_THANK, THANK, form=_thank_form)
async def thank(request: Request) -> Reply:
    """The CM's thank-you, sent to the author once however many clicks."""
    note = str((request.values or {}).get("note") or "")
    sub = await request.core.thanks.thank(request.member, request.sub.id, note)
    text = request.t("thanks.sent", author=sub.author.display_name, id=sub.id)
    return Reply(message=cards.notice(text))
