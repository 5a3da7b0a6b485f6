"""A property-based fuzzer (Hypothesis) over what Slack and Teams can send to Relais.

The real server (``build_server``: both adapters, the outbox dispatcher, the job runner,
the scheduler) runs on 127.0.0.1 on an ephemeral port against the local fake Slack Web
API and Bot Connector. Each example is one request built from a sound template (a slash
command, a button click, a modal submission, an event, a Teams message, card action or
install) with one to three random mutations (a value replaced by random JSON, NUL, a lone
surrogate or a 300-character id; a key removed), or from random bytes. The property:
Relais answers with something other than a 5xx, and nothing is logged with a traceback,
including by the work done after the acknowledgement.

The budget is fixed (``max_examples``, ``derandomize``) so CI runs the same examples
every time, in well under a minute. It runs once: on PostgreSQL when TEST_DATABASE_URL
is set (a NUL or an over-long id fails there, not on SQLite), else on SQLite.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import Core
from bot.settings import Settings
from relais.server import build_server
from storage.db import Database
from tests.conftest import PG_URL
from tests.edge_support import block_actions, event_callback, slack_headers, view_submission
from tests.slack_api import FakeSlack
from tests.slack_support import command_payload, slack_settings
from tests.teams_connector import FakeConnector
from tests.test_teams import teams_settings

BUDGET = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# Time for the work Slack's listeners do after the ack (where a failure is only logged).
AFTER_ACK = 0.02

NASTY = [
    "",
    " ",
    "\x00",
    "U\x00AMB",
    "\ud800",
    "ok\udfff",
    "U" * 300,
    "../../etc/passwd",
    "<at>Relais</at>",
    "<!channel>",
    "help",
    "join",
    "me",
    "snooze 2w",
    "digest preview",
    "UAMB",
    "UCM1",
    "T1",
    "submission.create",
    "charter.accept",
    "relais.command",
    "review.approve",
    "image/gif",
    "application/vnd.microsoft.teams.file.download.info",
    "2026-11-20T09:00:00Z",
    "yesterday",
    "{}",
    "[]",
    "null",
]
texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=24))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False), texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document a value sits (dict keys, list indices)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with one to three values replaced by random JSON, or removed."""
    doc = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return doc


