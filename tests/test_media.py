"""Photo intake: real files made with Pillow, no mocks."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from PIL import Image

from bot.media import ACCEPTED_FORMATS, MediaIntake, MediaRejected, PhotoBudget, decoded_bytes
from storage.media_store import LocalMediaStore

MIB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media")


@pytest.fixture
def intake(store: LocalMediaStore) -> MediaIntake:
    return MediaIntake(store, max_bytes=1 * MIB, max_pixels=40_000_000)


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save) -> bytes:
    img = Image.new(mode, size)
    # A gradient rather than a flat colour, so the encoders have real work to do.
    img.putdata(
        [
            ((x * 7) % 256, (y * 5) % 256, (x + y) % 256)[: len(mode)]
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a tiny IDAT: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tmp_files(store: LocalMediaStore) -> list[Path]:
    tmp = store.root / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


def stored_files(store: LocalMediaStore) -> list[Path]:
    files = [p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file()]
    return [p for p in files if p.parts[0] != "tmp"]


async def test_normal_jpeg(intake: MediaIntake, store: LocalMediaStore) -> None:
    clean = await intake.intake_bytes(image_bytes("JPEG", (64, 48)))
    assert clean.mime == "image/jpeg"
    assert (clean.width, clean.height) == (64, 48)
    path = store.path(clean.storage_key)
    assert path.is_file()
    assert path.stat().st_size == clean.size
    assert clean.storage_key.endswith(f"{clean.sha256}.jpg")
    assert store.exists(clean.storage_key)
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert img.size == (64, 48)
    assert tmp_files(store) == []


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_kept_in_their_format(intake: MediaIntake, fmt: str) -> None:
    clean = await intake.intake_bytes(image_bytes(fmt, (30, 20), mode="RGBA"))
    assert clean.mime == ACCEPTED_FORMATS[fmt][0]
    assert (clean.width, clean.height) == (30, 20)


async def test_oversize_stream_stops_early(intake: MediaIntake, store: LocalMediaStore) -> None:
    state = {"yielded": 0, "closed": False}

    async def huge() -> AsyncIterator[bytes]:
        try:
            for _ in range(1000):
                state["yielded"] += 1
                yield b"\xff" * (64 * 1024)
        finally:
            state["closed"] = True

    with pytest.raises(MediaRejected) as info:
        await intake.intake(huge())
    assert info.value.code == "too_large"
    assert info.value.detail == {"limit_mb": 1}
    # 1 MiB / 64 KiB = 16 chunks fit; the 17th passes the limit and reading stops there.
    assert state["yielded"] == 17
    assert state["closed"]
    assert tmp_files(store) == []
    assert stored_files(store) == []


async def test_empty(intake: MediaIntake) -> None:
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(b"")
    assert info.value.code == "empty"


async def test_html_named_jpg_is_unsupported(
    intake: MediaIntake, store: LocalMediaStore, tmp_path: Path
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"<!doctype html><html><body><script>alert(1)</script></body></html>")
    with pytest.raises(MediaRejected) as info:
        await intake.intake_path(fake)
    assert info.value.code == "unsupported_type"
    assert info.value.detail == {"accepted": "JPEG, PNG, WebP"}
    assert tmp_files(store) == []


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
async def test_other_image_formats_are_unsupported(
    intake: MediaIntake, tmp_path: Path, fmt: str
) -> None:
    # Named .jpg on purpose: only the content decides.
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes(fmt, (16, 16)))
    with pytest.raises(MediaRejected) as info:
        await intake.intake_path(path)
    assert info.value.code == "unsupported_type"


async def test_decompression_bomb_refused_from_header(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    bomb = png_header_only(60_000, 60_000)
    assert len(bomb) < 200
    started = time.perf_counter()
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(bomb)
    assert info.value.code == "too_many_pixels"
    assert info.value.detail == {"limit_mp": 40}
    # 3.6 gigapixels were never allocated or decoded.
    assert time.perf_counter() - started < 2
    assert tmp_files(store) == []


async def test_over_our_limit_but_under_pillows(intake: MediaIntake) -> None:
    # 64 MP: below Pillow's own bomb threshold, above max_pixels; checked before decoding.
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(png_header_only(8_000, 8_000))
    assert info.value.code == "too_many_pixels"


async def test_pillow_bomb_warning_is_an_error(store: LocalMediaStore) -> None:
    # Our limit set above Pillow's warning threshold (~89 MP): the warning must still refuse.
    lenient = MediaIntake(store, max_bytes=MIB, max_pixels=150_000_000)
    with pytest.raises(MediaRejected) as info:
        await lenient.intake_bytes(png_header_only(10_000, 10_000))
    assert info.value.code == "too_many_pixels"


async def test_truncated_jpeg_is_corrupt(intake: MediaIntake, store: LocalMediaStore) -> None:
    data = image_bytes("JPEG", (200, 150))
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(data[: len(data) // 2])
    assert info.value.code == "corrupt"
    assert tmp_files(store) == []
    assert stored_files(store) == []


async def test_garbage_after_jpeg_signature_is_corrupt(intake: MediaIntake) -> None:
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    assert info.value.code == "corrupt"


def jpeg_with_gps(size: tuple[int, int]) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel 12"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (48.0, 51.0, 29.6)  # GPSLatitude
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = (2.0, 17.0, 40.2)  # GPSLongitude
    data = image_bytes("JPEG", size, exif=exif, comment=b"secret comment")
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries GPS
        assert check.getexif().get_ifd(0x8825)
    return data


async def test_exif_and_gps_removed_orientation_kept(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    clean = await intake.intake_bytes(jpeg_with_gps((40, 20)))
    assert (clean.width, clean.height) == (20, 40)
    with Image.open(store.path(clean.storage_key)) as img:
        assert img.size == (20, 40)
        assert dict(img.getexif()) == {}
        assert not img.getexif().get_ifd(0x8825)
        assert "exif" not in img.info
        assert "comment" not in img.info
        assert "xmp" not in img.info
    raw = store.path(clean.storage_key).read_bytes()
    assert b"Exif" not in raw
    assert b"PhoneMaker" not in raw


async def test_same_photo_twice_is_stored_once(
    intake: MediaIntake, store: LocalMediaStore, tmp_path: Path
) -> None:
    data = jpeg_with_gps((40, 20))
    first = await intake.intake_bytes(data)
    path = tmp_path / "again.jpeg"
    path.write_bytes(data)
    second = await intake.intake_path(path)
    assert first == second
    assert len(stored_files(store)) == 1
    assert tmp_files(store) == []


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../etc/passwd",
        "ab/cd/" + "a" * 64 + ".jpg",  # shard does not match the hash
        "aa/aa/" + "a" * 64 + ".exe",
        "aa/aa/" + "a" * 64 + ".jpg\n",
        "AA/AA/" + "A" * 64 + ".jpg",
        "aa\\aa\\" + "a" * 64 + ".jpg",
        "",
    ],
)
def test_store_path_refuses_bad_keys(store: LocalMediaStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.path(key)


def test_store_commit_and_delete(store: LocalMediaStore) -> None:
    sha = "ab" * 32
    temp = store.new_temp_path()
    temp.write_bytes(b"x")
    key = store.commit(temp, sha, "png")
    assert key == f"ab/ab/{sha}.png"
    assert store.path(key) == store.root / key
    assert store.exists(key) and not temp.exists()
    again = store.new_temp_path()
    again.write_bytes(b"x")
    assert store.commit(again, sha, "png") == key
    assert not again.exists()
    store.delete(key)
    store.delete(key)  # missing is fine
    assert not store.exists(key)


# --- Memory: the photo budget -------------------------------------------------------


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 10 s, a guard, not a measurement) until ``condition()`` holds."""

    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 10 s"
        await asyncio.sleep(0.01)


