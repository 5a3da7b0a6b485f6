"""The CM's numbers: ``/relais stats`` and ``/relais export``.

Who sees what is declared here: the workspace's numbers for CMs (and admins), an
ambassador's own numbers for everyone else allowed in. A referent's site view
(``StatsView.SITE``, already computed by ``StatsService.compute(site_id=...)``) is to be
offered here once referents exist: one more branch in ``_view``.
"""

from __future__ import annotations

from bot import cards
from bot.actions.table import ActionName, Permission, Request, action
from bot.ui import Reply
from domain import Role, StatsView

STATS = Permission.of(Role.CM, Role.AMBASSADOR)
EXPORT = Permission.of(Role.CM)


def _view(request: Request) -> StatsView:
    return StatsView.WORKSPACE if request.member.has(Role.CM) else StatsView.OWN


@action(ActionName.STATS, STATS, words=("stats", "chiffres", "statistiques"))
async def stats(request: Request) -> Reply:
    """The figures as the reply; the 12-week chart by direct message (drawn in a thread)."""
    service, member, t = request.core.stats, request.member, request.t
    view = _view(request)
    own = member.id if view is StatsView.OWN else None
    figures = await service.compute(member.workspace_id, view, author_id=own)
    await service.send_chart(member, figures)
    message = cards.stats_message(t, figures)
    follows = cards.notice(t("stats.chart_follows"))
    return Reply(message=cards.joined(message, follows, text=message.text))


@action(ActionName.EXPORT, EXPORT, words=("export", "exporter"))
async def export(request: Request) -> Reply:
    """Two CSV files by direct message: the figures and every submission."""
    await request.core.stats.export(request.member)
    return Reply(message=cards.notice(request.t("export.sent")))
