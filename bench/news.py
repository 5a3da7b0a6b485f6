"""Field news (no photo) from the submitted Slack modal to the review card, N people at once.

    .venv/bin/python bench/news.py [--people 50] [--database-url postgresql://...]

Relais (``build_server``, its job runner and outbox dispatcher) runs in this process on
127.0.0.1 with its Slack adapter pointed at a Slack-compatible server
(``tests.slack_api.FakeSlack``), on a temporary SQLite file unless ``--database-url``
names a PostgreSQL database the script may reset. ``--people`` ambassadors join and
open the form first (not timed); then every one of them submits a news item (title,
text, link) at the same moment, as signed ``view_submission`` requests. Printed: the
ack latency (request sent to response read), the time until each submission is
recorded (its job done: a news item has no photo to download), and the time until its
review card reached Slack. All cards go to one review channel, which Relais paces at
Slack's rate for a channel (a burst, then about one a second): the card figures are
that pace, not the work behind each item.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core import Core
from bot.settings import Settings
from storage.db import Database, upgrade
from storage.models import Submission
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, slack_settings, texts
from tests.support import FakeClock
from tests.test_slack import join


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<22} median {statistics.median(ms):7.1f} ms   p90 {pct(ms, 90):7.1f} ms   "
        f"p99 {pct(ms, 99):7.1f} ms   max {max(ms):7.1f} ms"
    )


async def reset_postgres(url: str) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


async def run(people: int, url: str, media: Path) -> None:
    async with FakeSlack() as fake:
        users = [f"UN{i:04d}" for i in range(people)]
        for user in users:
            fake.add_user(user, name=user.lower(), real_name=f"Ambassador {user}")
        fake.add_user("UCM1", name="carla", real_name="Carla CM")
        base = Settings(
            _env_file=None,
            database_url=url,
            media_dir=media,
            relais_locale="en",
            relais_timezone="Europe/Paris",
        )
        settings = slack_settings(base, fake, relais_cms=["UCM1"], relais_approvers=[])
        db = Database(url)
        core = Core(settings, db)
        async with SlackRig(core, fake, FakeClock()) as rig:
            forms = []
            for user in users:
                await join(rig, user)
                opened = len(fake.calls_to("views.open"))
                assert (await rig.command(user, "/submit", "")).status == 200
                forms.append(await rig.opened_view(opened + 1))
            await asyncio.sleep(0.5)
            cards_before = len(rig.posts_to(REVIEW))

            acks: list[float] = []
            sent_at: dict[str, float] = {}

            async def submit(i: int) -> None:
                title = f"News item {i:04d} from the field"
                values = {
                    "title": title,
                    "caption": "The site reopened after the works. " * 4,
                    "link": f"https://intranet.example.com/news/{i}",
                }
                start = time.perf_counter()
                sent_at[title] = start
                response = await rig.submit(users[i], forms[i], values, view_id=f"VN{i}")
                answer = await response.json()
                acks.append(time.perf_counter() - start)
                assert answer["response_action"] == "update", answer

            began = time.perf_counter()
            await asyncio.gather(*(submit(i) for i in range(people)))
            recorded_at: float | None = None
            carded: dict[str, float] = {}
            deadline = began + 600
            while len(carded) < people and time.perf_counter() < deadline:
                now = time.perf_counter()
                if recorded_at is None:
                    async with db.read() as r:
                        count = await r.session.scalar(select(func.count()).select_from(Submission))
                    if count == people:
                        recorded_at = now
                for card in rig.posts_to(REVIEW)[cards_before:]:
                    shown = texts(card["blocks"])
                    for title in sent_at:
                        if title not in carded and title in shown:
                            carded[title] = now
                await asyncio.sleep(0.01)
            assert len(carded) == people, f"{len(carded)} of {people} cards arrived"
            to_card = [carded[t] - sent_at[t] for t in sent_at]
            print(f"news items submitted at once: {people} ({db.engine.dialect.name})")
            print(line("ack", acks))
            if recorded_at is not None:
                print(f"{'all recorded after':<22} {(recorded_at - began) * 1000:7.1f} ms")
            print(line("review card at Slack", to_card))
            first = sorted(to_card)[: min(10, people)]
            print(line("first 10 cards", first))
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'news.db'}"
        if args.database_url:
            asyncio.run(reset_postgres(url))
        upgrade(url)
        asyncio.run(run(args.people, url, Path(tmp) / "media"))


if __name__ == "__main__":
    main()
