"""``/relais leaderboard`` with its privacy rules.

The leaderboard sums the points ledger (whatever the reason of a credit) per member of
the reader's workspace, over this calendar month in the workspace timezone or over all
time, optionally for the members of one site (the site a member belongs to now). Best
first: more points, then whoever reached their total first (their last credit of the
period came earlier), then whoever joined first. Privacy, each rule tested on its own:

- a member who hid their name (``/relais config me leaderboard off``) is never named to
  anyone else: they are counted in the "and N others" line and in the totals, and see
  their own line marked as seen by them only;
- a site's leaderboard names nobody when fewer than ``LEADERBOARD_MIN_NAMED`` people
  would be named: it shows the number of contributors and the totals only;
- the ledger is read through the members of the reader's workspace: another
  workspace's points never count;
- people who left the programme keep their line for the period: they earned the
  points (their preference to hide their name still holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.errors import NotFound
from bot.services.stats import local_midnight
from domain import (
    LEADERBOARD_MIN_NAMED,
    LEADERBOARD_TOP,
    SITE_NAME_MAX,
    Leaderboard,
    LeaderboardPeriod,
    LeaderLine,
    MemberView,
)
from storage.repositories.leaderboard import Contribution

if TYPE_CHECKING:
    from bot.core import Core


def month_start(now: datetime, tz: str) -> date:
    """The first day of the calendar month holding ``now`` in timezone ``tz``."""
    return now.astimezone(ZoneInfo(tz)).date().replace(day=1)


def _line(rank: int, c: Contribution) -> LeaderLine:
    return LeaderLine(rank, c.member_id, c.name, c.points, c.photos, c.hidden)


def rank(
    rows: Sequence[Contribution],
    *,
    reader_id: int,
    period: LeaderboardPeriod,
    month: date | None,
    site_name: str = "",
) -> Leaderboard:
    """What ``reader_id`` may see of ``rows`` (best first): the privacy rules, applied."""
    named = [c for c in rows if not c.hidden]
    # A site's board with too few people to name shows counts only (rule b).
    counts_only = bool(site_name) and len(named) < LEADERBOARD_MIN_NAMED
    total = sum(c.points for c in rows)
    mine = next((c for c in rows if c.member_id == reader_id), None)
    lines: tuple[LeaderLine, ...] = ()
    own: LeaderLine | None = None
    if counts_only:
        own = _line(0, mine) if mine else None
    else:
        ranked = [_line(i + 1, c) for i, c in enumerate(named)]
        lines = tuple(ranked[:LEADERBOARD_TOP])
        if mine is not None and all(line.member_id != reader_id for line in lines):
            # Visible and beyond the top: their place; hidden: where they would stand
            # among the people named (rule a: only they see this line).
            ahead = sum(1 for c in rows[: rows.index(mine)] if not c.hidden)
            own = _line(ahead + 1, mine)
    return Leaderboard(
        period=period,
        month=month,
        site_name=site_name,
        counts_only=counts_only,
        lines=lines,
        others=len(rows) - len(lines),
        others_points=total - sum(line.points for line in lines),
        contributors=len(rows),
        points=total,
        photos=sum(c.photos for c in rows),
        reader_id=reader_id,
        own=own,
    )


class Leaderboards:
    """What each reader may see of the points ledger."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def view(
        self, reader: MemberView, period: LeaderboardPeriod, site: str = ""
    ) -> Leaderboard:
        """The leaderboard ``reader`` may see; ``site``: a site's name as typed (case,
        accents and spaces ignored), "" for the whole workspace."""
        ws = reader.workspace_id
        config = await self.core.config.recent(ws)
        month = month_start(self.core.clock(), config.timezone)
        monthly = period is LeaderboardPeriod.MONTH
        since = local_midnight(month, config.timezone) if monthly else None
        async with self.core.db.read() as r:
            site_id, site_name = None, ""
            if site.strip():
                found = await r.sites.find(ws, site)
                if found is None:
                    raise NotFound("site.not_found", site=" ".join(site.split())[:SITE_NAME_MAX])
                site_id, site_name = found.id, found.name
            rows = await r.leaderboard.contributions(ws, since=since, site_id=site_id)
        return rank(
            rows,
            reader_id=reader.id,
            period=period,
            month=month if monthly else None,
            site_name=site_name,
        )
