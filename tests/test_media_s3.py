"""Photos in an S3-compatible bucket (``MEDIA_URL``), for replicas that share no disk,
against a local S3 server (moto in server mode, over HTTP)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.core import Core
from bot.media import MediaIntake
from bot.settings import Settings
from relais.doctor import run_doctor
from storage.db import Database
from storage.media_store import S3MediaStore, media_store
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, slack_settings
from tests.support import FakeClock, jpeg_bytes
from tests.test_slack import PEOPLE, join, submit_photo

BUCKET = "relais-media"
PREFIX = "prod/photos"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A local S3 server with an empty bucket; boto3 finds it through the AWS variables."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        server.stop()


def intake(store: S3MediaStore) -> MediaIntake:
    return MediaIntake(store, max_bytes=5_000_000, max_pixels=10_000_000)


async def test_a_replica_without_the_disk_reads_what_another_stored(
    s3: object, tmp_path: Path
) -> None:
    first = media_store(tmp_path / "replica-1", f"s3://{BUCKET}/{PREFIX}")
    second = media_store(tmp_path / "replica-2", f"s3://{BUCKET}/{PREFIX}")
    assert isinstance(first, S3MediaStore) and isinstance(second, S3MediaStore)
    image = await intake(first).intake_bytes(jpeg_bytes((10, 200, 30)))
    stored = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{image.storage_key}")  # type: ignore[attr-defined]
    assert stored["ContentType"] == "image/jpeg"
    data = stored["Body"].read()
    assert data == first.path(image.storage_key).read_bytes()

    assert not second.local_path(image.storage_key).exists()
    assert second.exists(image.storage_key)
    assert second.path(image.storage_key).read_bytes() == data  # fetched into its cache
    assert second.local_path(image.storage_key).is_file()

    missing = "ab/cd/abcd" + "0" * 60 + ".jpg"
    assert not second.exists(missing)
    assert not second.path(missing).exists()
    with pytest.raises(ValueError):
        second.exists("../../etc/passwd")

    first.delete(image.storage_key)
    assert not first.exists(image.storage_key)
    fresh = media_store(tmp_path / "replica-3", f"s3://{BUCKET}/{PREFIX}")
    assert not fresh.exists(image.storage_key)  # gone from the bucket


async def test_the_same_photo_twice_is_one_object(s3: object, tmp_path: Path) -> None:
    store = media_store(tmp_path / "a", f"s3://{BUCKET}")
    assert isinstance(store, S3MediaStore)
    one = await intake(store).intake_bytes(jpeg_bytes((1, 2, 3)))
    two = await intake(store).intake_bytes(jpeg_bytes((1, 2, 3)))
    assert one.storage_key == two.storage_key
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]  # type: ignore[attr-defined]
    assert [o["Key"] for o in listed] == [one.storage_key]


def test_media_url_must_name_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        media_store(tmp_path, "https://example.com/photos")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user, (name, real, locale) in PEOPLE.items():
            slack.add_user(user, name=name, real_name=real, display_name=real, locale=locale)
        yield slack


async def test_slack_review_card_photo_goes_through_the_bucket(
    s3: object, settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    on_s3 = settings.model_copy(update={"media_url": f"s3://{BUCKET}/{PREFIX}"})
    core = Core(slack_settings(on_s3, fake), db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        await join(rig, "UAMB")
        await submit_photo(rig, "UAMB", "From the field", "F1")
        await fake.wait_for(lambda: fake.completed_uploads, timeout=10)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]  # type: ignore[attr-defined]
    [obj] = listed
    body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()  # type: ignore[attr-defined]
    assert body in fake.uploads.values()  # Slack got the bucket's bytes


async def test_doctor_checks_the_bucket(
    s3: object, settings: Settings, db: Database, tmp_path: Path
) -> None:
    lines: list[str] = []
    good = settings.model_copy(update={"media_url": f"s3://{BUCKET}/{PREFIX}"})
    assert await run_doctor(good, requeue_dead=False, echo=lines.append), lines
    assert any("✓ media bucket s3://relais-media/prod/photos" in line for line in lines)
    lines.clear()
    bad = settings.model_copy(update={"media_url": "s3://no-such-bucket/x"})
    assert not await run_doctor(bad, requeue_dead=False, echo=lines.append)
    assert any("✗ media bucket s3://no-such-bucket/x" in line for line in lines)


async def test_retention_deletes_from_the_bucket_and_every_replica_cache(
    s3: object, settings: Settings, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    from tests.support import ambassador, member

    # moto keeps its buckets for the whole process: start from an empty one.
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):  # type: ignore[attr-defined]
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])  # type: ignore[attr-defined]
    url = f"s3://{BUCKET}/{PREFIX}"
    one = Core(
        settings.model_copy(update={"media_url": url, "media_dir": tmp_path / "r1"}),
        db,
        clock=clock,
    )
    two = Core(
        settings.model_copy(update={"media_url": url, "media_dir": tmp_path / "r2"}),
        db,
        clock=clock,
    )
    ana = await ambassador(one, "ana", "Ana")
    cm = await member(one, "cm1")
    rejected = await one.submissions.create(
        ana, photos=[await one.media.intake_bytes(jpeg_bytes((200, 10, 10)))], caption="no"
    )
    await one.review.reject(cm, rejected.id, "blurry")
    approved = await one.submissions.create(
        ana, photos=[await one.media.intake_bytes(jpeg_bytes((10, 10, 200)))], caption="yes"
    )
    await one.review.approve(cm, approved.id)
    (gone,), (kept,) = rejected.media_keys, approved.media_keys
    orphan = (await one.media.intake_bytes(jpeg_bytes((10, 200, 10)))).storage_key
    for key in (gone, kept, orphan):
        two.store.path(key)  # the other replica shows them: now in its cache
        assert two.store.local_path(key).is_file()

    clock.advance(days=91)
    assert await one.retention.tick() == 2  # the rejected photo and the orphan
    assert await two.retention.tick() == 0  # already done, but its cache is trimmed
    in_bucket = [
        o["Key"].removeprefix(f"{PREFIX}/")
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])  # type: ignore[attr-defined]
    ]
    assert in_bucket == [kept]
    for store in (one.store, two.store):
        assert not store.local_path(gone).exists()
        assert not store.local_path(orphan).exists()
    assert two.store.local_path(kept).is_file()
