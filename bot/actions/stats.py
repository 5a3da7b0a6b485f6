"""The CM's numbers and content: ``/relais stats``, ``/relais export`` and
``/relais library``.

Who sees what is declared here: the workspace's numbers for CMs (and admins), a
referent's site (the one named after ``stats`` when they relay several, else the first
they relay), an ambassador's own numbers for everyone else allowed in.
"""

from __future__ import annotations

from bot import cards
from bot.actions.table import ActionName, Permission, Request, action
from bot.links import public_base
from bot.ui import Reply
from domain import Role, StatsView, site_key

STATS = Permission.of(Role.CM, Role.AMBASSADOR)
EXPORT = Permission.of(Role.CM)


async def _view(request: Request) -> tuple[StatsView, int | None, str]:
    """(view, site id, site name) for the member asking."""
    member = request.member
    if member.has(Role.CM):
        return StatsView.WORKSPACE, None, ""
    if member.referent_sites:
        names = dict(await request.core.sites.names(member.workspace_id))
        relayed = sorted((names[s], s) for s in member.referent_sites if s in names)
        asked = site_key(request.value)
        chosen = next((pair for pair in relayed if site_key(pair[0]) == asked), None)
        if relayed:
            name, site_id = chosen or relayed[0]
            return StatsView.SITE, site_id, name
    return StatsView.OWN, None, ""


@action(ActionName.STATS, STATS, words=("stats", "chiffres", "statistiques"))
async def stats(request: Request) -> Reply:
    """The figures as the reply; the 12-week chart by direct message (drawn in a thread)."""
    service, member, t = request.core.stats, request.member, request.t
    view, site_id, site_name = await _view(request)
    own = member.id if view is StatsView.OWN else None
    figures = await service.compute(member.workspace_id, view, author_id=own, site_id=site_id)
    await service.send_chart(member, figures)
    message = cards.stats_message(t, figures, site=site_name)
    follows = cards.notice(t("stats.chart_follows"))
    return Reply(message=cards.joined(message, follows, text=message.text))


@action(ActionName.EXPORT, EXPORT, words=("export", "exporter"))
async def export(request: Request) -> Reply:
    """Two CSV files by direct message: the figures and every submission."""
    await request.core.stats.export(request.member)
    return Reply(message=cards.notice(request.t("export.sent")))


@action(
    ActionName.LIBRARY,
    Permission.of(Role.CM),
    words=("library", "bibliotheque", "bibliothèque", "phototheque", "photothèque"),
)
async def library(request: Request) -> Reply:
    """A link, valid two hours, to the library of approved photos (``GET /library/...``)."""
    core, member, t = request.core, request.member, request.t
    token = core.library_links.token(member.workspace_id, member.id, member.locale)
    url = f"{public_base(core.settings)}/library/{token}"
    hours = core.library_links.ttl // 3600
    return Reply(
        message=cards.library_message(t, url, hours, public=bool(core.settings.public_url))
    )
