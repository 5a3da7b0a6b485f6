"""Consent of the people in a photo through the wire: Slack (the form's multi-user select,
the DM to the colleague named at the local Slack server, their Agree click updating the
review card), Teams (the people picker in the form card, the request card and an Agree
invoke) and the console (names typed, an unknown one refused on its field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.console.app import ConsoleApp
from bot.core import Core
from domain import ConsentState
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, buttons, texts
from tests.support import jpeg_bytes, stored
from tests.test_console import Terminal, console_core
from tests.test_slack import fake, join, rig
from tests.test_stats_platforms import teams_rig
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


def _dm(rig: SlackRig, user: str) -> list[dict[str, Any]]:
    return rig.posts_to(user) + rig.posts_to(f"D{user}")


async def test_slack_people_picker_dm_and_agree_updates_the_card(
    rig: SlackRig, fake: FakeSlack
) -> None:
    await join(rig, "UAMB")
    assert (await rig.command("UAMB", "/submit", "Team lunch")).status == 200
    form = await rig.opened_view(2)
    blocks = {b["block_id"]: b for b in form["blocks"] if b.get("type") == "input"}
    assert blocks["people"]["element"]["type"] == "multi_users_select"
    appears = blocks["appears"]["element"]
    assert appears["type"] == "static_select" and "initial_option" not in appears
    # Optional in the modal (field news has no photo), checked before the ack with photos.
    assert blocks["appears"]["optional"] is True
    photo = fake.add_file("FLUNCH", jpeg_bytes((9, 80, 200)), name="lunch.jpg", user="UAMB")
    # Colleagues, nobody picked: the modal stays open with the field marked.
    answer = await (
        await rig.submit("UAMB", form, {"appears": "colleagues", "photos": [photo]})
    ).json()
    assert answer == {
        "response_action": "errors",
        "errors": {"people": "Pick the colleagues who appear in the photos (other than you)."},
    }
    values = {"appears": "colleagues", "people": ["UBEA"], "photos": [photo]}
    answer = await (await rig.submit("UAMB", form, values, view_id="VLUNCH")).json()
    assert answer["response_action"] == "update", answer
    await fake.wait_for(lambda: rig.posts_to(REVIEW) and _dm(rig, "UBEA"))
    card = rig.posts_to(REVIEW)[0]
    assert "UBEA" in texts(card["blocks"]) or "Bea" in texts(card["blocks"])
    assert "waiting" in texts(card["blocks"])
    assert "review.approve_internal" in buttons(card["blocks"])
    # Bea's DM: the photo (uploaded from the store), who sent it, Agree / Decline.
    (request,) = _dm(rig, "UBEA")
    assert any(b["type"] == "image" for b in request["blocks"])
    assert "sent a photo you appear in" in texts(request["blocks"])
    agree = buttons(request["blocks"])["consent.agree"]
    # Someone else's click is refused; Bea's is recorded and the card changes in place.
    refused = await rig.click("UAMB", agree, channel=None)
    assert refused.status == 200
    assert (await stored(rig.core, 1)).consents[0].state is ConsentState.PENDING
    assert (await rig.click("UBEA", agree, channel=None)).status == 200
    await fake.wait_for(lambda: fake.calls_to("chat.update"))
    await fake.wait_for(
        lambda: any("agreed" in texts(c.params["blocks"]) for c in fake.calls_to("chat.update"))
    )
    assert (await stored(rig.core, 1)).consents[0].state is ConsentState.AGREED


async def test_teams_people_picker_request_card_and_agree(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    # Bob has talked to Relais: the people picker hands over his Entra ID object id.
    bob = rig.bf.personal_conversation_id("29:bob")
    await rig.send(rig.bf.personal_message("help", user_id="29:bob", aad="aad-bob", name="Bob"))
    await rig.wait_card(bob, 1)
    form = await send_photo(rig, "Team lunch", "img-lunch")
    picker = [
        e
        for e in _elements(form)
        if e.get("type") == "Input.ChoiceSet" and e.get("id", "").endswith("people")
    ]
    assert picker and picker[0]["choices.data"]["dataset"] == "graph.microsoft.com/users"
    submit = executes(form)["submission.create"]
    invoke = rig.bf.invoke_adaptive_card_action(
        "submission.create",
        {**submit["data"], "caption": "Team lunch", "appears": "colleagues", "people": "aad-bob"},
    )
    assert (await rig.send(invoke)).status == 200
    card = await rig.review_card()
    assert "Bob" in runs(card) and "waiting" in runs(card)
    assert "review.approve_internal" in executes(card)
    request = await rig.wait_card(bob, 2)
    assert "sent a photo you appear in" in runs(request)
    agree = executes(request)["consent.agree"]
    answer = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "consent.agree", agree["data"], user_id="29:bob", aad="aad-bob", name="Bob"
        )
    )
    assert answer.status == 200
    await rig.bf.wait_for(lambda: rig.bf.updated.get(card["_id"]))
    updated = rig.bf.history(card["_id"])[-1]["attachments"][0]["content"]
    assert "agreed" in runs(updated)
    # The review card's Approve now clears it for outside use too.
    assert "review.approve_internal" not in executes(updated)


def _elements(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            out += _elements(value)
    elif isinstance(node, list):
        for item in node:
            out += _elements(item)
    return out


async def test_console_names_colleagues_and_refuses_unknown_ones(
    core: Core, tmp_path: Path
) -> None:
    picture = tmp_path / "lunch.jpg"
    picture.write_bytes(jpeg_bytes())
    term = Terminal(
        [
            "/as bob",
            "/relais help",  # Bob is a member of the workspace now
            "/as alice",
            "/relais join",
            "y",
            "/submit Team lunch",
            str(picture),
            "",  # no title
            "",
            "",  # no link
            "2",  # colleagues
            "@bob, zed",
            "n",
            "n",
            "y",
            "bob",  # only the people field is asked again
            "y",
            "/as bob",
            "/relais consent",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert (
        "! Colleagues in the photos (each will be asked): Not found in this workspace: zed." in out
    )
    assert "Thanks! Submission #1 is sent for review." in out
    assert "DM to bob" in out and "sent a photo you appear in" in out
    assert "your answer: waiting" in out
    sub = await stored(core, 1)
    assert [(c.name, c.state) for c in sub.consents] == [("Bob", ConsentState.PENDING)]
