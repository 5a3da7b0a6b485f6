"""The Teams renderer: neutral UI -> Adaptive Card JSON, and card answers read back."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.teams import render
from adapters.teams.render import (
    CARD_MAX_BYTES,
    card_for_form,
    card_for_message,
    card_size,
    fallback_text,
    labels_for,
    read_submission,
)
from bot import cards
from bot.i18n import translator
from bot.ui import (
    Actions,
    Button,
    ButtonStyle,
    Checkbox,
    Context,
    Fields,
    Form,
    Heading,
    Message,
    Option,
    Paragraph,
    Select,
    TextInput,
)
from domain import Charter, MemberView, Platform, Role, Status, SubmissionView

HOSTILE = "**bold** [x](https://evil) <at>Bob</at> _i_ & <b>"
t = translator("en")
LABELS = labels_for(t, send_photos="Send your photos to Relais in this chat.")
TZ = "Europe/Paris"


def urls(key: str) -> str | None:
    return f"https://relais.example/media/{key}"


def no_urls(key: str) -> None:
    return None


def submission(status: Status = Status.PENDING, **changes: Any) -> SubmissionView:
    author = MemberView(
        id=7,
        workspace_id=1,
        platform=Platform.TEAMS,
        external_id="29:abc",
        display_name=HOSTILE,
        locale="en",
        timezone=None,
        site_id=None,
        roles=frozenset({Role.AMBASSADOR}),
    )
    values: dict[str, Any] = {
        "id": 12,
        "workspace_id": 1,
        "author": author,
        "caption": HOSTILE,
        "status": status,
        "site_name": HOSTILE,
        "campaign_title": None,
        "people_consented": True,
        "sensitive": False,
        "media_keys": ("ab/cdef.jpg", "12/3456.png"),
        "created_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        "decided_by_name": None,
        "decided_at": None,
        "decision_reason": None,
        "revision": 2,
    }
    values.update(changes)
    return SubmissionView(**values)


def walk(node: Any, parent: dict[str, Any] | None = None, key: str = "") -> Iterator[tuple]:
    """(parent element, key, string) for every string in a card."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, node, k)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, parent, key)
    elif isinstance(node, str):
        yield parent, key, node


def elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a ``type`` in a card, depth first."""
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for v in node.values():
            yield from elements(v)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def of_type(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in elements(card) if e["type"] == kind]


def texts(card: dict[str, Any]) -> list[str]:
    return [r["text"] for r in of_type(card, "TextRun")]


def test_hostile_text_only_in_text_runs() -> None:
    card = card_for_message(cards.review_card(t, submission(), TZ), urls, labels=LABELS)
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["msteams"] == {"width": "Full"}
    assert not of_type(card, "TextBlock")
    assert not of_type(card, "FactSet")
    places = {
        (parent.get("type"), key) for parent, key, text in walk(card) if "https://evil" in text
    }
    # Caption, author, site as runs; the author's name in the photos' alt text.
    assert places == {("TextRun", "text"), ("Image", "altText")}
    assert HOSTILE in texts(card)  # the caption, verbatim
    assert texts(card).count(HOSTILE) == 3  # caption, author field, site field
    # No mention entities anywhere: "<at>Bob</at>" stays text.
    assert "entities" not in json.dumps(card)


def test_every_form_and_notice_string_avoids_text_blocks() -> None:
    form = cards.charter_form(t, Charter(1, HOSTILE, None), [(1, HOSTILE)], 1)
    card = card_for_form(
        form, labels=LABELS, notice=cards.notice(HOSTILE), errors={"site": HOSTILE}
    )
    assert not of_type(card, "TextBlock")
    places = {(parent.get("type"), key) for parent, key, text in walk(card) if "evil" in text}
    # Notice, charter text and the error as runs; a site's name as a choice's title (plain
    # text in a ChoiceSet).
    assert places == {("TextRun", "text"), (None, "title")}


def test_text_functions_and_toggle_titles_are_defused() -> None:
    card = card_for_message(
        Message("x", (Paragraph("on {{DATE(2017-02-14T06:08:00Z, SHORT)}}"),)), urls
    )
    assert texts(card) == ["on {\u200b{DATE(2017-02-14T06:08:00Z, SHORT)}}"]
    form = Form("a", "T", "Go", (Checkbox("ok", "**really** [x](https://evil)"),))
    (toggle,) = of_type(card_for_form(form, labels=LABELS), "Input.Toggle")
    assert toggle["title"] == r"\*\*really\*\* \[x\](https://evil)"


def test_blocks_map_to_rich_text() -> None:
    message = Message(
        "Note",
        (
            Heading("Title"),
            Paragraph("line 1\nline 2"),
            Fields((("Site", "Lyon"), ("Points", "3"))),
            Context("small print"),
        ),
    )
    card = card_for_message(message, urls)
    heading, paragraph, row1, row2, context = card["body"]
    assert heading == {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": "Title", "weight": "Bolder", "size": "Medium"}],
    }
    assert paragraph["inlines"] == [{"type": "TextRun", "text": "line 1\nline 2"}]
    assert row1["type"] == "ColumnSet"
    assert [texts(c) for c in row1["columns"]] == [["Site"], ["Lyon"]]
    assert [texts(c) for c in row2["columns"]] == [["Points"], ["3"]]
    assert context["inlines"][0]["isSubtle"] is True
    assert "actions" not in card
    assert fallback_text(message) == "Note"


def test_long_paragraphs_are_split() -> None:
    text = ("word " * 1000).strip()  # 4999 characters
    card = card_for_message(Message("x", (Paragraph(text),)), urls)
    parts = texts(card)
    assert len(parts) == 3
    assert all(len(p) <= 2000 for p in parts)
    assert "".join(parts) == text


def test_review_buttons_are_execute_actions_with_submit_fallback() -> None:
    card = card_for_message(cards.review_card(t, submission(), TZ), urls, labels=LABELS)
    approve, reject, changes, escalate = card["actions"]
    assert approve == {
        "type": "Action.Execute",
        "title": "Approve",
        "verb": "review.approve",
        "data": {"action": "review.approve", "value": "12:2"},
        "style": "positive",
        "fallback": {
            "type": "Action.Submit",
            "title": "Approve",
            "data": {"action": "review.approve", "value": "12:2"},
            "style": "positive",
        },
    }
    assert escalate["type"] == "Action.Execute"
    assert escalate["verb"] == "review.escalate"
    assert "style" not in escalate
    assert escalate["fallback"]["data"] == escalate["data"]
    assert reject["type"] == changes["type"] == "Action.ShowCard"
    assert reject["style"] == "destructive"
    # Buttons are never cut by text processing.
    assert not of_type(card, "ActionSet")


def test_reject_collects_the_reason_in_the_card() -> None:
    card = card_for_message(cards.review_card(t, submission(), TZ), urls, labels=LABELS)
    reject, changes = card["actions"][1:3]
    (reason,) = reject["card"]["body"]
    assert reason == {
        "type": "Input.Text",
        "id": "reason",
        "label": t("field.reason"),
        "isMultiline": True,
        "maxLength": 1000,
        "isRequired": True,
        "errorMessage": t("error.reason_required"),
    }
    (confirm,) = reject["card"]["actions"]
    assert confirm["type"] == "Action.Execute"
    assert confirm["title"] == "Confirm"
    assert confirm["verb"] == "review.reject"
    assert confirm["data"] == {"action": "review.reject", "value": "12:2"}
    assert confirm["fallback"]["type"] == "Action.Submit"
    assert confirm["fallback"]["data"] == confirm["data"]
    # The second reason input has its own id (ids are unique in a card) ...
    (other,) = changes["card"]["body"]
    assert other["label"] == t("field.changes")
    assert other["id"] != "reason"
    ids = [e["id"] for e in elements(card) if e["type"].startswith("Input.")]
    assert len(ids) == len(set(ids))
    # ... and reads back as "reason".
    sent = {"action": {"type": "Action.Execute", "verb": "review.changes"}, "trigger": "manual"}
    sent["action"]["data"] = {**changes["card"]["actions"][0]["data"], other["id"]: "Crop it"}
    assert read_submission(sent) == ("review.changes", "12:2", {"reason": "Crop it"})


def test_decided_card_has_no_decision_buttons() -> None:
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    rejected = submission(Status.REJECTED, decided_by_name="Carla", decided_at=at)
    card = card_for_message(cards.review_card(t, rejected, TZ), urls, labels=LABELS)
    assert "actions" not in card and "Action.Execute" not in json.dumps(card)
    assert any("Rejected by Carla" in text for text in texts(card))
    # Approved: only the Thank button is left, until the author is thanked.
    approved = submission(Status.APPROVED, decided_by_name="Carla", decided_at=at)
    card = card_for_message(cards.review_card(t, approved, TZ), urls, labels=LABELS)
    assert any("Approved by Carla" in text for text in texts(card))
    assert re.findall(r'"verb": "([^"]+)"', json.dumps(card)) == ["review.thank"]
    thanked = replace(approved, thanked_by_name=HOSTILE, thanked_at=at)
    card = card_for_message(cards.review_card(t, thanked, TZ), urls, labels=LABELS)
    assert "Action.Execute" not in json.dumps(card)
    assert any(f"Thanked by {HOSTILE} on" in text for text in texts(card))


def test_images_use_the_given_url_and_are_skipped_without_one() -> None:
    message = cards.review_card(t, submission(), TZ)
    images = of_type(card_for_message(message, urls, labels=LABELS), "Image")
    assert images == [
        {
            "type": "Image",
            "url": "https://relais.example/media/ab/cdef.jpg",
            "altText": t("card.photo_alt", n=1, author=HOSTILE),
            "size": "Large",
        },
        {
            "type": "Image",
            "url": "https://relais.example/media/12/3456.png",
            "altText": t("card.photo_alt", n=2, author=HOSTILE),
            "size": "Large",
        },
    ]
    assert not of_type(card_for_message(message, no_urls, labels=LABELS), "Image")
    only_first = card_for_message(
        message, lambda key: urls(key) if key.endswith(".jpg") else None, labels=LABELS
    )
    assert [i["url"] for i in of_type(only_first, "Image")] == [
        "https://relais.example/media/ab/cdef.jpg"
    ]


def test_buttons_between_blocks_stay_in_place() -> None:
    message = Message(
        "x",
        (
            Paragraph("before"),
            Actions((Button("One", "a.one", "1"),)),
            Paragraph("after"),
            Actions((Button("Two", "a.two", "2", ButtonStyle.DANGER),)),
        ),
    )
    card = card_for_message(message, urls)
    assert [e["type"] for e in card["body"]] == ["RichTextBlock", "ActionSet", "RichTextBlock"]
    assert card["body"][1]["actions"][0]["verb"] == "a.one"
    assert [a["verb"] for a in card["actions"]] == ["a.two"]
    assert card["actions"][0]["style"] == "destructive"


def submission_form(**kwargs: Any) -> Form:
    return cards.submission_form(
        t,
        caption=HOSTILE,
        sites=[(1, "Lyon"), (2, "Paris")],
        site_id=2,
        campaigns=[(5, "Spring")],
        **kwargs,
    )


def test_form_inputs() -> None:
    card = card_for_form(submission_form(value="k1"), labels=LABELS)
    assert card["version"] == "1.5"
    title, caption, link = of_type(card, "Input.Text")
    site, campaign = of_type(card, "Input.ChoiceSet")[:2]
    # Field news: a title and a link beside the text, none required by the card.
    assert (title["id"], title["maxLength"], "isRequired" in title) == ("title", 150, False)
    assert (link["id"], link["maxLength"], "isRequired" in link) == ("link", 1000, False)
    assert caption == {
        "type": "Input.Text",
        "id": "caption",
        "label": t("field.caption_or_text"),
        "isMultiline": True,
        "maxLength": 2000,
        "placeholder": t("form.submit.caption_hint"),
        "value": HOSTILE,
    }
    assert site["style"] == "filtered"  # sites: filtered as one types
    assert campaign["style"] == "compact"
    assert site["choices"] == [{"title": "Lyon", "value": "1"}, {"title": "Paris", "value": "2"}]
    assert site["value"] == "2"
    assert "value" not in campaign
    appears, people = of_type(card, "Input.ChoiceSet")[2:]
    # Who appears: no answer picked for the person; asked by the service when photos
    # come with the form (field news has none), so not required by the card.
    assert appears["id"] == "appears" and "isRequired" not in appears
    assert "value" not in appears
    assert [c["value"] for c in appears["choices"]] == ["nobody", "colleagues", "outside"]
    # The colleagues: Teams' people picker over the organisation's directory.
    assert people["id"] == "people" and people["isMultiSelect"] is True
    assert people["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    assert "isRequired" not in people
    consent, sensitive = of_type(card, "Input.Toggle")
    assert consent["id"] == "outside_agreement"
    assert consent["title"] == t("field.outside_agreement")
    assert (consent["value"], consent["valueOn"], consent["valueOff"]) == ("false", "true", "false")
    assert sensitive["id"] == "sensitive"
    # No file input on Teams: a line says where the photos go.
    assert LABELS["send_photos"] in texts(card)
    (submit,) = card["actions"]
    assert submit["type"] == "Action.Execute"
    assert submit["verb"] == "submission.create"
    assert submit["title"] == t("button.send")
    assert submit["data"] == {"action": "submission.create", "value": "k1"}
    assert submit["fallback"] == {
        "type": "Action.Submit",
        "title": t("button.send"),
        "data": {"action": "submission.create", "value": "k1"},
        "style": "positive",
    }


def test_a_multiple_select_is_a_multi_select_choice_set_with_its_hint_under_it() -> None:
    sites = (Option("1", "Lyon"), Option("2", "Nantes"), Option("3", "Paris"))
    several = Select(
        "sites", "Sites", sites, initial="3,9,1", typeahead=True, multiple=True, placeholder="All"
    )
    form = Form("campaign.new", "New", "Create", (several,))
    # Stored in the outbox inside a message: the flag and the hint come back.
    assert Form.from_json(form.to_json()) == form
    card = card_for_form(form, labels=LABELS)
    (menu,) = of_type(card, "Input.ChoiceSet")
    assert menu["isMultiSelect"] is True and menu["style"] == "compact"
    assert menu["value"] == "3,1"  # the known ones, as Teams sends them back
    assert "placeholder" not in menu  # not drawn by Teams for a multi-select
    body = card["body"]
    hint = body[body.index(menu) + 1]
    assert hint["type"] == "RichTextBlock" and hint["inlines"][0]["text"] == "All"
    assert read_submission({"action": "campaign.new", "value": "", "sites": "1,2"})[2] == {
        "sites": "1,2"
    }


def test_attached_photos_replace_the_photo_line() -> None:
    card = card_for_form(submission_form(), labels=LABELS, attached="2 photos or videos received")
    assert "2 photos or videos received" in texts(card)
    assert LABELS["send_photos"] not in texts(card)


def test_required_inputs_are_marked() -> None:
    form = Form(
        "x.go",
        "Title",
        "Go",
        (
            TextInput("name", "Name"),
            TextInput("note", "Note", required=False),
            Select("pick", "Pick", (Option("a", "A"),), required=True),
            Select("maybe", "Maybe", (Option("a", "A"),)),
            Select("empty", "Empty", ()),
        ),
    )
    card = card_for_form(form, labels={**LABELS, "required": "Please fill this in."})
    inputs = {e["id"]: e for e in elements(card) if e["type"].startswith("Input.")}
    assert set(inputs) == {"name", "note", "pick", "maybe"}  # a select without options is left out
    assert inputs["name"]["isRequired"] is True
    assert inputs["name"]["errorMessage"] == "Please fill this in."
    assert inputs["pick"]["isRequired"] is True
    assert "isRequired" not in inputs["note"]
    assert "isRequired" not in inputs["maybe"]
    # The reviewer's reason form, as the core builds it.
    reason_card = card_for_form(cards.reason_form(t, "review.reject", 12, "12:2"), labels=LABELS)
    (reason,) = of_type(reason_card, "Input.Text")
    assert reason["isRequired"] is True
    assert reason["errorMessage"] == t("error.reason_required")


def test_field_errors_show_under_their_input() -> None:
    form = Form("x.go", "Title", "Go", (TextInput("a", "A"), TextInput("b", "B")))
    card = card_for_form(form, labels=LABELS, errors={"a": "Too long", "zzz": "Elsewhere"})
    kinds = [(e["type"], e.get("id")) for e in card["body"]]
    assert kinds == [
        ("RichTextBlock", None),  # the title
        ("RichTextBlock", None),  # an error with no input of its own, at the top
        ("Input.Text", "a"),
        ("RichTextBlock", None),  # the error of "a", right under it
        ("Input.Text", "b"),
    ]
    assert card["body"][3]["inlines"][0] == {
        "type": "TextRun",
        "text": "Too long",
        "color": "Attention",
    }
    assert card["body"][1]["inlines"][0]["text"] == "Elsewhere"


def test_long_charter_is_split_into_blocks() -> None:
    charter = Charter(3, "\n".join(f"Rule {i}: " + "be kind. " * 20 for i in range(60)), None)
    card = card_for_form(cards.charter_form(t, charter), labels=LABELS)
    runs = texts(card)
    assert len(runs) >= 5
    assert all(len(r) <= 2000 for r in runs)
    joined = "\n".join(runs)
    for i in range(60):
        assert f"Rule {i}: " in joined


def test_notice_above_the_form() -> None:
    notice = Message("Oops", (Paragraph("Oops"), Actions((Button("B", "b", "1"),))))
    card = card_for_form(submission_form(), labels=LABELS, notice=notice)
    assert texts(card)[0] == "Oops"
    assert [a["verb"] for a in of_type(card, "Action.Execute")] == ["submission.create"]


def test_input_named_like_a_data_key_is_refused() -> None:
    with pytest.raises(ValueError):
        card_for_form(Form("x", "T", "Go", (TextInput("action", "A"),)), labels=LABELS)


def _answers(card: dict[str, Any], inputs: dict[str, Any]) -> tuple[dict, dict]:
    """What Teams sends when the card's submit button is pressed, in both shapes."""
    (submit,) = card["actions"]
    invoke = {
        "action": {
            "type": "Action.Execute",
            "verb": submit["verb"],
            "data": {**submit["data"], **inputs},
        },
        "trigger": "manual",
    }
    message_value = {**submit["fallback"]["data"], **inputs}
    return invoke, message_value


