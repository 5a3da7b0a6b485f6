"""Three ``relais serve`` replicas on one PostgreSQL database: everything exactly once.

Three real processes (``tests/serve_support.py``) share a fresh database, a media
directory and the local Slack (``FakeSlack``), which hosts ``WORKSPACES`` workspaces.
Each workspace installs Relais through Slack's OAuth flow (the install page on one
replica, the redirect on another: the state and the installation live in the shared
database). Ambassadors join, then ``SUBMISSIONS`` photos are sent, spread over the
workspaces and over the replicas (the ``/submit`` to one, its form to another, the CM's
click to a third): the command opens the form, the form carries a Slack file, the photo
job downloads it and the review card goes out in the workspace's review channel. As cards
arrive the workspace's CMs decide them (approve, reject with a reason, request changes),
again spread over the replicas. A third of the way through, one replica is killed with
SIGKILL while work is in flight, and started again a little later; requests that found
it dead are sent to another replica, as a load balancer would; a form answered "busy" or
"slow" (the database did not take it, or not in time to confirm it) is submitted again, as
its message asks: a form recorded after all is not recorded twice.

Then every replica is stopped, one ambassador per workspace who joined long ago and never
sent anything is made due for a nudge, and the three are started again at once with a
digest channel and a digest slot just past: their schedulers compete for the digests and
the nudges. What Slack received is counted, per workspace: one review card per
submission, one card update per decision, every DM the outbox holds delivered once, one
digest per workspace, one nudge per due person; and the database agrees (submissions,
statuses, jobs done, outbox all sent, no dead letters).

The 200 submissions are spread over four workspaces because a review channel takes about
one message a second (``adapters/slack/port.py`` ``PER_CHANNEL``, shared by the replicas)
and each submission costs it two (its card and the card's update): one channel would
spend over six minutes in pacing alone, four channels side by side under two.

The one double the design allows (a send Slack answered whose record the killed replica
had not yet committed, ``docs/architecture.md`` "Outbox") is accepted only as that: a
message sent twice, its first copy under way when the replica died.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from bot.i18n import translate
from storage.db import Database, upgrade_async
from storage.models import (
    Job,
    Member,
    MemberRole,
    OutboxMessage,
    ScheduleRun,
    Submission,
    Workspace,
)
from tests.conftest import PG_URL
from tests.serve_support import RemoteRig, Serve
from tests.slack_api import Call, FakeSlack
from tests.slack_support import REVIEW, buttons, command_payload
from tests.support import jpeg_bytes

#: What a form says when the database was too busy or too slow to take it: submit again.
AGAIN = tuple(
    translate("en", key)
    for key in ("busy.form_not_sent", "outage.form_not_sent", "outage.form_unconfirmed")
)

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.timeout_sensitive,
    pytest.mark.skipif(PG_URL is None, reason="PostgreSQL only (TEST_DATABASE_URL)"),
]

REPLICAS = 3
SUBMISSIONS = 200
WORKSPACES = ["T1", "T2", "T3", "T4"]
#: Per workspace: its ambassadors, the one who never sends anything, its two CMs.
AMBASSADORS = {team: [f"UA{team}{i}" for i in range(4)] for team in WORKSPACES}
IDLE = {team: f"UIDLE{team}" for team in WORKSPACES}
TEAM_CMS = {team: [f"UCM{team}A", f"UCM{team}B"] for team in WORKSPACES}
CLIENT_ID, CLIENT_SECRET = "111.222", "client-secret"
DIGEST = "CDIGEST"
#: Requests in flight at once (people using Relais at the same time).
CONCURRENCY = 8
#: The submission after which a replica is killed, and the one after which it is back.
KILL_AT, RESTART_AT = SUBMISSIONS // 3, SUBMISSIONS // 2
KILLED = 1
#: Decision of a card by its submission id: mostly approvals.
DECISIONS = ["approve"] * 6 + ["reject", "changes", "approve", "reject"]
#: Sends a dispatcher has in flight at most (``bot/outbox.py``): the bound on the doubles
#: a kill can cause.
SEND_SLOTS = 8
_TRIGGERS = itertools.count(1)


#: Every day is a working day for these replicas (``RELAIS_WORKING_DAYS``), so the test
#: finds working hours somewhere at any moment of the week, weekends included.
WORKING_DAYS = "mon-sun"


def working_zone(now: datetime) -> str:
    """A timezone where ``now`` is well inside working hours (nudges are only sent then)."""
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 16:
            return name
    raise AssertionError(f"no whole-hour timezone has {now} between 10:00 and 16:00")


@pytest.fixture
async def fresh_url() -> AsyncIterator[str]:
    """A new database on the test server, migrated, dropped afterwards."""
    assert PG_URL is not None
    name = f"relais_replicas_{uuid.uuid4().hex[:10]}"
    admin = Database(make_url(PG_URL).set(database="postgres").render_as_string(False))
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(PG_URL).set(database=name).render_as_string(False)
    try:
        await upgrade_async(url)
        yield url
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


class Rig(RemoteRig):
    """A ``RemoteRig`` whose next trigger id can be chosen (to find the modal it opens)."""

    next_trigger: str | None = None

    def trigger(self) -> str:
        chosen, self.next_trigger = self.next_trigger, None
        return chosen or f"{next(_TRIGGERS)}.0.any"


class Replicas:
    """``REPLICAS`` processes on one database; requests go round-robin to the live ones,
    and one that finds its replica dead goes to the next (a load balancer's retry)."""

    def __init__(self, fake: FakeSlack, url: str, tmp_path: Path, tz: str) -> None:
        self.fake = fake
        self.serves: list[Serve] = []
        for n in range(REPLICAS):
            home = tmp_path / f"replica{n}"
            home.mkdir()
            serve = Serve(fake, url, home)
            serve.env.update(
                {
                    "MEDIA_DIR": str(tmp_path / "media"),  # the volume every replica sees
                    "RELAIS_TIMEZONE": tz,
                    "RELAIS_WORKING_DAYS": WORKING_DAYS,
                    "RELAIS_DIGEST_CHANNEL": "",
                    # Workspaces install through OAuth: no single bot token.
                    "SLACK_BOT_TOKEN": "",
                    "SLACK_CLIENT_ID": CLIENT_ID,
                    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                    "PUBLIC_URL": serve.base_url,
                    "RELAIS_CMS": ",".join(cm for cms in TEAM_CMS.values() for cm in cms),
                }
            )
            self.serves.append(serve)
        self.rigs = [Rig(fake, s.base_url) for s in self.serves]
        self.down: set[int] = set()
        self.turn = itertools.count()
        self.retried = 0
        self.busy = 0  # forms sent again after a busy answer
        self.kills = 0  # replicas killed so far

    def live(self) -> list[int]:
        return [n for n in range(REPLICAS) if n not in self.down]

    async def send(self, request: Callable[[Rig], Awaitable[httpx.Response]]) -> httpx.Response:
        for _ in range(10):
            live = self.live()
            rig = self.rigs[live[next(self.turn) % len(live)]]
            try:
                response = await request(rig)
            except httpx.TransportError:
                self.retried += 1
                continue
            assert response.status_code == 200, response.text
            return response
        raise AssertionError("no replica answered")

    async def submit_form(
        self, request: Callable[[Rig], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """Send a form as a person would: told Relais is busy (nothing was recorded, the
        form says to submit it again in a few seconds), they submit it again."""
        for _ in range(6):
            answer = await self.send(request)
            body = answer.json()
            if body.get("response_action") != "errors" or not any(
                text_ in str(body["errors"]) for text_ in AGAIN
            ):
                return answer
            self.busy += 1
            await asyncio.sleep(2)
        return answer

    async def modal(
        self, send: Callable[[Rig, str], Awaitable[httpx.Response]]
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """Send a request that opens a modal (a command, a button); return its answer and
        the modal, found by the trigger id it was sent with."""
        for _ in range(5):
            trigger = f"{next(_TRIGGERS)}.{uuid.uuid4().hex[:6]}"
            kills = self.kills
            answer = await self.send(lambda rig, t=trigger: send(rig, t))  # type: ignore[misc]

            def opened(t: str = trigger) -> dict[str, Any] | None:
                for call in self.fake.calls_to("views.open"):
                    if call.ok and call.params.get("trigger_id") == t:
                        return dict(call.params["view"])
                return None

            try:
                view = await self.fake.wait_for(opened, timeout=15)
            except AssertionError:
                # Its replica died after the ack, before opening the modal: ask again
                # (also when it is back by now: killed while this modal was awaited).
                if self.down or self.retried or self.kills != kills:
                    continue
                raise
            return answer, view
        raise AssertionError("no modal opened")

    async def install(self, team: str, n: int) -> None:
        """Install Relais in ``team`` as its first CM would: the install page on one
        replica, Slack's redirect back to another (the OAuth state is in the database)."""
        self.fake.add_oauth_code(f"code-{team}", team_id=team, user_id=TEAM_CMS[team][0])
        page = await self.rigs[n % REPLICAS].client.get("/slack/install")
        assert page.status_code in (200, 302), page.text
        cookie = page.headers["set-cookie"].split(";")[0]
        state = cookie.split("=", 1)[1]
        done = await self.rigs[(n + 1) % REPLICAS].client.get(
            f"/slack/oauth_redirect?code=code-{team}&state={state}",
            headers={"Cookie": cookie},
        )
        assert done.status_code in (200, 302), done.text

    async def close(self) -> None:
        for rig in self.rigs:
            await rig.close()
        for serve in self.serves:
            await serve.stop()

    def output(self) -> str:
        return "\n".join(f"--- replica {n}\n{s.output()}" for n, s in enumerate(self.serves))


async def command(
    rig: Rig, team: str, user: str, name: str, text_: str, trigger: str
) -> httpx.Response:
    payload = command_payload(rig.fake.url, user, name, text_, "CGENERAL", team)
    payload["trigger_id"] = trigger
    return await rig.post(urlencode(payload))


async def click(
    rig: Rig, team: str, user: str, button: dict[str, Any], ts: str, trigger: str
) -> Any:
    rig.next_trigger = trigger  # taken before click's first await: no other task between
    return await rig.click(user, button, message_ts=ts, team=team)


def posted(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.ok]


def review_cards(fake: FakeSlack) -> list[Call]:
    return [c for c in posted(fake) if c.params["channel"] == REVIEW]


def author(n: int) -> tuple[str, str]:
    """Who sends submission ``n``: (workspace, ambassador), round-robin over both."""
    team = WORKSPACES[n % len(WORKSPACES)]
    people = AMBASSADORS[team]
    return team, people[(n // len(WORKSPACES)) % len(people)]


def team_of(fake: FakeSlack, call: Call) -> str:
    """The workspace a call was made in (by its bot token)."""
    return fake.team_for(call.token)


def card_id(call: Call) -> int:
    return int(str(buttons(call.params["blocks"])["review.approve"]["value"]).split(":")[0])


async def test_three_replicas_and_a_kill_9_do_everything_exactly_once(
    fresh_url: str, tmp_path: Path
) -> None:
    tz = working_zone(datetime.now(UTC))
    started = time.monotonic()
    async with FakeSlack() as fake:
        fake.client_id, fake.client_secret = CLIENT_ID, CLIENT_SECRET
        for team in WORKSPACES:
            for user in [*AMBASSADORS[team], IDLE[team], *TEAM_CMS[team]]:
                fake.add_user(
                    user, name=user.lower(), real_name=user, tz=tz, locale="en-US", team_id=team
                )
        cluster = Replicas(fake, fresh_url, tmp_path, tz)
        db = Database(fresh_url)
        try:
            await _run(cluster, fake, db, tz, started)
        except AssertionError:
            print(cluster.output())
            raise
        finally:
            await cluster.close()
            await db.dispose()


async def _run(cluster: Replicas, fake: FakeSlack, db: Database, tz: str, started: float) -> None:
    # The digest slot: just before the test, in its week, so the digest covers its approvals.
    local = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(ZoneInfo(tz))
    slot = f"{local.strftime('%a').lower()} {local.strftime('%H:%M')}"
    await asyncio.gather(*(serve.start() for serve in cluster.serves))
    for n, team in enumerate(WORKSPACES):
        await cluster.install(team, n)
    print(f"installed: {time.monotonic() - started:.1f}s")
    limit = asyncio.Semaphore(CONCURRENCY)

    async def join(team: str, user: str) -> None:
        async with limit:
            _, charter = await cluster.modal(
                lambda rig, t: command(rig, team, user, "/relais", "join", t)
            )
            joined = await cluster.submit_form(
                lambda rig: rig.submit(user, charter, {"site": "Lyon"}, team=team)
            )
            assert joined.json()["response_action"] == "update", joined.text

    await asyncio.gather(
        *(join(team, user) for team in WORKSPACES for user in [*AMBASSADORS[team], IDLE[team]])
    )
    print(f"joined: {time.monotonic() - started:.1f}s")

    # -- submissions, with a kill -9 in the middle ----------------------------------------
    sent = 0
    killed_at: float | None = None

    async def submit(n: int) -> None:
        nonlocal sent, killed_at
        team, user = author(n)
        async with limit:
            _, form = await cluster.modal(
                lambda rig, t: command(rig, team, user, "/submit", f"photo {n}", t)
            )
            color = (n % 256, (n * 37) % 256, (n * 91) % 256)
            photo = fake.add_file(f"F{n}", jpeg_bytes(color, (24, 16)), user=user, team_id=team)
            answer = await cluster.submit_form(
                lambda rig: rig.submit(
                    user,
                    form,
                    {"appears": "nobody", "photos": [photo]},
                    view_id=f"V{n}",
                    team=team,
                )
            )
            assert answer.json()["response_action"] == "update", answer.text
        sent += 1
        if sent == KILL_AT:
            cluster.down.add(KILLED)
            cluster.kills += 1
            await cluster.serves[KILLED].kill()
            killed_at = time.monotonic()  # dead now (a signal takes a moment to land)
            print(f"killed replica {KILLED} after {sent} submissions")
        elif sent == RESTART_AT:
            await cluster.serves[KILLED].start()
            cluster.down.discard(KILLED)
            print(f"replica {KILLED} back after {sent} submissions")

    decided: dict[int, str] = {}

    async def decide(call: Call, k: int) -> None:
        sid = card_id(call)
        kind = DECISIONS[sid % len(DECISIONS)]
        decided[sid] = kind
        team = team_of(fake, call)
        cm = TEAM_CMS[team][k % 2]
        ts = str(call.response["ts"]) if call.response else ""
        button = buttons(call.params["blocks"])[f"review.{kind}"]
        async with limit:
            if kind == "approve":
                await cluster.send(lambda rig: rig.click(cm, button, message_ts=ts, team=team))
                return
            _, form = await cluster.modal(lambda rig, t: click(rig, team, cm, button, ts, t))
            reason = "not on brand" if kind == "reject" else "crop it please"
            answer = await cluster.submit_form(
                lambda rig: rig.submit(cm, form, {"reason": reason}, team=team)
            )
            assert answer.json().get("response_action") == "update", answer.text

    async def reviewer() -> None:
        # One decision per submission: a card the kill doubled is decided from one copy.
        seen: set[int] = set()
        tasks: list[asyncio.Task[None]] = []
        while len(tasks) < SUBMISSIONS:
            for call in review_cards(fake):
                if card_id(call) not in seen:
                    seen.add(card_id(call))
                    tasks.append(asyncio.create_task(decide(call, len(tasks))))
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)

    review = asyncio.create_task(reviewer())
    await asyncio.gather(*(submit(n) for n in range(SUBMISSIONS)))
    print(
        f"submitted: {time.monotonic() - started:.1f}s ({cluster.retried} request(s) retried,"
        f" {cluster.busy} form(s) sent again after a busy answer)"
    )
    await asyncio.wait_for(review, timeout=300)
    print(f"decided: {time.monotonic() - started:.1f}s")

    async def settled() -> bool:
        async with db.read() as r:
            busy = await r.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
            jobs = await r.session.scalar(
                select(func.count()).select_from(Job).where(Job.status != "done")
            )
        return busy == 0 and jobs == 0

    await fake.wait_for(settled, timeout=180, message="every message sent, every job done")
    print(f"delivered: {time.monotonic() - started:.1f}s")

    # -- the rounds, run by the replicas' schedulers ---------------------------------------
    await asyncio.gather(*(serve.stop() for serve in cluster.serves))
    async with db.transaction() as r:
        idle = select(Member.id).where(Member.external_id.in_(IDLE.values()))
        await r.session.execute(
            update(MemberRole)
            .where(MemberRole.member_id.in_(idle.scalar_subquery()))
            .values(granted_at=datetime.now(UTC) - timedelta(days=60))
        )
    for serve in cluster.serves:
        serve.env.update({"RELAIS_DIGEST_CHANNEL": DIGEST, "RELAIS_DIGEST_SCHEDULE": slot})
    await asyncio.gather(*(serve.start() for serve in cluster.serves))

    def dms(user: str) -> list[Call]:
        return [
            c for c in fake.calls_to("chat.postMessage") if c.ok and c.params["channel"] == user
        ]

    await fake.wait_for(
        lambda: (
            len({team_of(fake, c) for c in posted(fake) if c.params["channel"] == DIGEST})
            == len(WORKSPACES)
            and all(dms(user) for user in IDLE.values())
        ),
        timeout=60,
        message="the digest and the nudges",
    )
    await fake.wait_for(settled, timeout=60, message="the rounds delivered")
    await asyncio.sleep(2.0)  # anything sent twice would show up by now
    print(f"rounds: {time.monotonic() - started:.1f}s")

    # -- what Slack received ---------------------------------------------------------------
    assert killed_at is not None
    posts = [c for c in fake.calls_to("chat.postMessage") if c.ok]

    def doubles(calls: list[Call], key: Callable[[Call], Any]) -> list[Any]:
        """Keys sent more than once, each allowed only as the kill's window: twice, the
        first copy under way when the replica died."""
        by_key: dict[Any, list[Call]] = {}
        for call in calls:
            by_key.setdefault(key(call), []).append(call)
        extra = []
        for k, copies in by_key.items():
            if len(copies) > 1:
                first, *rest = sorted(copies, key=lambda c: c.at)
                assert len(rest) == 1 and first.at <= killed_at < rest[0].at, (k, len(copies))
                extra.append(k)
        assert len(extra) <= SEND_SLOTS, extra
        return extra

    cards = review_cards(fake)
    card_doubles = doubles(cards, card_id)
    card_team = {card_id(c): team_of(fake, c) for c in cards}
    assert sorted({card_id(c) for c in cards}) == sorted(decided)
    assert len(cards) == SUBMISSIONS + len(card_doubles)
    updates = [c for c in fake.calls_to("chat.update") if c.ok]
    assert Counter(c.params["channel"] for c in updates) == {REVIEW: len(updates)}
    # One update per decision (chat.update rewrites, so a repeat is harmless but counted).
    assert len({c.params["ts"] for c in updates}) == SUBMISSIONS
    doubles(updates, lambda c: (c.params["ts"], str(c.params.get("text"))))

    digests = [c for c in posts if c.params["channel"] == DIGEST]
    assert Counter(team_of(fake, c) for c in digests) == dict.fromkeys(WORKSPACES, 1), [
        (team_of(fake, c), c.params["text"]) for c in digests
    ]
    for user in IDLE.values():
        assert len(dms(user)) == 1, [c.params["text"] for c in dms(user)]

    # Every DM and post the outbox holds went out once (receipts, decisions, nudges...).
    async with db.read() as r:
        rows = list(
            await r.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "post"))
        )
        statuses = Counter(await r.session.scalars(select(OutboxMessage.status)))
        submissions = Counter(await r.session.scalars(select(Submission.status)))
        jobs = Counter(await r.session.scalars(select(Job.status)))
        digest_runs = list(
            await r.session.execute(
                select(ScheduleRun.kind, ScheduleRun.status).where(ScheduleRun.kind == "digest")
            )
        )
        teams = dict((await r.session.execute(select(Workspace.id, Workspace.external_id))).all())
    ephemeral = [row for row in rows if row.target.get("user")]
    rows = [row for row in rows if not row.target.get("user")]
    # Channel ids are a workspace's own: what was queued and delivered is counted by both.
    queued = Counter((teams[row.workspace_id], str(row.target["id"])) for row in rows)
    # A message with a photo (an approved photo shared) is a file upload to its channel.
    shares = [
        c
        for c in fake.calls_to("files.completeUploadExternal")
        if c.ok and c.params.get("channel_id")
    ]
    share_doubles = doubles(
        shares,
        lambda c: (team_of(fake, c), c.params["channel_id"], c.params["initial_comment"]),
    )
    delivered = Counter((team_of(fake, c), str(c.params["channel"])) for c in posts)
    delivered.update((team_of(fake, c), str(c.params["channel_id"])) for c in shares)
    post_doubles = doubles(
        [c for c in posts if c.params["channel"] != REVIEW],
        lambda c: (
            team_of(fake, c),
            c.params["channel"],
            str(c.params.get("text")),
            str(c.params.get("blocks")),
        ),
    )
    assert delivered - queued == Counter(
        [(card_team[sid], REVIEW) for sid in card_doubles]
        + [k[:2] for k in post_doubles + share_doubles]
    )
    assert queued - delivered == Counter(), "a queued message never reached Slack"
    # Replies only the CM sees (the decision confirmed in the review channel) arrived too.
    shown = {
        (c.params["channel"], c.params["user"], c.params["text"])
        for c in fake.calls_to("chat.postEphemeral")
        if c.ok
    }
    for row in ephemeral:
        seen = (row.target["id"], row.target["user"], row.payload.get("text"))
        assert seen in shown, seen
    for n_team, user in {author(n) for n in range(SUBMISSIONS)}:
        mine = sum(1 for n in range(SUBMISSIONS) if author(n) == (n_team, user))
        # A receipt per photo and an answer per decision.
        assert delivered[n_team, user] >= 2 * mine, (user, delivered[n_team, user], mine)
    assert statuses == {"sent": sum(statuses.values())}, statuses
    assert jobs == {"done": SUBMISSIONS}, jobs
    expected = Counter(
        {"approve": "approved", "reject": "rejected", "changes": "changes_requested"}[k]
        for k in decided.values()
    )
    assert submissions == expected, (submissions, expected)
    assert [status for _, status in digest_runs] == ["sent"] * len(WORKSPACES), digest_runs
    kill_doubles = len(card_doubles) + len(post_doubles) + len(share_doubles)
    print(f"doubles allowed by the kill's window: {kill_doubles}")
    print(f"total: {time.monotonic() - started:.1f}s")
