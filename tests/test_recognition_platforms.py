"""Recognition through the wire: ``/relais leaderboard`` and the Thank button on Slack
(signed requests to the real adapter, FakeSlack's Web API), Teams (Bot Connector
activities, the local connector) and the console."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from adapters.console.app import ConsoleApp
from bot.core import Core
from storage.db import Database
from storage.models import Thanks
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, buttons, texts
from tests.support import count_rows, jpeg_bytes
from tests.test_console import Terminal, console_core
from tests.test_slack import card_ref, fake, join, rig, submit_photo
from tests.test_stats_platforms import teams_rig
from tests.test_teams import (
    REVIEW as TEAMS_REVIEW,
)
from tests.test_teams import (
    TeamsRig,
    bf,
    executes,
    install,
    runs,
    send_photo,
)
from tests.test_teams import join as teams_join

__all__ = ["bf", "fake", "rig", "teams_rig"]

HOSTILE = "<!channel> *great* <@U1> &amp;"


# -- Slack -------------------------------------------------------------------------------


async def _slack_approved(rig: SlackRig) -> tuple[str, str, dict[str, Any]]:
    """Ana's photo approved by Carla: (channel, ts, the decided card's Thank button)."""
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "Market day", "FT1")
    channel, ts = card_ref(rig)
    assert (await rig.click("UCM1", buttons(card["blocks"])["review.approve"], message_ts=ts)).ok
    await rig.fake.wait_for(lambda: len(rig.fake.message_history(channel, ts)) >= 2)
    decided = rig.fake.message_history(channel, ts)[-1]
    return channel, ts, buttons(decided["blocks"])["review.thank"]


def _approved(rig: SlackRig, user: str) -> bool:
    return any("was approved" in texts(p["blocks"]) for p in rig.posts_to(user))


def _thank_dms(rig: SlackRig) -> list[dict[str, Any]]:
    return [p for p in rig.posts_to("UAMB") if "thanks you" in texts(p["blocks"])]


async def test_slack_thank_opens_a_note_and_reaches_the_author_once(
    rig: SlackRig, fake: FakeSlack, db: Database
) -> None:
    channel, ts, thank = await _slack_approved(rig)
    opened = len(fake.calls_to("views.open"))
    assert (await rig.click("UCM1", thank, message_ts=ts)).status == 200
    form = await rig.opened_view(opened + 1)
    assert form["callback_id"] == "review.thank"
    note = next(b for b in form["blocks"] if b.get("block_id") == "note")
    assert note["element"]["initial_value"] == "Thank you for this photo!"
    # Two submissions of the form at once, and a second CM's: one thank-you.
    answers = await asyncio.gather(
        rig.submit("UCM1", form, {"note": HOSTILE}),
        rig.submit("UCM1", form, {"note": HOSTILE}),
        rig.submit("UCM2", form, {"note": "me too"}),
    )
    assert [a.status for a in answers] == [200, 200, 200]
    await fake.wait_for(lambda: _thank_dms(rig))
    await fake.wait_for(
        lambda: "Thanked by" in texts(fake.message_history(channel, ts)[-1]["blocks"])
    )
    await asyncio.sleep(0.3)
    [dm] = _thank_dms(rig)
    assert HOSTILE in texts(dm["blocks"]), "the note is shown literally"
    assert '"mrkdwn"' not in json.dumps(dm["blocks"]) and dm["mrkdwn"] is False
    assert "<!channel>" not in dm["text"]
    assert await count_rows(db, Thanks) == 1
    decided = fake.message_history(channel, ts)[-1]
    assert "review.thank" not in buttons(decided["blocks"])
    # A later click on a card that still shows the button: told who thanked, no form.
    assert (await rig.click("UCM2", thank, message_ts=ts)).status == 200
    await fake.wait_for(
        lambda: any("already thanked" in texts(e["blocks"]) for e in fake.ephemerals)
    )
    assert len(fake.calls_to("views.open")) == opened + 1
    assert len(_thank_dms(rig)) == 1


async def test_slack_leaderboard_is_plain_text_and_hides_who_asked(
    rig: SlackRig, fake: FakeSlack
) -> None:
    fake.add_user("UHOST", name="hostile", real_name=HOSTILE, display_name=HOSTILE, locale="en-US")
    for user, file_id in (("UAMB", "FL1"), ("UHOST", "FL2"), ("UOTHER", "FL3")):
        await join(rig, user)
        card = await submit_photo(rig, user, f"Photo of {user}", file_id)
        approve = buttons(card["blocks"])["review.approve"]
        assert (await rig.click("UCM1", approve)).status == 200
    await fake.wait_for(lambda: sum(_approved(rig, u) for u in ("UAMB", "UHOST", "UOTHER")) == 3)
    assert (await rig.command("UOTHER", "/relais", "config me leaderboard off")).status == 200
    reply = await (await rig.command("UAMB", "/relais", "leaderboard")).json()
    shown = texts(reply["blocks"])
    # Each approval earned the same points, whatever the workspace's values are.
    found = re.search(r"Ana Field \(you\) — (\d+) points", shown)
    assert "Leaderboard — " in shown and found, shown
    points = int(found.group(1))
    assert f"{HOSTILE} — {points} points" in shown, "a name is shown literally"
    assert '"mrkdwn"' not in json.dumps(reply["blocks"])
    assert "Olive" not in shown and f"…and 1 other person (points: {points})" in shown
    # Lyon: two names only, so totals.
    lyon = texts(
        (await (await rig.command("UAMB", "/relais", "classement tout lyon")).json())["blocks"]
    )
    assert "3 people contributed" in lyon and "Ana Field" not in lyon
    own = texts((await (await rig.command("UOTHER", "/relais", "leaderboard")).json())["blocks"])
    assert f"Olive Other (you) — {points} points (only you see this line" in own


# -- Teams -------------------------------------------------------------------------------


CARLA = {"user_id": "29:carla", "aad": "aad-carla", "name": "Carla CM"}


async def test_teams_thank_in_the_card_reaches_the_author_once(
    teams_rig: TeamsRig, db: Database
) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    form = await send_photo(rig, "Market day", "img-thanks")
    await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create",
            {**executes(form)["submission.create"]["data"], "appears": "nobody"},
        )
    )
    card = await rig.review_card()
    approve = executes(card)["review.approve"]["data"]
    invoke = rig.bf.invoke_adaptive_card_action(
        "review.approve", approve, conversation_id=TEAMS_REVIEW, **CARLA
    )
    assert (await rig.send(invoke)).status == 200
    await rig.bf.wait_for(lambda: rig.bf.updated.get(card["_id"]))
    decided = rig.bf.history(card["_id"])[-1]["attachments"][0]["content"]
    thank = executes(decided)["review.thank"]["data"]
    # The click answers with the note, ready to send, in the card.
    answer = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "review.thank", thank, conversation_id=TEAMS_REVIEW, **CARLA
        )
    )
    assert answer.status == 200, answer.text
    note_card = answer.json()["value"]
    assert "Thank you for this photo!" in json.dumps(note_card)
    send = executes(note_card)["review.thank"]["data"]
    clicks = [
        rig.bf.invoke_adaptive_card_action(
            "review.thank",
            {**send, "note": HOSTILE},
            conversation_id=TEAMS_REVIEW,
            **CARLA,
        )
        for _ in range(2)
    ]
    answers = await asyncio.gather(*(rig.send(c) for c in clicks))
    assert [a.status for a in answers] == [200, 200]
    said = [a.json()["value"] for a in answers]
    assert sum("already thanked" in s for s in said) == 1, said
    alice = rig.bf.personal_conversation_id("29:alice")

    def thanks() -> list[dict[str, Any]]:
        return [c for c in rig.cards_to(alice) if "thanks you" in runs(c)]

    await rig.bf.wait_for(thanks)
    await rig.bf.wait_for(lambda: "Thanked by Carla CM" in runs(rig.bf.history(card["_id"])[-1]))
    await asyncio.sleep(0.3)
    [dm] = thanks()
    assert HOSTILE in runs(dm)  # a text run: never markdown
    assert await count_rows(db, Thanks) == 1


async def test_teams_leaderboard_is_a_word_typed_to_the_bot(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    alice = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(alice))
    await rig.send(rig.bf.personal_message("leaderboard all", user_id="29:alice", aad="aad-alice"))
    board = await rig.wait_card(alice, before + 1)
    assert "Leaderboard — all time" in runs(board)
    assert "No points yet for this period." in runs(board)
    await rig.send(
        rig.bf.personal_message("leaderboard Atlantis", user_id="29:alice", aad="aad-alice")
    )
    refused = await rig.wait_card(alice, before + 2)
    assert "No site called Atlantis" in runs(refused)


# -- console -----------------------------------------------------------------------------


async def test_console_thank_and_leaderboard(core: Core, tmp_path: Path) -> None:
    picture = tmp_path / "market.jpg"
    picture.write_bytes(jpeg_bytes())
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/as alice",
            "/submit Market day",
            "Lyon",
            "y",  # site, accept the charter
            f"'{picture}'",
            "",
            "",
            "",
            "",
            "1",
            "",
            "",
            "n",
            "y",  # photos, title, caption kept, link, site, who appears (nobody), colleagues,
            # outside agreement, sensitive, send
            "/as cm1",
            "1",  # Approve
            "6",  # Thank, on the updated card
            "Bravo for this one!",
            "y",
            "6",  # again: already thanked
            "/as alice",
            "/relais leaderboard",
            "/relais classement tout lyon",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "[6] Thank" in out
    assert "Your note (sent to the author once) [Thank you for this photo!]:" in out
    assert "Your thanks were sent to Alice (#1)." in out
    assert out.count("Cm1 thanks you for your submission #1!") == 1
    assert "Their note: Bravo for this one!" in out
    assert "(Thanked by Cm1 on" in out
    assert "The author of #1 was already thanked by Cm1 on" in out
    found = re.search(r"LEADERBOARD — NOVEMBER 2026\n1\. Alice \(you\) — (\d+) points", out)
    assert found, out
    assert "CLASSEMENT — LYON, DEPUIS LE DÉBUT" not in out  # alice reads English
    assert f"LEADERBOARD — LYON, ALL TIME\n1 person contributed — points: {found.group(1)}" in out
