"""Every malformed input against a real ``relais serve`` process, on SQLite and PostgreSQL:
unsigned Slack requests get 401, signed nonsense and malformed Teams activities get 400,
photo links to no photo get 404; nothing is recorded for them and the process logs no
traceback (the same cases as ``test_slack_edge.py`` and ``test_teams_edge.py``, which
run the app in the test's process).

Slack is configured against ``FakeSlack``; Teams runs in its local emulator mode (no
Bot Framework authentication), so activities reach the same edge checks as in
production.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.teams.media_links import MediaLinks
from storage.db import Database
from storage.models import Member, Workspace
from tests.edge_support import slack_headers
from tests.serve_support import Serve
from tests.slack_api import FakeSlack
from tests.support import count_rows
from tests.teams_connector import FakeConnector
from tests.test_slack_edge import SIGNED_NONSENSE, command
from tests.test_teams_edge import MALFORMED

pytestmark = pytest.mark.timeout_sensitive

UNSIGNED = [
    {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=abc"},
    {"X-Slack-Request-Timestamp": "abc"},
    {"X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=zz"},
    {},
]
BAD_PHOTO_KEYS = ["../../../etc/passwd", "ab/cd/../../../secret.jpg", "ab/cd/\x00.jpg", "\x00"]
SECRET_KEY = "serve-malformed-secret"


@pytest.fixture
async def serve(db_url: str, tmp_path: Path) -> AsyncIterator[Serve]:
    async with FakeSlack() as fake:
        running = Serve(fake, db_url, tmp_path)
        running.env.update(RELAIS_TEAMS_EMULATOR="true", RELAIS_SECRET_KEY=SECRET_KEY)
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


async def test_malformed_input_to_a_real_process_is_refused_with_no_traceback(
    serve: Serve, db_url: str
) -> None:
    statuses: list[tuple[str, int]] = []
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=10) as http:
        body = command().encode()
        for headers in UNSIGNED:
            sent = {"Content-Type": "application/x-www-form-urlencoded", **headers}
            response = await http.post("/slack/events", content=body, headers=sent)
            statuses.append((f"unsigned {headers}", response.status_code))
        for name, raw in sorted(SIGNED_NONSENSE.items()):
            data = raw.encode() if isinstance(raw, str) else raw
            response = await http.post("/slack/events", content=data, headers=slack_headers(data))
            statuses.append((f"slack {name}", response.status_code))
        async with FakeConnector() as bf:
            sound = bf.personal_message("help")
        for name, change in sorted(MALFORMED.items()):
            activity = copy.deepcopy(sound)
            change(activity)
            response = await http.post("/api/messages", json=activity)
            statuses.append((f"teams {name}", response.status_code))
        links = MediaLinks(SECRET_KEY.encode(), "")
        for key in BAD_PHOTO_KEYS:
            response = await http.get(f"/media/{links.token(key)}")
            statuses.append((f"photo link {key!r}", response.status_code))
        response = await http.get("/media/%00..%2F..%2F")
        statuses.append(("photo link garbage", response.status_code))

    expected = {"unsigned": 401, "slack": 400, "teams": 400, "photo": 404}
    wrong = [(what, status) for what, status in statuses if status != expected[what.split()[0]]]
    assert wrong == [], wrong
    assert len(statuses) == len(UNSIGNED) + len(SIGNED_NONSENSE) + len(MALFORMED) + 5
    log = serve.log_text()
    assert "Traceback" not in log, log[-4000:]
    db = Database(db_url)
    try:
        # Nothing recorded for any of them (the only sound activity was never sent).
        assert await count_rows(db, Workspace) == 0
        assert await count_rows(db, Member) == 0
    finally:
        await db.dispose()