def test_forms_round_trip_through_both_shapes() -> None:
    card = card_for_form(submission_form(value="key-1"), labels=LABELS)
    inputs = {e["id"]: e.get("value", "") for e in elements(card) if e["type"].startswith("Input.")}
    inputs["appears"] = "colleagues"
    inputs["people"] = "0d3c1a52-1111-4a4a-9b9b-000000000001,0d3c1a52-1111-4a4a-9b9b-000000000002"
    for answer in _answers(card, inputs):
        action, value, got = read_submission(answer)
        assert (action, value) == ("submission.create", "key-1")
        assert got == {
            "title": "",
            "caption": HOSTILE,
            "link": "",
            "site": "2",
            "campaign": "",
            "appears": "colleagues",
            "people": inputs["people"],
            "outside_agreement": "false",
            "sensitive": "false",
        }


def test_message_buttons_round_trip() -> None:
    card = card_for_message(cards.review_card(t, submission(), TZ), urls, labels=LABELS)
    approve = card["actions"][0]
    invoke = {"action": {"type": "Action.Execute", "verb": "review.approve", "data": {}}}
    invoke["action"]["data"] = approve["data"]
    assert read_submission(invoke) == ("review.approve", "12:2", {})
    assert read_submission(dict(approve["fallback"]["data"])) == ("review.approve", "12:2", {})
    # The reject ShowCard's confirm, with the reason typed in.
    confirm = card["actions"][1]["card"]["actions"][0]
    sent = {**confirm["fallback"]["data"], "reason": "Blurry"}
    assert read_submission(sent) == ("review.reject", "12:2", {"reason": "Blurry"})


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "review.approve",
        42,
        [],
        {},
        {"action": None},
        {"action": {}},
        {"action": {"type": "Action.Execute"}},
        {"action": {"type": "Action.Execute", "data": "just a string"}},
        {"action": {"type": "Action.Execute", "data": [1, 2]}},
        {"action": 5, "value": "x"},
        {"value": "12:2", "reason": "no action"},
        {"action": ""},
    ],
)
def test_read_submission_tolerates_garbage(garbage: Any) -> None:
    assert read_submission(garbage) == ("", "", {})