@st.composite
def retexted(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with one to three of its strings replaced (types kept: deeper paths)."""
    doc = copy.deepcopy(template)
    strings = [p for p in _paths(doc) if isinstance(_at(doc, p), str)]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(strings))
        _at(doc, path[:-1])[path[-1]] = draw(texts)
    return doc


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


# -- Slack -----------------------------------------------------------------------------------


def _command_template() -> dict[str, Any]:
    return command_payload("https://hooks.example", "UAMB", "/relais", "help", "CGENERAL")


def _home_opened() -> dict[str, Any]:
    return event_callback({"type": "app_home_opened", "user": "UAMB", "tab": "home"})


def _dm_with_files() -> dict[str, Any]:
    return event_callback(
        {
            "type": "message",
            "subtype": "file_share",
            "channel_type": "im",
            "channel": "D1",
            "user": "UAMB",
            "ts": "1.1",
            "text": "look",
            "files": [{"id": "F1", "name": "a.jpg", "mimetype": "image/jpeg"}],
        },
        event_id="EvFUZZ",
    )


def _submission_with_photo() -> dict[str, Any]:
    payload = view_submission()
    payload["view"]["state"]["values"]["photos"] = {
        "photos": {
            "type": "file_input",
            "files": [{"id": "F1", "name": "a.jpg", "mimetype": "image/jpeg"}],
        }
    }
    return payload


def _form_fields(fields: dict[str, Any]) -> str:
    """A form body; a lone surrogate becomes the invalid UTF-8 a broken client would send."""
    values = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return urlencode(values, encoding="utf-8", errors="surrogatepass")


def _payload(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


slack_signed_bodies = st.one_of(
    mutated(_command_template()).map(_form_fields),
    retexted(_command_template()).map(_form_fields),
    retexted(block_actions()).map(_payload),
    retexted(_submission_with_photo()).map(_payload),
    retexted(_dm_with_files()).map(json.dumps),
    st.fixed_dictionaries(
        {"command": st.sampled_from(["/relais", "/submit"]), "text": texts},
        optional={"user_id": texts, "team_id": texts},
    ).map(lambda extra: _form_fields({**_command_template(), **extra})),
    mutated(block_actions()).map(_payload),
    mutated(view_submission()).map(_payload),
    mutated(_submission_with_photo()).map(_payload),
    mutated(_home_opened()).map(json.dumps),
    mutated(_dm_with_files()).map(json.dumps),
    json_values.map(_payload),
    json_values.map(json.dumps),
    st.binary(max_size=200),
)
slack_unsigned = st.tuples(
    st.binary(max_size=200),
    st.dictionaries(
        st.sampled_from(["X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ),
)


# -- Teams -----------------------------------------------------------------------------------


def _teams_templates(bf: FakeConnector) -> list[dict[str, Any]]:
    message = bf.personal_message("help")
    photo = bf.personal_message(
        "party",
        attachments=[
            {"contentType": "image/png", "contentUrl": f"{bf.url}/files/F1", "name": "a.png"},
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "name": "b.jpg",
                "content": {"downloadUrl": f"{bf.url}/files/F2", "fileType": "jpg"},
            },
        ],
    )
    mention = bf.personal_message("<at>Relais</at> me")
    mention["entities"].append(
        {"type": "mention", "mentioned": dict(bf.bot), "text": "<at>Relais</at>"}
    )
    invoke = bf.invoke_adaptive_card_action("charter.accept", {"site": "Lyon"})
    submit = bf.message_submit({"action": "relais.command", "value": "me"})
    installed = bf.conversation_update_bot_added_personal()
    return [message, photo, mention, invoke, submit, installed]


# -- the server ------------------------------------------------------------------------------


class Live:
    """Relais with both adapters on an ephemeral port, driven from a synchronous test."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def start(self) -> None:
        self.slack = await self.stack.enter_async_context(FakeSlack())
        self.slack.add_user("UAMB", name="ana", real_name="Ana Field", locale="en-US")
        self.bf = await self.stack.enter_async_context(FakeConnector())
        self.bf.add_user("29:alice", "Alice Field", "aad-alice")
        self.db = Database(self.base.database_url)
        self.stack.push_async_callback(self.db.dispose)
        settings = slack_settings(teams_settings(self.base, self.bf), self.slack)
        overrides = self.bf.sdk_settings()
        for key in ("APP_ID", "APP_PASSWORD", "APP_TYPE"):
            overrides.pop(key)
        server = TestServer(build_server(Core(settings, self.db), teams_overrides=overrides))
        await server.start_server()
        self.stack.push_async_callback(server.close)
        self.url = f"http://127.0.0.1:{server.port}"
        self.http = await self.stack.enter_async_context(aiohttp.ClientSession())
        self.teams_token = self.bf.channel_token()

    async def post(self, path: str, data: bytes, headers: dict[str, str]) -> int:
        async with self.http.post(self.url + path, data=data, headers=headers) as response:
            await response.read()
            status = response.status
        await asyncio.sleep(AFTER_ACK)
        return status

    def close(self) -> None:
        try:
            self.run(self.stack.aclose())
        finally:
            self.loop.close()


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    if PG_URL is not None and settings.database_url.startswith("sqlite"):
        pytest.skip("fuzzed once, on PostgreSQL (where a NUL cannot be stored)")
    server = Live(settings)
    server.run(server.start())
    try:
        yield server
    finally:
        server.close()


def _failures(caplog: pytest.LogCaptureFixture, since: int) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()[:300]}"
        for r in caplog.records[since:]
        if r.exc_info or "Traceback" in r.getMessage() or "Error handling request" in r.msg
    ]


def test_slack_requests_never_get_a_5xx_or_a_traceback(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    @BUDGET
    @given(slack_signed_bodies)
    def signed(body: str | bytes) -> None:
        since = len(caplog.records)
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        status = live.run(live.post("/slack/events", raw, slack_headers(raw)))
        assert status < 500, (status, raw[:300])
        assert _failures(caplog, since) == [], raw[:300]

    @settings(BUDGET, max_examples=50)
    @given(slack_unsigned)
    def unsigned(case: tuple[bytes, dict[str, str]]) -> None:
        since = len(caplog.records)
        raw, headers = case
        status = live.run(live.post("/slack/events", raw, headers))
        assert status == 401, (status, raw[:300], headers)
        assert _failures(caplog, since) == [], raw[:300]

    signed()
    unsigned()


def test_teams_activities_never_get_a_5xx_or_a_traceback(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    templates = _teams_templates(live.bf)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {live.teams_token}",
    }

    @BUDGET
    @given(
        st.one_of(
            st.sampled_from(templates).flatmap(mutated).map(json.dumps),
            st.sampled_from(templates).flatmap(retexted).map(json.dumps),
            st.sampled_from(templates).flatmap(retexted).map(json.dumps),
            json_values.map(json.dumps),
            st.binary(max_size=200),
        )
    )
    def property(body: str | bytes) -> None:
        since = len(caplog.records)
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        status = live.run(live.post("/api/messages", raw, headers))
        assert status < 500, (status, raw[:300])
        assert _failures(caplog, since) == [], raw[:300]

    property()