async def test_budget_serialises_work_whose_sum_exceeds_it() -> None:
    budget = PhotoBudget(100)
    running: set[str] = set()
    seen_together: list[set[str]] = []
    gates = {name: asyncio.Event() for name in "ABC"}

    async def work(name: str, amount: int) -> None:
        async with budget.hold(amount):
            running.add(name)
            seen_together.append(set(running))
            await gates[name].wait()
            running.discard(name)

    a = asyncio.create_task(work("A", 60))
    await until(lambda: "A" in running)
    b = asyncio.create_task(work("B", 60))
    await until(lambda: budget.waiting == 1)
    # C would fit beside A, but it arrived after B: it waits its turn (B is not starved).
    c = asyncio.create_task(work("C", 30))
    await until(lambda: budget.waiting == 2)
    assert running == {"A"} and budget.in_use == 60
    gates["A"].set()
    await until(lambda: running == {"B", "C"})
    assert budget.in_use == 90
    gates["B"].set()
    gates["C"].set()
    await asyncio.gather(a, b, c)
    assert budget.in_use == 0 and budget.peak == 90
    # A (60) never ran beside B (60): their sum is over the budget.
    assert not any({"A", "B"} <= together for together in seen_together)


async def test_work_larger_than_the_budget_runs_alone() -> None:
    budget = PhotoBudget(100)
    small_done = asyncio.Event()

    async with budget.hold(10):
        big = asyncio.create_task(_hold_once(budget, 500))
        await until(lambda: budget.waiting == 1)
        assert not big.done()
    held = await big
    assert held == 100  # the whole budget, not more: nothing else runs beside it
    async with budget.hold(10):
        small_done.set()
    assert small_done.is_set() and budget.in_use == 0