def test_read_submission_edge_cases() -> None:
    # The verb alone is enough; nested or odd values are dropped, not raised on.
    value = {"action": {"type": "Action.Execute", "verb": "review.approve", "data": {"x": {}}}}
    assert read_submission(value) == ("review.approve", "", {})
    weird = {"action": "a", "value": ["no"], "msteams": {"type": "messageBack"}, "n": 3}
    assert read_submission(weird) == ("a", "", {"n": 3})


def test_size_guard_cuts_texts_and_keeps_buttons() -> None:
    big = "é" * 1990  # two bytes each in UTF-8
    blocks: list[Any] = [Paragraph(big) for _ in range(20)]
    blocks.append(Actions((Button("Approve", "review.approve", "1:1", ButtonStyle.PRIMARY),)))
    message = Message("x", tuple(blocks))
    card = card_for_message(message, urls)
    assert card_size(card) <= CARD_MAX_BYTES
    assert any(text.endswith("…") for text in texts(card))
    assert len(of_type(card, "RichTextBlock")) == 20  # every block kept, shortened
    assert card["actions"][0]["verb"] == "review.approve"
    assert card["actions"][0]["data"] == {"action": "review.approve", "value": "1:1"}
    # A small card is left alone.
    small = card_for_message(Message("x", (Paragraph(big),)), urls)
    assert texts(small) == [big]


