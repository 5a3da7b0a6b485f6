"""Malformed Slack requests are answered (401 unsigned, 400 signed nonsense), never a 500,
and never with a traceback in the log; text is cleaned before it can reach the database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.core import Core
from bot.settings import Settings
from storage.db import Database
from storage.models import Member, Submission, Workspace
from tests.edge_support import (
    block_actions,
    event_callback,
    form,
    person,
    post_slack,
    slack_headers,
    tracebacks,
    view_submission,
)
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, TEAM, SlackRig, command_payload, slack_settings
from tests.support import FakeClock, count_rows, jpeg_bytes


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_user("UAMB", name="ana", real_name="Ana Field", locale="en-US")
        slack.add_user("UCM1", name="carla", real_name="Carla CM", locale="en-US")
        yield slack


@pytest.fixture
async def rig(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> AsyncIterator[SlackRig]:
    core = Core(slack_settings(settings, fake), db, clock=clock)
    async with SlackRig(core, fake, clock) as running:
        yield running


async def answered_without_traceback(
    caplog: pytest.LogCaptureFixture, response: Any, statuses: tuple[int, ...]
) -> None:
    assert response.status in statuses, (response.status, await response.text())
    await asyncio.sleep(0.05)  # work after the ack (Bolt's listeners) has its chance to fail
    assert tracebacks(caplog.records) == []


def command(user: str = "UAMB", text: str = "help", **changes: str) -> str:
    fields: dict[str, Any] = {
        **command_payload("https://hooks.example", user, "/relais", text, "CGENERAL"),
        **changes,
    }
    return urlencode({k: v for k, v in fields.items() if v is not None})


def command_submit(text: str) -> str:
    fields = command_payload("https://hooks.example", "UAMB", "/submit", text, "CGENERAL")
    return urlencode(fields)


# -- unsigned ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": "abc"},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "garbage"},
        {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=zz"},
        {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=" + "0" * 64},
        {},
    ],
)
async def test_unsigned_requests_get_401_without_a_traceback(
    rig: SlackRig, db: Database, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.INFO)
    sent = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    response = await post_slack(rig.http, command(), headers=sent)
    await answered_without_traceback(caplog, response, (401,))
    assert await count_rows(db, Workspace) == 0


async def test_an_unsigned_body_that_is_not_utf8_gets_401(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
) -> None:
    raw = b"payload=\xff\xfe\x00"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": "abc",
    }
    response = await post_slack(rig.http, raw, headers=headers)
    await answered_without_traceback(caplog, response, (401,))


async def test_a_signature_over_other_bytes_gets_401(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
) -> None:
    headers = slack_headers(command().encode())
    response = await post_slack(rig.http, command(text="me"), headers=headers)
    await answered_without_traceback(caplog, response, (401,))


# -- signed nonsense ---------------------------------------------------------------------

NUL_ID = "U\x00AMB"
LONG_ID = "U" * 300

SIGNED_NONSENSE: dict[str, bytes | str] = {
    "payload not json": "payload=%7Bnot+json",
    "payload a list": form([1, 2]),
    "payload a string": form("block_actions"),
    "payload null": form(None),
    "body not utf-8": b"payload=%7B%7D\xff\xfe",
    "json body a list": "[1, 2, 3]",
    "json body not json": "{not json",
    "actions empty": form(block_actions(actions=[])),
    "actions a string": form(block_actions(actions="x")),
    "action not an object": form(block_actions(actions=["x"])),
    "action_id not a string": form(
        block_actions(actions=[{"type": "button", "action_id": 5, "value": "help"}])
    ),
    "action value an object": form(
        block_actions(actions=[{"type": "button", "action_id": "relais.command", "value": {}}])
    ),
    "channel a number": form(block_actions(channel=5)),
    "view null": form(view_submission(view=None)),
    "view a string": form(view_submission(view="x")),
    "view without callback_id": form(view_submission(view={"id": "V1", "state": {}})),
    "view without type": form(
        view_submission(view={k: v for k, v in view_submission()["view"].items() if k != "type"})
    ),
    "view a workflow step": form(
        view_submission(view={**view_submission()["view"], "type": "workflow_step"})
    ),
    "workflow_step_edit": form(
        {**block_actions(), "type": "workflow_step_edit", "callback_id": "x"}
    ),
    "interactive_message without actions": form(
        {**block_actions(actions=[]), "type": "interactive_message", "callback_id": "x"}
    ),
    "state.values a string": form(
        view_submission(view={**view_submission()["view"], "state": {"values": "x"}})
    ),
    "state.values block a string": form(
        view_submission(view={**view_submission()["view"], "state": {"values": {"b": "x"}}})
    ),
    "state.values element a list": form(
        view_submission(view={**view_submission()["view"], "state": {"values": {"b": {"a": []}}}})
    ),
    "input value a number": form(
        view_submission(
            view={
                **view_submission()["view"],
                "state": {"values": {"b": {"caption": {"type": "plain_text_input", "value": 7}}}},
            }
        )
    ),
    "file not an object": form(
        view_submission(
            view={
                **view_submission()["view"],
                "state": {"values": {"p": {"photos": {"type": "file_input", "files": ["F1"]}}}},
            }
        )
    ),
    "private_metadata a number": form(
        view_submission(view={**view_submission()["view"], "private_metadata": 5})
    ),
    "metadata files not a list": form(
        view_submission(
            view={**view_submission()["view"], "private_metadata": json.dumps({"files": 5})}
        )
    ),
    "blocks a string": form(view_submission(view={**view_submission()["view"], "blocks": "x"})),
    "user a number": form(block_actions(user=5)),
    "user id a list": form(block_actions(user={"id": ["U1"], "team_id": TEAM})),
    "no user (action)": form({k: v for k, v in block_actions().items() if k != "user"}),
    "no team (action)": form(
        {**{k: v for k, v in block_actions().items() if k != "team"}, "user": {"id": "UAMB"}}
    ),
    "no user (view)": form({k: v for k, v in view_submission().items() if k != "user"}),
    "user id with NUL (action)": form(block_actions(user={"id": NUL_ID, "team_id": TEAM})),
    "user id of 300 characters (view)": form(view_submission(user={"id": LONG_ID})),
    "team id with NUL (view)": form(view_submission(team={"id": "T\x001"})),
    "view id of 300 characters": form(
        view_submission(view={**view_submission()["view"], "id": "V" * 300})
    ),
    "enterprise a number": form(block_actions(enterprise=5)),
    "authorizations a string": json.dumps(
        event_callback({"type": "app_home_opened", "user": "UAMB"}, authorizations="x")
    ),
    "event a string": json.dumps(event_callback("x")),  # type: ignore[arg-type]
    "event without a type": json.dumps(event_callback({"user": "UAMB"})),
    "event message without user": json.dumps(
        event_callback({"type": "message", "channel_type": "im", "channel": "D1", "ts": "1.1"})
    ),
    "event files not objects": json.dumps(
        event_callback(
            {
                "type": "message",
                "channel_type": "im",
                "channel": "D1",
                "user": "UAMB",
                "subtype": "file_share",
                "files": ["x", {"name": "no id", "mimetype": "image/png"}],
            }
        )
    ),
    "event user with NUL": json.dumps(
        event_callback({"type": "app_home_opened", "user": NUL_ID, "tab": "home"})
    ),
    "event id of 300 characters": json.dumps(
        event_callback({"type": "app_home_opened", "user": "UAMB"}, event_id="E" * 300)
    ),
    "event team missing": json.dumps(
        {
            k: v
            for k, v in event_callback({"type": "app_home_opened", "user": "UAMB"}).items()
            if k not in ("team_id", "authorizations")
        }
    ),
    "command without user": command(user_id=None),
    "command without team": command(team_id=None),
    "command with an empty user": command(user_id=""),
    "command user of 300 characters": command(user=LONG_ID),
    "command user with NUL": command(user=NUL_ID),
    "command team with NUL": command(team_id="T\x001"),
    "command channel with NUL": command(channel_id="C\x00"),
}


@pytest.mark.parametrize("name", sorted(SIGNED_NONSENSE))
async def test_signed_nonsense_gets_a_4xx_one_line_and_no_traceback(
    rig: SlackRig, db: Database, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    response = await post_slack(rig.http, SIGNED_NONSENSE[name])
    await answered_without_traceback(caplog, response, (400,))
    refusals = [r for r in caplog.records if r.name.startswith("adapters.slack")]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    assert await count_rows(db, Workspace, Workspace.external_id == "") == 0
    assert await count_rows(db, Member, Member.external_id == "") == 0
    assert rig.fake.calls_to("views.open") == []


async def test_sound_requests_still_pass_the_edge(rig: SlackRig, db: Database) -> None:
    response = await post_slack(rig.http, command())
    assert response.status == 200
    assert "/relais" in await response.text()
    challenge = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    response = await post_slack(rig.http, challenge)
    assert response.status == 200
    assert "c-123" in await response.text()
    assert (await post_slack(rig.http, "ssl_check=1&token=x")).status == 200
    # The command text contains the word "payload": Bolt alone would read an empty body.
    response = await post_slack(rig.http, command(text="payload"))
    assert response.status == 200
    assert await count_rows(db, Member, Member.external_id == "UAMB") == 1


async def test_an_org_wide_action_takes_its_team_from_the_user(rig: SlackRig) -> None:
    payload = {**block_actions(), "team": None}
    response = await post_slack(rig.http, form(payload))
    assert response.status == 200


# -- text that PostgreSQL cannot store -----------------------------------------------------


async def test_nul_and_lone_surrogates_are_cleaned_before_the_database(
    rig: SlackRig, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # A name typed into a slash command and a caption in the forms (sites are picked from
    # the CM's list, never typed).
    response = await post_slack(rig.http, command(text="join\x00"))
    assert response.status == 200
    charter = (await rig.fake.wait_calls("views.open"))[0].params["view"]
    accept = view_submission(view={**charter, "id": "VCHARTER", "state": {"values": {}}})
    answer = await (await post_slack(rig.http, form(accept))).json()
    assert answer["response_action"] == "update", answer
    assert (await post_slack(rig.http, command_submit("Hello\x00"))).status == 200
    submission_form = (await rig.fake.wait_calls("views.open", 2))[1].params["view"]
    assert submission_form["callback_id"] == "submission.create"
    caption = next(b for b in submission_form["blocks"] if b.get("block_id") == "caption")
    assert caption["element"]["initial_value"] == "Hello"
    photo = rig.fake.add_file("FNUL", jpeg_bytes((1, 2, 3)), name="nul.jpg", user="UAMB")
    submit = view_submission(
        view={
            **submission_form,
            "id": "VNUL",
            "state": {
                "values": {
                    "caption": {
                        "caption": {
                            "type": "plain_text_input",
                            "value": "Team\x00 breakfast \ud800in Lyon\udfff",
                        }
                    },
                    "photos": {"photos": {"type": "file_input", "files": [photo]}},
                    "appears": {
                        "appears": {
                            "type": "static_select",
                            "selected_option": {"value": "nobody"},
                        }
                    },
                }
            },
        }
    )
    answer = await (await post_slack(rig.http, form(submit))).json()
    assert answer["response_action"] == "update", answer
    await rig.fake.wait_for(lambda: rig.posts_to(REVIEW))
    async with db.read() as r:
        captions = list(await r.session.scalars(select(Submission.caption)))
    assert captions == ["Team breakfast in Lyon"]
    dms = [c.params for c in rig.fake.calls_to("chat.postMessage") if c.params["channel"] == "UAMB"]
    assert not any("could not fetch" in json.dumps(p) for p in dms)
    assert tracebacks(caplog.records) == []


async def test_an_event_with_a_nul_in_its_text_is_answered(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D1",
        "user": "UAMB",
        "text": "hello\x00 \ud83d",
        "ts": "1.1",
    }
    response = await post_slack(rig.http, json.dumps(event_callback(event, event_id="EvNUL")))
    assert response.status == 200
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    assert tracebacks(caplog.records) == []


# -- photo types the form can refuse at once ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [("party.gif", "image/gif"), ("IMG_0001.HEIC", "image/heic"), ("logo.svg", "image/svg+xml")],
)
async def test_image_types_we_refuse_are_refused_in_the_form(
    rig: SlackRig, db: Database, name: str, mimetype: str
) -> None:
    assert (await post_slack(rig.http, command(text="join"))).status == 200
    charter = (await rig.fake.wait_calls("views.open"))[0].params["view"]
    answer = await (await rig.submit("UAMB", charter, {"site": "Lyon"})).json()
    assert answer["response_action"] == "update"
    assert (await post_slack(rig.http, command_submit(""))).status == 200
    submission_form = (await rig.fake.wait_calls("views.open", 2))[1].params["view"]
    file = rig.fake.add_file("FGIF", b"GIF89a", name=name, mimetype=mimetype, user="UAMB")
    good = rig.fake.add_file("FJPG", jpeg_bytes(), name="ok.jpg", user="UAMB")
    response = await rig.submit(
        "UAMB", submission_form, {"appears": "nobody", "photos": [good, file]}
    )
    answer = await response.json()
    assert answer["response_action"] == "errors", answer
    assert name in answer["errors"]["photos"]
    assert "JPEG, PNG, WebP" in answer["errors"]["photos"]
    assert "ok.jpg" not in answer["errors"]["photos"]
    # The same form with the JPEG alone goes through.
    response = await rig.submit(
        "UAMB", submission_form, {"appears": "nobody", "photos": [good]}, view_id="VOK"
    )
    assert (await response.json())["response_action"] == "update"
    await rig.fake.wait_for(lambda: rig.posts_to(REVIEW))
    assert await count_rows(db, Submission) == 1


async def test_the_person_behind_an_action_is_who_it_says(rig: SlackRig) -> None:
    # Sanity: the helpers' sound payloads are accepted, so the refusals above are real.
    assert (await post_slack(rig.http, form(block_actions()))).status == 200
    assert (await post_slack(rig.http, form(block_actions(user=person("UCM1"))))).status == 200


# -- Socket Mode -----------------------------------------------------------------------------


def socket_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """The signed nonsense above that a Socket Mode envelope can carry (a JSON object),
    as (envelope type, payload)."""
    from urllib.parse import parse_qsl

    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, raw in SIGNED_NONSENSE.items():
        if isinstance(raw, bytes):
            continue
        if raw.startswith("payload="):
            try:
                payload = json.loads(dict(parse_qsl(raw))["payload"])
            except ValueError:
                continue
            kind = "interactive"
        elif raw.startswith("{"):
            try:
                payload, kind = json.loads(raw), "events_api"
            except ValueError:
                continue
        elif raw.startswith("["):
            continue
        else:
            payload, kind = dict(parse_qsl(raw, keep_blank_values=True)), "slash_commands"
        if isinstance(payload, dict):
            cases[name] = (kind, payload)
    return cases


async def test_socket_mode_payloads_get_the_same_checks(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over Socket Mode there is no HTTP status: nonsense is acknowledged (so Slack does not
    send it again) with one log line, never a traceback, and nothing is recorded."""
    caplog.set_level(logging.INFO)
    socket = slack_settings(settings, fake, slack_app_token="xapp-1-test", slack_signing_secret="")
    core = Core(socket, db, clock=clock)
    cases = socket_cases()
    assert len(cases) >= 40, sorted(cases)
    async with SlackRig(core, fake, clock):
        await fake.wait_socket_connected()
        for name, (kind, payload) in sorted(cases.items()):
            caplog.clear()
            answer = await fake.socket_send(kind, payload)
            assert answer is not None, f"{name}: not acknowledged"
            await asyncio.sleep(0.05)
            assert tracebacks(caplog.records) == [], name
            refusals = [r for r in caplog.records if r.name.startswith("adapters.slack")]
            assert len(refusals) == 1, (name, [r.getMessage() for r in refusals])
            assert "refused" in refusals[0].getMessage(), name
        # A sound request, with a NUL in its text, still works, cleaned.
        sound = command_payload(fake.url, "UAMB", "/relais", "he\x00lp", "CGENERAL")
        answer = await fake.socket_send("slash_commands", sound)
        assert answer is not None and answer.get("response_type") == "ephemeral", answer
    assert await count_rows(db, Workspace, Workspace.external_id == "") == 0
    assert await count_rows(db, Member, Member.external_id == "") == 0
    async with db.read() as r:
        ids = list(await r.session.scalars(select(Member.external_id)))
    assert "UAMB" in ids and not [i for i in ids if "\x00" in i], ids
    assert fake.calls_to("views.open") == []
