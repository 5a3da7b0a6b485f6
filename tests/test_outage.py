"""Acks through a database outage (issue 10), on a PostgreSQL cluster of the test's own.

The database is stopped (``pg_ctl stop -m immediate``: connections refused) and frozen
(SIGSTOP: connections and queries hang) while people use Relais. Every Slack request
must get its 200 within Slack's 3 s; what needs the database says, in the person's
language, to try again in a minute; and once the database is back nothing refused was
recorded. ``/readyz`` says 503 meanwhile, and the background workers recover by
themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from adapters.deadline import AFTER_ACK_BUDGET, TEAMS_BUDGET
from bot.core import Core
from bot.ports import Target
from bot.settings import Settings
from bot.ui import Message
from bot.worker import utcnow
from domain import Platform
from storage.db import Database, upgrade_async
from storage.models import CharterAcceptance, Job, ReviewEvent, Submission
from tests.pg_cluster import Cluster, postgres_bin
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, buttons, slack_settings, texts
from tests.support import count_rows, jpeg_bytes
from tests.waiting import poll

PG_BIN = postgres_bin()
pytestmark = [
    pytest.mark.timeout_sensitive,
    pytest.mark.skipif(PG_BIN is None, reason="needs PostgreSQL server binaries (initdb)"),
]

SLACK_DEADLINE = 3.0
PEOPLE = {
    "UAMB": ("ana", "Ana Field", "en-US"),
    "UFR": ("luc", "Luc Terrain", "fr-FR"),
    "UCM1": ("carla", "Carla CM", "en-GB"),
    "UNEW": ("nora", "Nora New", "en-US"),
}
TRY_AGAIN = {"en": "try again in a minute", "fr": "réessayez dans une minute"}
FORM_AGAIN = {"en": "submit this form again in a minute", "fr": "renvoyez ce formulaire"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    assert PG_BIN is not None
    server = Cluster(PG_BIN)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def database(cluster: Cluster, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if not (cluster.data / "postmaster.pid").exists():
        cluster.start()  # a previous test left it stopped
    name = request.node.name.split("[")[0][:40].lower()
    url = cluster.create_database(name)
    await upgrade_async(url)
    yield url


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user, (name, real, locale) in PEOPLE.items():
            slack.add_user(user, name=name, real_name=real, display_name=real, locale=locale)
        yield slack


def outage_settings(database: str, tmp_path: Path, fake: FakeSlack) -> Settings:
    base = Settings(
        _env_file=None,
        database_url=database,
        media_dir=tmp_path / "media",
        relais_locale="fr",  # the workspace's language: what an unknown person is told in
        relais_timezone="Europe/Paris",
    )
    return slack_settings(base, fake, relais_cms=["UCM1"])


async def timed(request: Awaitable[ClientResponse]) -> tuple[float, int, dict[str, Any]]:
    """Seconds to the answer, its status and its JSON body ({} when empty)."""
    started = time.monotonic()
    response = await request
    elapsed = time.monotonic() - started
    raw = await response.read()
    body = json.loads(raw) if raw.strip() else {}
    return elapsed, response.status, body


def said(body: dict[str, Any]) -> str:
    """Everything an ack body shows: text, blocks, field errors, a view."""
    parts = [str(body.get("text") or ""), texts(body.get("blocks") or [])]
    parts += [str(v) for v in (body.get("errors") or {}).values()]
    parts.append(texts((body.get("view") or {}).get("blocks") or []))
    return "\n".join(parts).lower()


async def join(rig: SlackRig, user: str) -> None:
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command(user, "/relais", "join")).status == 200
    charter = await rig.opened_view(opened + 1)
    answer = await (await rig.submit(user, charter, {"site": "Lyon"})).json()
    assert answer["response_action"] == "update"


async def open_form(rig: SlackRig, user: str) -> dict[str, Any]:
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command(user, "/submit", "")).status == 200
    form = await rig.opened_view(opened + 1)
    assert form["callback_id"] == "submission.create"
    return form


async def ready(rig: SlackRig) -> int:
    return (await rig.http.get("/readyz")).status


async def test_slack_acks_in_time_through_a_stopped_then_frozen_database(
    cluster: Cluster, database: str, tmp_path: Path, fake: FakeSlack
) -> None:
    db = Database(database)
    core = Core(outage_settings(database, tmp_path, fake), db, clock=utcnow)
    async with SlackRig(core, fake, None) as rig:  # type: ignore[arg-type]
        # Before: Ana and Luc are ambassadors, Ana's photo waits for review, the CM
        # has used Relais; Ana and Luc each have a submission form open.
        await join(rig, "UAMB")
        await join(rig, "UFR")
        form = await open_form(rig, "UAMB")
        photo = fake.add_file("F1", jpeg_bytes(), name="one.jpg", user="UAMB")
        answer = await (
            await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="V1")
        ).json()
        assert answer["response_action"] == "update"
        await fake.wait_for(lambda: rig.posts_to(REVIEW), timeout=10)
        card = rig.posts_to(REVIEW)[0]
        approve = buttons(card["blocks"])["review.approve"]
        assert (await rig.command("UCM1", "/relais", "help")).status == 200
        forms = {user: await open_form(rig, user) for user in ("UAMB", "UFR")}
        fake.add_file("F2", jpeg_bytes((1, 2, 3)), name="two.jpg", user="UAMB")
        fake.add_file("F3", jpeg_bytes((4, 5, 6)), name="three.jpg", user="UFR")
        photos = {"UAMB": fake.files["F2"], "UFR": fake.files["F3"]}
        view_ids = {"UAMB": "V-ana", "UFR": "V-luc"}

        def send_form(user: str) -> Awaitable[ClientResponse]:
            return rig.submit(
                user,
                forms[user],
                {"appears": "nobody", "photos": [photos[user]]},
                view_id=view_ids[user],
            )

        # A message and a photo job queued before the outage, due while it lasts.
        fake.add_file("F9", jpeg_bytes((7, 8, 9)), name="nine.jpg", user="UFR")
        due = utcnow() + timedelta(seconds=2)
        async with db.transaction() as r:
            await r.jobs.add(
                kind="slack.submission",
                key="test:queued-job",
                payload={
                    "team": "T1",
                    "user": "UFR",
                    "files": [{"id": "F9", "name": "nine.jpg", "mimetype": "image/jpeg"}],
                    "values": {"caption": "queued before the outage", "appears": "nobody"},
                    "action": "submission.create",
                    "value": "",
                    "client_key": "test:queued-job",
                },
                now=due,
            )
            workspace = await r.workspaces.get_or_create(
                Platform.SLACK, "T1", locale="fr", timezone="UTC", now=utcnow()
            )
            await r.outbox.add(
                workspace_id=workspace.id,
                platform="slack",
                kind="post",
                target=Target("user", "UAMB").to_json(),
                payload=Message("queued before the outage").to_json(),
                now=due,
            )
        assert await ready(rig) == 200

        for phase, (down, up) in {
            "stopped": (cluster.stop, cluster.start),
            "frozen": (cluster.freeze, cluster.thaw),
        }.items():
            down()
            try:
                opened_before = len(fake.calls_to("views.open"))
                sent_at = time.monotonic()
                answers = await asyncio.gather(
                    timed(rig.command("UAMB", "/submit", "")),
                    timed(rig.command("UNEW", "/relais", "help")),
                    timed(rig.command("UAMB", "/relais", "me")),
                    timed(rig.command("UFR", "/relais", "me")),
                    timed(rig.click("UCM1", approve)),
                    timed(send_form("UAMB")),
                    timed(send_form("UFR")),
                )
                timings = [round(a[0], 3) for a in answers]
                print(f"{phase}: ack times {timings}")
                for elapsed, status, _ in answers:
                    assert status == 200, (phase, answers)
                    assert elapsed < SLACK_DEADLINE, (phase, answers)
                submit, help_, me_en, me_fr, click, form_en, form_fr = (a[2] for a in answers)
                # Slash commands answered in the ack say so there, in the person's
                # language (the newcomer, unknown to Relais, in the workspace's).
                assert TRY_AGAIN["fr"] in said(help_), help_
                assert TRY_AGAIN["en"] in said(me_en), me_en
                assert TRY_AGAIN["fr"] in said(me_fr), me_fr
                for ack in (help_, me_en, me_fr):
                    assert ack.get("response_type") == "ephemeral"
                # /submit (its answer is a form) and the button ack at once, empty. The
                # form opens all the same, from what Relais has cached (issue 14: it needs
                # no database); the button's person hears of it through the response URL.
                assert submit == {} and click == {}
                opened = await rig.opened_view(opened_before + 1)
                assert opened["callback_id"] == "submission.create", opened
                at = fake.calls_to("views.open")[opened_before].at
                assert at - sent_at < SLACK_DEADLINE, (phase, at - sent_at)
                started = time.monotonic()
                told, readiness = await asyncio.gather(
                    fake.wait_responses(1, timeout=AFTER_ACK_BUDGET + 2), ready(rig)
                )
                print(f"{phase}: told after {time.monotonic() - started:.2f}s more")
                assert readiness == 503
                paths = sorted(r["_path"].split("/")[1] for r in told)
                assert paths == ["actions"], told
                for response in told:
                    assert TRY_AGAIN["en"] in said(response)
                    assert response["response_type"] == "ephemeral"
                fake.responses.clear()
                # The form stays open with the reason on it: sending it again later is safe.
                assert form_en["response_action"] == "errors", form_en
                assert FORM_AGAIN["en"] in said(form_en)
                assert FORM_AGAIN["fr"] in said(form_fr)
            finally:
                up()
            await poll(lambda: ready(rig), 30, message="/readyz back to 200")
            assert await ready(rig) == 200
            # What was refused was not recorded, even late.
            await asyncio.sleep(1.0)
            assert (
                await count_rows(db, Submission, Submission.caption != "queued before the outage")
                == 1
            )
            assert await count_rows(db, ReviewEvent, ReviewEvent.to_status == "approved") == 0
            assert (
                await count_rows(db, Job, Job.key.in_(["slack:view:V-ana", "slack:view:V-luc"]))
                == 0
            )

        # After: the same forms, sent again, go through once; the click works.
        for user in ("UAMB", "UFR"):
            for _ in range(2):  # twice: recorded once
                response = await send_form(user)
                assert (await response.json())["response_action"] == "update"
        assert (await rig.click("UCM1", approve)).status == 200
        await poll(lambda: _n(db, 4), 15, message="the job and the two forms, once each")
        await poll(
            lambda: count_rows(db, ReviewEvent, ReviewEvent.to_status == "approved"),
            15,
            message="the approval recorded",
        )
        # The message queued before the outage went out after it.
        await fake.wait_for(
            lambda: any(
                "queued before the outage" in str(p.get("text")) for p in rig.posts_to("UAMB")
            ),
            timeout=15,
        )
    await db.dispose()


async def _n(db: Database, expected: int) -> bool:
    return await count_rows(db, Submission) == expected


async def test_teams_answers_every_activity_through_a_stopped_then_frozen_database(
    cluster: Cluster, database: str, tmp_path: Path
) -> None:
    from tests.teams_connector import FakeConnector
    from tests.test_teams import TeamsRig, executes, join, runs, teams_settings

    base = Settings(
        _env_file=None,
        database_url=database,
        media_dir=tmp_path / "media",
        relais_locale="en",
        relais_timezone="Europe/Paris",
    )
    db = Database(database)
    async with FakeConnector() as bf:
        bf.add_user("29:alice", "Alice Field", "aad-alice")
        bf.add_user("29:luc", "Luc Terrain", "aad-luc")
        core = Core(teams_settings(base, bf), db, clock=utcnow)
        async with TeamsRig(core, bf) as rig:
            await join(rig)  # Alice is an ambassador
            luc = bf.personal_conversation_id("29:luc")
            await rig.send(bf.personal_message("join", "29:luc", "aad-luc", "Luc", "fr-FR"))
            charter = await rig.wait_card(luc)
            accept = executes(charter)["charter.accept"]
            alice = bf.personal_conversation_id("29:alice")

            for phase, (down, up) in {
                "stopped": (cluster.stop, cluster.start),
                "frozen": (cluster.freeze, cluster.thaw),
            }.items():
                before = {c: len(bf.sent_to(c)) for c in (alice, luc)}
                down()
                try:
                    started = time.monotonic()
                    me, accepted = await asyncio.gather(
                        rig.send(bf.personal_message("me")),
                        rig.send(
                            bf.invoke_adaptive_card_action(
                                "charter.accept",
                                accept["data"],
                                "29:luc",
                                "aad-luc",
                                "Luc",
                                "fr-FR",
                            )
                        ),
                    )
                    elapsed = time.monotonic() - started
                    print(f"Teams {phase}: answered in {elapsed:.2f}s")
                    assert me.status in (200, 201), me.text
                    assert accepted.status == 200, accepted.text
                    assert elapsed < TEAMS_BUDGET + 1.0
                    # Told in the turn: Alice by a message, Luc in the card's answer (in
                    # French, his Teams language).
                    told = bf.sent_to(alice)[before[alice] :]
                    assert told and TRY_AGAIN["en"] in runs(told).lower(), told
                    assert (
                        TRY_AGAIN["fr"] in json.dumps(accepted.json(), ensure_ascii=False).lower()
                    )
                finally:
                    up()
                await poll(lambda: _ready(rig.url), 30, message="/readyz back to 200")
                await asyncio.sleep(1.0)
                assert await count_rows(db, CharterAcceptance) == 1, phase  # Alice's only
            # After: Luc's acceptance goes through.
            answer = await rig.send(
                bf.invoke_adaptive_card_action(
                    "charter.accept",
                    accept["data"],
                    "29:luc",
                    "aad-luc",
                    "Luc",
                    "fr-FR",
                )
            )
            assert answer.status == 200
            assert "version 1" in json.dumps(answer.json(), ensure_ascii=False)
    await db.dispose()


async def _ready(url: str) -> bool:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
        return response.status == 200


async def test_the_scheduler_keeps_ticking_through_an_outage(
    cluster: Cluster, database: str, tmp_path: Path
) -> None:
    from relais.scheduler import scheduling

    settings = Settings(_env_file=None, database_url=database, media_dir=tmp_path / "media")
    db = Database(database)
    core = Core(settings, db, clock=utcnow)
    outcomes: list[str] = []
    tick = core.rounds.tick

    async def counted() -> int:
        try:
            sent = await tick()
        except Exception:
            outcomes.append("failed")
            raise
        outcomes.append("ok")
        return sent

    core.rounds.tick = counted  # type: ignore[method-assign]
    async with scheduling(core, every=0.3):
        await poll(lambda: "ok" in outcomes, 10, message="a first tick")
        cluster.stop()
        try:
            await poll(lambda: "failed" in outcomes, 10, message="a tick during the outage")
        finally:
            cluster.start()
        failed_at = len(outcomes)
        await poll(lambda: "ok" in outcomes[failed_at:], 15, message="a tick after the outage")
    await db.dispose()


async def test_a_photo_dropped_in_the_dm_during_an_outage_is_answered_after_it(
    cluster: Cluster, database: str, tmp_path: Path, fake: FakeSlack
) -> None:
    """Bolt acknowledges an event before its listener runs: during an outage the event is
    refused with a 503 (in time), so Slack sends it again, and its retry is answered once."""
    db = Database(database)
    core = Core(outage_settings(database, tmp_path, fake), db, clock=utcnow)
    async with SlackRig(core, fake, None) as rig:  # type: ignore[arg-type]
        await join(rig, "UAMB")
        photo = fake.add_file("FDM", jpeg_bytes((3, 2, 1)), name="dm.jpg", user="UAMB")
        event = {
            "type": "message",
            "subtype": "file_share",
            "channel": "DUAMB",
            "channel_type": "im",
            "user": "UAMB",
            "ts": "1700000001.000200",
            "files": [photo],
        }
        for down, up in ((cluster.stop, cluster.start), (cluster.freeze, cluster.thaw)):
            await asyncio.to_thread(down)
            try:
                started = time.monotonic()
                refused = await rig.event(event, event_id=f"Ev-{down.__name__}")
                assert refused.status == 503 and time.monotonic() - started < 3.0
            finally:
                await asyncio.to_thread(up)
            await poll(lambda: _back(rig), 30, message="/readyz back to 200")
            again = await rig.event(event, event_id=f"Ev-{down.__name__}", retry=1)
            assert again.status == 200
        await fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2, timeout=15)
        await asyncio.sleep(0.5)
        prompts = [p for p in rig.posts_to("UAMB") if "slack.submit_dropped" in json.dumps(p)]
        assert len(prompts) == 2, "one prompt per event, after the outage"
        await db.dispose()


async def _back(rig: SlackRig) -> bool:
    return await ready(rig) == 200


async def test_an_app_home_button_during_an_outage_shows_the_notice_on_the_home(
    cluster: Cluster, database: str, tmp_path: Path, fake: FakeSlack
) -> None:
    """App Home buttons carry no ``response_url``: the person is told on the home itself
    (``views.publish`` of the home they clicked in, the notice on top), in their language."""
    db = Database(database)
    core = Core(outage_settings(database, tmp_path, fake), db, clock=utcnow)
    async with SlackRig(core, fake, None) as rig:  # type: ignore[arg-type]
        await join(rig, "UFR")
        opened = {"type": "app_home_opened", "user": "UFR", "channel": "DUFR", "tab": "home"}
        assert (await rig.event(opened, event_id="Ev-home")).status == 200
        await fake.wait_for(lambda: "UFR" in fake.home, timeout=10)
        home = fake.home["UFR"]
        snooze = next(b for b in buttons(home["blocks"]).values() if "snooze" in b["value"])
        published = len(fake.calls_to("views.publish"))
        original = home["blocks"]
        for down, up in ((cluster.stop, cluster.start), (cluster.freeze, cluster.thaw)):
            await asyncio.to_thread(down)
            try:
                started = time.monotonic()
                clicked = await rig.click(
                    "UFR", snooze, view={"id": "VHOME", "type": "home", **home}
                )
                assert clicked.status == 200 and time.monotonic() - started < SLACK_DEADLINE
                await fake.wait_for(
                    lambda n=published: len(fake.calls_to("views.publish")) > n,
                    timeout=AFTER_ACK_BUDGET + 2,
                )
            finally:
                await asyncio.to_thread(up)
            published = len(fake.calls_to("views.publish"))
            shown = fake.home["UFR"]
            notice = texts(shown["blocks"][:1]).lower()
            assert TRY_AGAIN["fr"] in notice, notice  # Luc's language
            # The home is kept below the notice, and a second notice replaces the first.
            assert shown["blocks"][1:] == original
            home = shown
            await poll(lambda: _back(rig), 30, message="/readyz back to 200")
        assert await count_rows(db, Submission) == 0
        await db.dispose()


async def test_a_socket_mode_event_during_an_outage_is_left_for_slack_to_send_again(
    cluster: Cluster, database: str, tmp_path: Path, fake: FakeSlack
) -> None:
    """Over Socket Mode an unacknowledged envelope is sent again by Slack: an event that
    arrives while the database does not answer is not acknowledged (as HTTP answers 503)."""
    settings = outage_settings(database, tmp_path, fake).model_copy(
        update={"slack_app_token": "xapp-1-test", "slack_signing_secret": ""}
    )
    db = Database(database)
    core = Core(settings, db, clock=utcnow)
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "Ev-socket-home",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": "UAMB", "channel": "DUAMB", "tab": "home"},
        "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
    }
    async with SlackRig(core, fake, None):  # type: ignore[arg-type]
        await fake.wait_socket_connected()
        await asyncio.to_thread(cluster.stop)
        try:
            assert await fake.socket_send("events_api", event, timeout=3.0) is None
        finally:
            await asyncio.to_thread(cluster.start)
        await poll(lambda: _db_answers(db), 30, message="the database back")
        assert "UAMB" not in fake.home
        again = await fake.socket_send("events_api", event, retry_attempt=1, retry_reason="timeout")
        assert again is not None
        await fake.wait_for(lambda: "UAMB" in fake.home, timeout=10)
    await db.dispose()


async def _db_answers(db: Database) -> bool:
    try:
        await db.ping()
    except Exception:
        return False
    return True


async def test_an_oauth_install_answers_in_time_through_an_outage(
    cluster: Cluster,
    database: str,
    tmp_path: Path,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Multi-workspace OAuth: Bolt reads the workspace's installation from the database
    before any listener. A workspace this process has served keeps its installation in
    memory; one it has not is told to try again, in time, without a traceback."""
    import logging
    from urllib.parse import urlencode

    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

    from tests.edge_support import block_actions, tracebacks

    caplog.set_level(logging.INFO)
    settings = outage_settings(database, tmp_path, fake).model_copy(
        update={
            "slack_bot_token": "",
            "slack_client_id": "111.222",
            "slack_client_secret": "client-secret",
            "public_url": "https://relais.example.com",
        }
    )
    db = Database(database)
    core = Core(settings, db, clock=utcnow)
    fake.add_oauth_code("code-2", team_id="T2", user_id="UT2")
    fake.add_user("UT2", name="tess", team_id="T2", locale="en-US")
    fake.add_user("UT3", name="theo", team_id="T3", locale="en-US")
    async with SlackRig(core, fake, None) as rig:  # type: ignore[arg-type]
        install = await rig.http.get("/slack/install", allow_redirects=False)
        cookie = install.headers["Set-Cookie"].split(";")[0]
        state = cookie.split("=", 1)[1]
        done = await rig.http.get(
            f"/slack/oauth_redirect?code=code-2&state={state}",
            headers={"Cookie": cookie},
            allow_redirects=False,
        )
        assert done.status in (200, 302), await done.text()
        # T2 has used Relais through this process; T3 was installed through another replica.
        assert (await rig.command("UT2", "/relais", "help", team="T2")).status == 200
        fake.add_token("xoxb-installed-T3", "T3")
        other_replica = AsyncSQLAlchemyInstallationStore(client_id="111.222", engine=db.engine)
        await other_replica.async_save(
            Installation(
                app_id="A1",
                team_id="T3",
                user_id="UT3",
                bot_token="xoxb-installed-T3",
                bot_id="B3",
                bot_user_id="UBOT3",
                bot_scopes=["commands", "chat:write"],
            )
        )

        def click(team: str, user: str) -> Awaitable[ClientResponse]:
            payload = block_actions(
                user={"id": user, "username": user.lower(), "team_id": team},
                team={"id": team, "domain": team.lower()},
                response_url=f"{fake.url}/actions/{team}/1/x",
            )
            return rig.post(urlencode({"payload": json.dumps(payload)}))

        for down, up in ((cluster.stop, cluster.start), (cluster.freeze, cluster.thaw)):
            caplog.clear()
            await asyncio.to_thread(down)
            try:
                answers = await asyncio.gather(
                    timed(rig.command("UT2", "/relais", "me", team="T2")),
                    timed(rig.command("UT3", "/relais", "me", team="T3")),
                    timed(click("T3", "UT3")),
                )
                print(f"OAuth {down.__name__}: {[round(a[0], 2) for a in answers]}")
                for elapsed, status, _ in answers:
                    assert status == 200 and elapsed < SLACK_DEADLINE, answers
                known, unknown, clicked = (a[2] for a in answers)
                assert TRY_AGAIN["en"] in said(known), known  # Tess, as last seen
                assert TRY_AGAIN["fr"] in said(unknown), unknown  # the workspace's language
                assert unknown.get("response_type") == "ephemeral"
                assert clicked == {}
                [told] = await fake.wait_responses(1, timeout=AFTER_ACK_BUDGET + 2)
                assert told["_path"].startswith("/actions/T3/")
                assert TRY_AGAIN["fr"] in said(told)
                fake.responses.clear()
                assert tracebacks(caplog.records) == []
            finally:
                await asyncio.to_thread(up)
            await poll(lambda: _back(rig), 30, message="/readyz back to 200")
        # After: both workspaces work again (the first reads may still meet connections
        # the pool has to replace: they are told to try again, and the next one works).
        for team, user in (("T2", "UT2"), ("T3", "UT3")):

            async def works(team: str = team, user: str = user) -> bool:
                after = await (await rig.command(user, "/relais", "me", team=team)).json()
                return "/relais" in said(after) and "try again" not in said(after)

            await poll(works, 10, message=f"{team} served again")
    await db.dispose()


