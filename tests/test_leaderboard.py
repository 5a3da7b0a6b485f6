"""``/relais leaderboard`` in the core: each privacy rule on its own, from a seeded points
ledger.

Every test here runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.actions import handle_command
from bot.core import Core
from domain import LEADERBOARD_TOP, MemberView, Platform
from tests.support import (
    ambassador,
    member,
    text_of,
)

# The fixture clock: Friday 20 November 2026, 10:00 in Paris (the workspace timezone).
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=2)


async def credit(
    core: Core, who: MemberView, points: int, at: datetime = EARLIER, reason: str = "approved"
) -> None:
    """A ledger row, as an approval (or any other reason) writes it."""
    async with core.db.transaction() as r:
        await r.points.credit(who.id, points, reason=reason, submission_id=None, now=at)


async def board(core: Core, who: MemberView, args: str = "") -> str:
    reply = await handle_command(core, who, "/relais", f"leaderboard {args}".strip())
    assert not reply.failed, reply
    assert reply.message is not None
    return text_of(reply.message)


async def hide(core: Core, who: MemberView) -> None:
    reply = await handle_command(core, who, "/relais", "config me leaderboard off")
    assert not reply.failed, reply


# -- the leaderboard ---------------------------------------------------------------------


async def test_month_starts_at_midnight_in_the_workspace_timezone(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    cy = await ambassador(core, "cy", "Cy")
    # 1 November 00:30 in Paris is still 31 October in UTC: this month.
    await credit(core, ana, 10, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    # 31 October 23:59 in Paris: last month.
    await credit(core, bo, 30, datetime(2026, 10, 31, 22, 59, tzinfo=UTC))
    await credit(core, cy, 5, EARLIER)
    month = await board(core, cy)
    assert "Leaderboard — November 2026" in month
    assert "1. Ana — 10 points" in month and "2. Cy (you) — 5 points" in month
    assert "Bo" not in month
    # ``month`` says the same; ``all`` counts everything, best first.
    assert await board(core, cy, "month") == month
    everything = await board(core, cy, "all")
    assert "Leaderboard — all time" in everything
    assert everything.index("1. Bo — 30 points") < everything.index("2. Ana — 10 points")
    # Next month (1 December 00:00 in Paris), November's points no longer count.
    core.clock = lambda: datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # type: ignore[method-assign]
    assert "No points yet for this period." in await board(core, cy)


async def test_french_words_and_french_text(core: Core) -> None:
    luc = await ambassador(core, "luc", "Luc", locale="fr")
    await credit(core, luc, 1)
    await credit(core, luc, 20, datetime(2025, 5, 1, tzinfo=UTC))
    mois = await board(core, luc, "mois")
    assert "Classement — novembre 2026" in mois and "1. Luc (vous) — 1 point" in mois
    tout = await board(core, luc, "tout")
    assert "Classement — depuis le début" in tout and "1. Luc (vous) — 21 points" in tout
    reply = await handle_command(core, luc, "/relais", "classement tout")
    assert text_of(reply.message) == tout  # type: ignore[arg-type]


async def test_ties_go_to_whoever_reached_the_total_first(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    cy = await ambassador(core, "cy", "Cy")
    # Bo reached 20 before Ana (their last credit is earlier), whatever the alphabet.
    await credit(core, ana, 20, EARLIER + timedelta(hours=2))
    await credit(core, bo, 10, EARLIER - timedelta(hours=5))
    await credit(core, bo, 10, EARLIER)
    # Same points at the same moment: who joined first (Ana before Cy).
    await credit(core, cy, 5, EARLIER)
    await credit(core, ana, 0, EARLIER)
    text = await board(core, ana)
    assert text.index("1. Bo — 20") < text.index("2. Ana (you) — 20") < text.index("3. Cy — 5")
    dan = await ambassador(core, "dan", "Dan")
    await credit(core, dan, 5, EARLIER)
    text = await board(core, ana)
    assert text.index("3. Cy — 5") < text.index("4. Dan — 5")


async def test_top_ten_then_the_readers_own_line(core: Core) -> None:
    people = [await ambassador(core, f"u{i:02}", f"Person {i:02}") for i in range(13)]
    for i, who in enumerate(people):
        await credit(core, who, 100 - i)
    last = people[-1]
    text = await board(core, last)
    for i in range(LEADERBOARD_TOP):
        assert f"{i + 1}. Person {i:02} — {100 - i} points" in text
    assert "Person 10 " not in text and "Person 11" not in text
    assert "…and 3 other people (points: 267)" in text
    assert "13. Person 12 (you) — 88 points" in text
    assert "only you see" not in text
    # Someone in the top ten finds their line marked, no second line.
    text = await board(core, people[2])
    assert "3. Person 02 (you) — 98 points" in text and text.count("(you)") == 1


async def test_rule_a_a_hidden_member_is_never_named_to_others(core: Core) -> None:
    """Privacy rule (a): off the leaderboard by name, still counted."""
    hana = await ambassador(core, "hana", "Hana")
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    await credit(core, hana, 50)
    await credit(core, ana, 20)
    await credit(core, bo, 10)
    await hide(core, hana)
    for reader in (ana, bo):
        for args in ("", "all", "Lyon"):
            text = await board(core, reader, args)
            assert "Hana" not in text
    text = await board(core, ana)
    assert "1. Ana (you) — 20 points" in text and "2. Bo — 10 points" in text
    assert "…and 1 other person (points: 50)" in text
    # Hana sees where she would stand, marked as seen by her only.
    own = await board(core, hana)
    assert "1. Hana (you) — 50 points (only you see this line" in own
    assert "1. Ana — 20 points" in own
    # Showing her name again puts her back in the ranking.
    assert not (await handle_command(core, hana, "/relais", "config me leaderboard on")).failed
    assert "1. Hana — 50 points" in await board(core, ana)


async def test_rule_b_a_site_with_fewer_than_three_names_shows_counts_only(core: Core) -> None:
    """Privacy rule (b): a site board names nobody when fewer than 3 would be named."""
    ana = await ambassador(core, "amb", "Ana", site="Saint-Étienne")
    bo = await ambassador(core, "bo", "Bo", site="Saint-Étienne")
    hana = await ambassador(core, "hana", "Hana", site="Saint-Étienne")
    nantes = [await ambassador(core, f"n{i}", f"Nantais {i}", site="Nantes") for i in range(3)]
    for who, points in ((ana, 20), (bo, 10), (hana, 5), *((n, 7) for n in nantes)):
        await credit(core, who, points)
    await hide(core, hana)
    # Case, accents and spaces aside, like the other commands.
    text = await board(core, ana, "  saint-ETIENNE ")
    assert "Leaderboard — Saint-Étienne, November 2026" in text
    for name in ("Ana", "Bo", "Hana"):
        assert f"{name} —" not in text and f". {name}" not in text
    assert "3 people contributed — points: 35, approved photos: 3" in text
    assert "Fewer than 3 people would be named here" in text
    assert "You: 20 points" in text  # their own total, no rank
    # Three people to name: names.
    text = await board(core, nantes[0], "all Nantes")
    assert "1. Nantais 0 (you) — 7 points" in text and "3. Nantais 2 — 7 points" in text
    # The whole workspace names whoever did not hide, however few.
    assert "1. Ana (you) — 20 points" in await board(core, ana)
    # An unknown site is named back.
    reply = await handle_command(core, ana, "/relais", "leaderboard month Atlantis")
    assert reply.failed and "No site called Atlantis" in text_of(reply.message)  # type: ignore[arg-type]


async def test_rule_c_other_workspaces_never_count(core: Core) -> None:
    """Privacy rule (c): only the reader's workspace's ledger."""
    ana = await ambassador(core, "amb", "Ana")
    stranger = await core.onboarding.identify(
        Platform.CONSOLE, "T-other", "amb", display_name="Stranger"
    )
    await credit(core, ana, 10)
    await credit(core, stranger, 500)
    for args in ("", "all"):
        text = await board(core, ana, args)
        assert "Stranger" not in text and "500" not in text and "other" not in text
    own = await board(core, stranger, "all")
    assert "1. Stranger (you) — 500 points" in own and "Ana" not in own


async def test_rule_d_people_who_left_keep_the_points_they_earned(core: Core) -> None:
    """Rule (d): leaving the programme does not erase the period's points."""
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    await credit(core, ana, 10)
    await credit(core, bo, 5)
    assert not (await handle_command(core, ana, "/relais", "leave")).failed
    assert "1. Ana — 10 points" in await board(core, bo)


async def test_every_ledger_reason_counts_and_photos_are_the_approvals(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana", site="Nantes")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    cy = await ambassador(core, "cy", "Cy", site="Nantes")
    await hide(core, cy)
    await credit(core, ana, 10)
    await credit(core, ana, 25, reason="first")
    await credit(core, bo, 10)
    await credit(core, cy, 10)
    text = await board(core, bo, "Nantes")
    assert "3 people contributed — points: 55, approved photos: 3" in text


async def test_a_newcomer_may_read_it_and_help_lists_it(core: Core) -> None:
    nina = await member(core, "newbie", "Nina")
    assert "No points yet for this period." in await board(core, nina)
    help_text = text_of((await handle_command(core, nina, "/relais", "help")).message)  # type: ignore[arg-type]
    assert "/relais leaderboard [month|all] [site]" in help_text
