"""``GET /metrics`` and the logs of ``relais serve``, over HTTP against the local Slack.

Counters are per process and shared by every test of this run, so the tests compare a
scrape before and after what they do; the backlog gauges are read from the database.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from alembic import command
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families

from bot.core import Core
from bot.settings import Settings
from bot.ui import Message, Paragraph
from domain import Platform
from relais import logs
from relais.server import build_app
from storage.db import Database, alembic_config, head_revision
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SECRET, SlackRig, buttons, command_payload, slack_settings
from tests.support import FakeClock, jpeg_bytes, member
from tests.test_slack import fake, join, rig, submit_photo

__all__ = ["fake", "rig"]
from tests.test_slack_edge import socket_cases

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: TestClient, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(await response.text())


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, as ``relais serve`` writes it off a terminal."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    handler = logs.configure(out)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])


async def test_metrics_count_requests_sends_photos_and_failures(rig: SlackRig) -> None:
    before = await scrape(rig.http)
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "A day on site", "F1")
    approve = buttons(card["blocks"])["review.approve"]
    assert (await rig.click("UCM1", approve)).status == 200
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)  # receipt and decision
    # The card's update goes in the card's lane, the DMs in the author's: either may be first.
    await rig.fake.wait_for(lambda: any(c.ok for c in rig.fake.calls_to("chat.update")))
    # A photo the intake refuses: a GIF declared as a JPEG.
    await submit_refused_photo(rig)
    # Slack answers the next post with 429, then a post to a channel that does not exist.
    rig.fake.fail("chat.postMessage", 429, retry_after=1)
    rig.core.outbox_changed()
    assert (await rig.post("garbage", signed=False)).status == 401
    after = await scrape(rig.http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("relais_requests_total", platform="slack", kind="command", status="200") >= 3
    assert grew("relais_requests_total", platform="slack", kind="view_submission", status="200")
    assert grew("relais_requests_total", platform="slack", kind="block_actions", status="200")
    assert grew("relais_requests_total", platform="slack", kind="refused", status="401") == 1
    assert grew("relais_ack_seconds_count", platform="slack", kind="command") >= 3
    assert grew("relais_ack_seconds_bucket", platform="slack", kind="command", le="+Inf") >= 3
    assert grew("relais_sends_total", platform="slack", kind="post") >= 3  # card, 2 DMs
    assert grew("relais_sends_total", platform="slack", kind="update") >= 1  # the card
    assert grew("relais_photo_intake_bytes_total") > 500
    assert grew("relais_photo_rejections_total", reason="unsupported_type") == 1
    for status in ("pending", "sending", "dead"):
        assert ("relais_outbox_messages", frozenset({("status", status)})) in after
    assert ("relais_jobs", frozenset({("status", "pending")})) in after


async def submit_refused_photo(rig: SlackRig) -> None:
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "not a photo")).status == 200
    form = await rig.opened_view(opened + 1)
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    photo = rig.fake.add_file("FGIF", gif, name="x.jpg", user="UAMB")
    answer = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="VGIF")
    ).json()
    assert answer["response_action"] == "update", answer
    # "x.jpg was refused" (after the receipt, the decision and the badge, in any order)
    await rig.fake.wait_for(lambda: any("x.jpg" in json.dumps(p) for p in rig.posts_to("UAMB")))


async def test_send_failures_and_dead_letters_are_counted_by_reason(rig: SlackRig) -> None:
    before = await scrape(rig.http)
    await join(rig, "UAMB")
    rig.fake.fail("chat.postMessage", 429, retry_after=1)
    rig.fake.missing_channel(REVIEW)
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "caption")).status == 200
    form = await rig.opened_view(opened + 1)
    photo = rig.fake.add_file("F9", jpeg_bytes((1, 2, 3)), user="UAMB")
    await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="V9")

    async def card_dead() -> bool:
        rig.clock.advance(seconds=5)  # past the 429's Retry-After, whichever row it hit
        await rig.settle()
        samples = parse(await (await rig.http.get("/metrics")).text())
        counted = value(samples, "relais_dead_letters_total", platform="slack") > value(
            before, "relais_dead_letters_total", platform="slack"
        )
        return counted and value(samples, "relais_outbox_messages", status="dead") >= 1

    await rig.fake.wait_for(card_dead, timeout=15)
    after = await scrape(rig.http)
    failures = "relais_send_failures_total"
    assert value(after, failures, platform="slack", reason="rate_limited") > value(
        before, failures, platform="slack", reason="rate_limited"
    )
    assert value(after, failures, platform="slack", reason="permanent") > value(
        before, failures, platform="slack", reason="permanent"
    )
    assert value(after, "relais_outbox_messages", status="dead") >= 1


async def test_outbox_backlog_and_its_oldest_age(core: Core, clock: FakeClock) -> None:
    """Without a dispatcher, queued DMs wait: the gauges show how many and for how long."""
    server = TestServer(build_app(core), host="127.0.0.1")
    async with TestClient(server) as http:
        empty = await scrape(http)
        assert value(empty, "relais_outbox_messages", status="pending") == 0
        assert value(empty, "relais_outbox_oldest_pending_seconds") == 0
        person = await member(core, "alice")
        await core.send_dm(person, Message("one", (Paragraph("one"),)))
        clock.advance(seconds=90)
        await core.send_dm(person, Message("two", (Paragraph("two"),)))
        clock.advance(seconds=10)
        samples = await scrape(http)
    assert value(samples, "relais_outbox_messages", status="pending") == 2
    assert value(samples, "relais_outbox_oldest_pending_seconds") == pytest.approx(100)


async def test_metrics_token_is_required_when_set(settings: Settings, db: Database) -> None:
    core = Core(settings.model_copy(update={"relais_metrics_token": "s3cret-scrape"}), db)
    async with TestClient(TestServer(build_app(core), host="127.0.0.1")) as http:
        missing = await http.get("/metrics")
        assert missing.status == 401
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert "relais_" not in await missing.text()
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        await scrape(http, token="s3cret-scrape")


async def test_metrics_are_open_without_a_token(core: Core) -> None:
    async with TestClient(TestServer(build_app(core), host="127.0.0.1")) as http:
        samples = await scrape(http)
    assert ("relais_outbox_oldest_pending_seconds", frozenset()) in samples


async def test_log_lines_are_json_with_ids_and_never_a_token_or_caption(
    log_lines: io.StringIO, rig: SlackRig
) -> None:
    # log_lines before rig: aiohttp decides when a connection opens whether it writes
    # access lines, and the rig's client opens its kept-alive connection as the rig starts
    # (test_slack's rig adds the CM's site).
    caption = "Caption-Marker-7f3a private words"
    reason = "Reason-Marker-91bc not on brand"
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", caption, "F1")
    reject = buttons(card["blocks"])["review.reject"]
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.click("UCM1", reject)).status == 200
    form = await rig.opened_view(opened + 1)
    assert (await rig.submit("UCM1", form, {"reason": reason})).status == 200
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)
    # Things that are logged: a refused request, a failed send, a signed photo link.
    assert (await rig.post("payload=%7B%22type%22%3A1%7D")).status == 400
    rig.fake.fail("chat.postMessage", 500)
    author = await rig.core.onboarding.find(Platform.SLACK, "T1", "UAMB")
    assert author is not None
    failed = len(rig.fake.calls_to("chat.postMessage")) + 1
    await rig.core.send_dm(author, Message(caption, (Paragraph(caption),)))
    await rig.fake.wait_calls("chat.postMessage", failed)
    await asyncio.sleep(0.2)  # the retry is recorded
    rig.clock.advance(seconds=10)
    await rig.settle()
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 3)

    lines = [line for line in log_lines.getvalue().splitlines() if line]
    assert lines, "nothing was logged"
    records = [json.loads(line) for line in lines]  # one JSON object per line
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    text = "\n".join(lines)
    for secret in (caption, "Caption-Marker", reason, "Reason-Marker", rig.fake.token, SECRET):
        assert secret not in text, f"{secret!r} reached a log line"
    about_requests = [r for r in records if r.get("request_id")]
    assert about_requests, "no line carries a request id"
    assert any(r.get("workspace") == "T1" for r in about_requests)
    assert any(r["level"] == "WARNING" and "400" in r["message"] for r in records)


def test_tokens_and_signed_links_are_cut_from_any_line() -> None:
    line = (
        'GET /media/eyJrIjoiYWIifQ.sig?x=1 "Authorization: Bearer abc.def-ghi" xoxb-1-2-abc '
        "xapp-1-A0-xyz /slack/oauth_redirect?code=123.456&state=s-t GET /library/tok.en"
    )
    cut = logs.redact(line)
    for secret in (
        "eyJrIjoiYWIifQ",
        "abc.def-ghi",
        "xoxb-1-2-abc",
        "xapp-1",
        "123.456",
        "s-t",
        "tok.en",
    ):
        assert secret not in cut
    assert cut.count(logs.REDACTED) == 7
    assert "/media/" in cut and "code=" in cut  # what it was stays readable


def test_a_terminal_gets_the_readable_format() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = logs.configure(out)
    try:
        logging.getLogger("relais").info("started with xoxb-9-9")
    finally:
        root.removeHandler(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])
    line = out.getvalue()
    assert " INFO relais started with [redacted]" in line
    assert not line.startswith("{")


async def test_not_ready_while_migrations_are_pending(core: Core, db_url: str) -> None:
    """A schema behind the code (a new version started before `relais db upgrade`): 503."""
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config(db_url)).get_revision(head).down_revision
    assert isinstance(previous, str)
    async with TestClient(TestServer(build_app(core), host="127.0.0.1")) as http:
        assert (await http.get("/readyz")).status == 200
        await asyncio.to_thread(command.stamp, alembic_config(db_url), previous)
        try:
            behind = await http.get("/readyz")
            body = await behind.json()
            assert behind.status == 503
            assert body["problems"] == [
                f"migrations pending: schema at {previous}, code expects {head}: "
                "run `relais db upgrade`"
            ]
            assert (await http.get("/healthz")).status == 200  # alive all the same
        finally:
            await asyncio.to_thread(command.stamp, alembic_config(db_url), head)
        assert (await http.get("/readyz")).status == 200


async def test_socket_mode_requests_are_counted_and_timed_too(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    """Requests over the websocket show in /metrics as HTTP ones do: by kind, with the
    status the HTTP route would have answered (a payload that is not a request: refused)."""
    socket = slack_settings(settings, fake, slack_app_token="xapp-1-test", slack_signing_secret="")
    core = Core(socket, db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        await fake.wait_socket_connected()
        before = await scrape(rig.http)
        answer = await fake.socket_send(
            "slash_commands", command_payload(fake.url, "UAMB", "/relais", "help", "CGENERAL")
        )
        assert answer is not None
        kind, nonsense = sorted(socket_cases().items())[0][1]
        assert await fake.socket_send(kind, nonsense) is not None
        after = await scrape(rig.http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("relais_requests_total", platform="slack", kind="command", status="200") == 1
    assert grew("relais_ack_seconds_count", platform="slack", kind="command") == 1
    assert grew("relais_requests_total", platform="slack", kind="refused", status="400") == 1