async def _hold_once(budget: PhotoBudget, amount: int) -> int:
    async with budget.hold(amount) as held:
        return held


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    budget = PhotoBudget(100)
    async with budget.hold(80):
        waiter = asyncio.create_task(_hold_once(budget, 50))
        await until(lambda: budget.waiting == 1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert budget.waiting == 0
        assert await _hold_once(budget, 20) == 20
    assert budget.in_use == 0


def test_decoded_bytes_from_the_header() -> None:
    with Image.open(io.BytesIO(image_bytes("JPEG", (64, 48)))) as plain:
        assert decoded_bytes(plain) == 64 * 48 * 4  # RGB is four bytes a pixel in Pillow
    with Image.open(io.BytesIO(jpeg_with_gps((64, 48)))) as turned:
        assert decoded_bytes(turned) == 64 * 48 * 4 * 2  # orientation 6: a turned copy
    grey_png = io.BytesIO()
    Image.new("L", (64, 48), 128).save(grey_png, "PNG")
    with Image.open(grey_png) as grey:
        # A PNG may hold its EXIF after the pixels: a turned copy is counted.
        assert decoded_bytes(grey) == 64 * 48 * 2
    with Image.open(io.BytesIO(image_bytes("WEBP", (64, 48)))) as webp:
        assert decoded_bytes(webp) == 64 * 48 * 4 * 4


async def test_intake_waits_for_its_share_before_decoding(store: LocalMediaStore) -> None:
    data = image_bytes("JPEG", (400, 300))
    cost = 400 * 300 * 4
    budget = PhotoBudget(cost * 3 // 2)
    intake = MediaIntake(store, max_bytes=MIB, max_pixels=40_000_000, budget=budget)
    async with budget.hold(cost):  # other photo work holds two thirds of the budget
        task = asyncio.create_task(intake.intake_bytes(data))
        await until(lambda: budget.waiting == 1)
        # Received and checked from the header, but not decoded or stored.
        assert stored_files(store) == []
        assert not task.done()
    clean = await task
    assert stored_files(store) == [Path(clean.storage_key)]
    assert budget.peak == cost and budget.in_use == 0


async def test_parallel_intakes_over_the_budget_take_turns(store: LocalMediaStore) -> None:
    sizes = [(400, 300), (300, 400), (380, 320), (320, 380)]
    budget = PhotoBudget(400 * 300 * 4 * 3 // 2)  # room for one of these photos, not two
    intake = MediaIntake(store, max_bytes=MIB, max_pixels=40_000_000, budget=budget)
    waited = 0

    async def watch() -> None:
        nonlocal waited
        while True:
            waited = max(waited, budget.waiting)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        cleaned = await asyncio.gather(
            *(intake.intake_bytes(image_bytes("JPEG", size)) for size in sizes)
        )
    finally:
        watcher.cancel()
    assert sorted((c.width, c.height) for c in cleaned) == sorted(sizes)
    # Never two decoded at once: the most held is the largest photo's cost.
    assert budget.peak == max(w * h * 4 for w, h in sizes)
    assert waited >= 1
    assert budget.in_use == 0 and tmp_files(store) == []


async def test_a_cancelled_caller_keeps_the_share_until_its_thread_ends() -> None:
    budget = PhotoBudget(100)
    gate = threading.Event()
    caller = asyncio.create_task(budget.run(80, gate.wait, 30))
    await until(lambda: budget.in_use == 80)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    # A thread cannot be stopped: its memory is still in use, and so is its share.
    assert budget.in_use == 80
    gate.set()
    await until(lambda: budget.in_use == 0)
    assert await budget.run(100, sum, (1, 2)) == 3