async def test_a_teams_outage_notice_refused_by_the_connector_is_one_log_line(
    cluster: Cluster, database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is away and the Bot Connector refuses the notice saying so: the
    activity is still answered (no 500 for Teams to redeliver), with no traceback."""
    import logging

    from tests.edge_support import tracebacks
    from tests.teams_connector import FakeConnector
    from tests.test_teams import TeamsRig, teams_settings

    caplog.set_level(logging.INFO)
    base = Settings(
        _env_file=None, database_url=database, media_dir=tmp_path / "media", relais_locale="en"
    )
    db = Database(database)
    async with FakeConnector() as bf:
        bf.add_user("29:alice", "Alice Field", "aad-alice")
        core = Core(teams_settings(base, bf), db, clock=utcnow)
        async with TeamsRig(core, bf) as rig:
            await asyncio.to_thread(cluster.stop)
            try:
                for status in (500, 429):
                    caplog.clear()
                    bf.fail("/activities", status, times=1, method="POST", retry_after=0)
                    answer = await rig.send(bf.personal_message("me"))
                    assert answer.status in (200, 201), answer.text
                    assert tracebacks(caplog.records) == []
                    assert any("refused" in r.getMessage() for r in caplog.records)
            finally:
                await asyncio.to_thread(cluster.start)
    await db.dispose()