def test_size_guard_on_forms_and_its_own_limit() -> None:
    charter = Charter(1, "x" * 60_000, None)
    sites = [(i, f"Site {i}") for i in range(1, 201)]
    card = card_for_form(cards.charter_form(t, charter, sites, 7), labels=LABELS)
    assert card_size(card) <= CARD_MAX_BYTES
    assert card["actions"][0]["verb"] == "charter.accept"
    (site,) = of_type(card, "Input.ChoiceSet")
    assert site["id"] == "site" and len(site["choices"]) == 200 and site["value"] == "7"
    tight = card_for_message(Message("x", (Paragraph("y" * 5000),)), urls, max_bytes=1000)
    assert card_size(tight) <= 1000
    # Nothing left to cut: returned as it is, never looping.
    buttons = tuple(Button(f"B{i}", "a", "v" * 100) for i in range(30))
    stuck = card_for_message(Message("x", (Actions(buttons),)), urls, max_bytes=500)
    assert card_size(stuck) > 500
    assert len(of_type(stuck, "Action.Execute")) == 30


def test_many_buttons_are_grouped() -> None:
    buttons = tuple(Button(f"B{i}", "a", str(i)) for i in range(8))
    card = card_for_message(Message("x", (Paragraph("p"), Actions(buttons))), urls)
    assert "actions" not in card
    sets = of_type(card, "ActionSet")
    assert [len(s["actions"]) for s in sets] == [6, 2]


def test_module_is_pure_json() -> None:
    tree = ast.parse(Path(render.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith(("botbuilder", "botframework")) for name in imported)
    json.dumps(card_for_message(cards.review_card(t, submission(), TZ), urls, labels=LABELS))


def test_digest_thanks_are_real_teams_mentions_with_escaped_names() -> None:
    from bot.ui import Mentions

    block = Mentions("Thanks *to*", (("aad-1", "Ana **B**"), ("aad-2", "Bo")))
    card = card_for_message(Message(text="x", blocks=(block,)), lambda key: None)
    [text_block] = [e for e in card["body"] if e["type"] == "TextBlock"]
    text = text_block["text"]
    assert text.startswith(r"Thanks \*to\*")
    assert r"<at>Ana \*\*B\*\*</at>" in text and "<at>Bo</at>" in text
    assert "**" not in text.replace(r"\*", "")
    entities = card["msteams"]["entities"]
    assert [e["mentioned"]["id"] for e in entities] == ["aad-1", "aad-2"]
    assert all(e["text"] in text for e in entities)
