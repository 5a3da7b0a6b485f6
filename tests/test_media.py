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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps

from bot.media import (
    ACCEPTED_FORMATS,
    MediaIntake,
    MediaRejected,
    PhotoBudget,
    decoded_bytes,
    jpeg_check_bytes,
    strip_jpeg,
)
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
    assert info.value.detail == {"accepted": "JPEG, PNG, WebP, MP4, MOV, WebM"}
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
    source = jpeg_with_gps((40, 20))
    clean = await intake.intake_bytes(source)
    # Upright size for whoever shows it; the stored pixels are not turned, the
    # orientation tag turns them when displayed.
    assert (clean.width, clean.height) == (20, 40)
    with Image.open(store.path(clean.storage_key)) as img:
        assert img.size == (40, 20)
        assert dict(img.getexif()) == {0x0112: 6}
        assert not img.getexif().get_ifd(0x8825)
        assert "comment" not in img.info
        assert "xmp" not in img.info
        assert ImageOps.exif_transpose(img).size == (20, 40)
    raw = store.path(clean.storage_key).read_bytes()
    assert b"PhoneMaker" not in raw
    assert b"secret comment" not in raw
    assert same_pixels(source, raw)


# --- JPEG: cleaned at the byte level, never decoded at full size ----------------------

XMP = (
    b"http://ns.adobe.com/xap/1.0/\x00"
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    b'exif:GPSLatitude="48,51.49N" xmp:CreatorTool="xmp-secret"/></rdf:RDF></x:xmpmeta>'
)
# Photoshop resource block 0x0404 (IPTC-NAA) with an IPTC by-line record (2:80).
IPTC = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0f\x1c\x02P\x00\x0biptc-secret\x00"
SECRETS = (b"xmp-secret", b"iptc-secret", b"vendor-secret", b"thumb-secret", b"PhoneMaker")


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """The marker segments of a JPEG up to its first scan (marker, payload)."""
    return _walk(data)[0]


def from_first_scan(data: bytes) -> bytes:
    """A JPEG from its first SOS marker on (the scans and what lies between them)."""
    return data[_walk(data)[1] :]


def _walk(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    assert data[:2] == b"\xff\xd8"
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        found.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found, pos


def same_pixels(a: bytes, b: bytes) -> bool:
    with Image.open(io.BytesIO(a)) as one, Image.open(io.BytesIO(b)) as two:
        return one.mode == two.mode and one.size == two.size and one.tobytes() == two.tobytes()


def exif_with_thumbnail(orientation: int) -> bytes:
    """An Exif APP1 payload by hand: IFD0 (Make, Orientation), IFD1 with a JPEG thumbnail."""
    thumb = image_bytes("JPEG", (16, 12), comment=b"thumb-secret")
    make = b"PhoneMaker\x00"
    ifd0 = 8
    ifd0_size = 2 + 2 * 12 + 4
    make_at = ifd0 + ifd0_size
    ifd1 = make_at + len(make)
    ifd1_size = 2 + 2 * 12 + 4
    thumb_at = ifd1 + ifd1_size
    tiff = b"II*\x00" + struct.pack("<I", ifd0)
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x010F, 2, len(make), make_at)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<I", ifd1) + make
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    tiff += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    tiff += struct.pack("<I", 0) + thumb
    return b"Exif\x00\x00" + tiff


def phone_jpeg(
    size: tuple[int, int] = (200, 150), *, orientation: int = 6, mode: str = "RGB", **save
) -> bytes:
    """A JPEG made with Pillow (and ``save`` options), then given what phones and
    editors add after SOI: Exif with a thumbnail, XMP, IPTC, a comment, a JFXX
    thumbnail, FlashPix and vendor segments."""
    plain = image_bytes("JPEG", size, mode=mode, **save)
    extra = (
        segment(0xE1, exif_with_thumbnail(orientation))
        + segment(0xE1, XMP)
        + segment(0xED, IPTC)
        + segment(0xFE, b"vendor-secret comment")
        + segment(0xE0, b"JFXX\x00\x10" + image_bytes("JPEG", (8, 8), comment=b"thumb-secret"))
        + segment(0xE2, b"FPXR\x00vendor-secret")  # FlashPix, not ICC
        + segment(0xE9, b"vendor-secret APP9")
        + segment(0xEF, b"vendor-secret APP15")
    )
    data = plain[:2] + extra + plain[2:]
    with Image.open(io.BytesIO(data)) as check:  # the fixture carries what it says
        assert check.getexif()[0x0112] == orientation
        assert "xmp" in check.info
    return data


def assert_clean(source: bytes, stored: bytes, orientation: int) -> None:
    for secret in SECRETS:
        assert secret not in stored, secret
    markers = [m for m, _ in segments(stored)]
    assert 0xFE not in markers and 0xED not in markers
    assert not [m for m in markers if 0xE3 <= m <= 0xEF and m != 0xEE]
    app1 = [p for m, p in segments(stored) if m == 0xE1]
    with Image.open(io.BytesIO(stored)) as img:
        assert "xmp" not in img.info and "comment" not in img.info
        assert "photoshop" not in img.info
        if orientation == 1:
            assert app1 == [] and "exif" not in img.info
        else:
            assert len(app1) == 1
            exif = img.getexif()
            assert dict(exif) == {0x0112: orientation}
            assert not exif.get_ifd(0x8825) and not exif.get_ifd(0x8769)
            # No IFD1: the Exif thumbnail went with the rest.
            assert b"\x02\x01" not in app1[0] and b"\x01\x02" not in app1[0][14:]
    assert same_pixels(source, stored)
    assert stored.endswith(b"\xff\xd9")


async def test_jpeg_metadata_gone_pixels_identical(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    source = phone_jpeg(orientation=6)
    clean = await intake.intake_bytes(source)
    stored = store.path(clean.storage_key).read_bytes()
    assert_clean(source, stored, 6)
    assert (clean.width, clean.height) == (150, 200)
    assert clean.size == len(stored) < len(source)
    # The scan is copied byte for byte.
    assert from_first_scan(source) == from_first_scan(stored)
    markers = [m for m, _ in segments(stored)]
    # JFIF first, then the orientation, then the tables and frame as they were.
    assert markers[:2] == [0xE0, 0xE1]
    jfif = dict(segments(stored))[0xE0]
    assert jfif.startswith(b"JFIF\x00") and len(jfif) == 14 and jfif[12:] == b"\x00\x00"


@pytest.mark.parametrize(
    "save",
    [
        {"progressive": True},
        {"restart_marker_rows": 1},
        {"progressive": True, "restart_marker_blocks": 3},
        {"subsampling": 0, "quality": 95},
    ],
    ids=["progressive", "restart-markers", "progressive-restart", "444"],
)
async def test_jpeg_kinds_stay_lossless(
    intake: MediaIntake, store: LocalMediaStore, save: dict[str, object]
) -> None:
    source = phone_jpeg((333, 217), orientation=3, **save)
    if "restart_marker_rows" in save or "restart_marker_blocks" in save:
        assert b"\xff\xdd" in source and b"\xff\xd0" in source
    if save.get("progressive"):
        assert source.count(b"\xff\xda") > 1
    clean = await intake.intake_bytes(source)
    stored = store.path(clean.storage_key).read_bytes()
    assert_clean(source, stored, 3)
    assert (clean.width, clean.height) == (333, 217)


async def test_jpeg_icc_profile_and_adobe_transform_kept(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = phone_jpeg((120, 90), orientation=1, icc_profile=icc)
    stored = store.path((await intake.intake_bytes(source)).storage_key).read_bytes()
    assert_clean(source, stored, 1)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.info["icc_profile"] == icc
    # A CMYK JPEG needs Adobe's APP14 to decode to the same colours.
    cmyk = phone_jpeg((64, 48), orientation=1, mode="CMYK")
    assert b"Adobe" in cmyk
    stored = store.path((await intake.intake_bytes(cmyk)).storage_key).read_bytes()
    assert 0xEE in dict(segments(stored))
    assert_clean(cmyk, stored, 1)


async def test_jpeg_garbage_after_eoi_dropped(intake: MediaIntake, store: LocalMediaStore) -> None:
    source = phone_jpeg((64, 48), orientation=8)
    tail = b"vendor-secret trailer" + image_bytes("JPEG", (8, 8))  # like an MPF image
    clean = await intake.intake_bytes(source + tail)
    stored = store.path(clean.storage_key).read_bytes()
    assert_clean(source, stored, 8)
    assert stored.count(b"\xff\xd9") == 1


async def test_jpeg_with_more_images_keeps_the_first(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    # A multi-picture JPEG (MPF), as phones write with a depth or gain map after EOI.
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    first = Image.open(io.BytesIO(image_bytes("JPEG", (64, 48))))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (32, 24))], exif=exif)
    source = buf.getvalue()
    with Image.open(io.BytesIO(source)) as check:
        assert check.format == "MPO" and getattr(check, "n_frames", 1) == 2
        first_pixels = check.tobytes()
    clean = await intake.intake_bytes(source)
    assert clean.mime == "image/jpeg" and (clean.width, clean.height) == (48, 64)
    stored = store.path(clean.storage_key).read_bytes()
    assert stored.count(b"\xff\xd8") == 1 and stored.count(b"\xff\xd9") == 1
    assert b"MPF" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and img.size == (64, 48)
        assert dict(img.getexif()) == {0x0112: 6}
        assert img.tobytes() == first_pixels


@pytest.mark.parametrize(
    "cut",
    [
        lambda d: d[: d.index(b"\xff\xed") + 20],  # inside the IPTC segment
        lambda d: d[: d.index(b"\xff\xda") + 3],  # inside the scan header
        lambda d: d[: len(d) - 200],  # in the entropy-coded data
        lambda d: d[:-2],  # only EOI missing
    ],
    ids=["metadata", "scan-header", "entropy-data", "eoi"],
)
async def test_truncated_jpeg_kinds_are_corrupt(
    intake: MediaIntake, store: LocalMediaStore, cut: Callable[[bytes], bytes]
) -> None:
    for save in ({}, {"progressive": True}):
        with pytest.raises(MediaRejected) as info:
            await intake.intake_bytes(cut(phone_jpeg((200, 150), **save)))
        assert info.value.code == "corrupt"
    assert tmp_files(store) == []
    assert stored_files(store) == []


async def test_jpeg_that_copies_but_does_not_decode_is_corrupt(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    # Well-formed segments, but without its quantisation tables the scan cannot decode:
    # only the 1/8-scale decode of the copy can tell.
    source = image_bytes("JPEG", (200, 150))
    no_dqt = source
    while (at := no_dqt.find(b"\xff\xdb")) >= 0:
        (length,) = struct.unpack(">H", no_dqt[at + 2 : at + 4])
        no_dqt = no_dqt[:at] + no_dqt[at + 2 + length :]
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(no_dqt)
    assert info.value.code == "corrupt"
    assert stored_files(store) == [] and tmp_files(store) == []


def test_strip_jpeg_streams_across_chunk_edges() -> None:
    # 0xFF bytes of the entropy-coded data land on every chunk edge: the copy must not
    # take a stuffed 0xFF00 or a restart marker split across two reads for a marker.
    source = phone_jpeg((900, 700), orientation=2, restart_marker_blocks=1, quality=100)
    assert len(source) > 4 * 64 * 1024
    out = io.BytesIO()
    strip_jpeg(io.BytesIO(source), out, orientation=2)
    assert_clean(source, out.getvalue(), 2)


FUZZ_SOURCE = phone_jpeg((48, 40), orientation=5, progressive=True, restart_marker_blocks=2)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(FUZZ_SOURCE) - 1), st.integers(0, 255), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    cut=st.integers(0, len(FUZZ_SOURCE)),
)
def test_damaged_jpegs_are_refused_or_clean(
    tmp_path: Path, edits: list[tuple[int, int, bool]], cut: int
) -> None:
    """Bytes changed, inserted or cut anywhere: a photo is refused with a MediaRejected,
    or stored as a JPEG that decodes and holds no metadata; never another error."""
    data = bytearray(FUZZ_SOURCE)
    for at, value, insert in edits:
        if insert:
            data.insert(at, value)
        else:
            data[at] = value
    store = LocalMediaStore(tmp_path / "fuzz")
    intake = MediaIntake(store, max_bytes=MIB, max_pixels=40_000_000)
    try:
        clean = asyncio.run(intake.intake_bytes(bytes(data[:cut] if cut else data)))
    except MediaRejected:
        pass
    else:
        stored = store.path(clean.storage_key).read_bytes()
        for secret in SECRETS:
            assert secret not in stored
        if clean.mime == "image/jpeg":
            with Image.open(io.BytesIO(stored)) as img:
                img.load()
                assert set(img.getexif()) <= {0x0112}
    assert tmp_files(store) == []


def test_jpeg_check_cost_from_the_header() -> None:
    with Image.open(io.BytesIO(image_bytes("JPEG", (64, 48)))) as small:
        assert jpeg_check_bytes(small) == 8 * 6 * 4  # 1/8 scale, four bytes a pixel
    with Image.open(io.BytesIO(image_bytes("JPEG", (333, 217)))) as odd:
        assert jpeg_check_bytes(odd) == 42 * 28 * 4
        odd.draft("RGB", (333 // 8, 217 // 8))
        assert odd.size == (42, 28)  # what Pillow's draft really gives
    progressive = image_bytes("JPEG", (320, 240), progressive=True)  # 4:2:0
    with Image.open(io.BytesIO(progressive)) as img:
        coefficients = (40 * 30 + 2 * 20 * 15) * 64 * 2  # Y blocks, then Cb and Cr
        assert jpeg_check_bytes(img) == 40 * 30 * 4 + coefficients


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
    cost = 50 * 38 * 4  # a JPEG's check: its pixels at 1/8 scale
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
    # Room for one of these photos' 1/8-scale check (50 x 38 pixels at most), not two.
    budget = PhotoBudget(50 * 40 * 4 * 3 // 2)
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
    assert budget.peak == max(-(-w // 8) * -(-h // 8) * 4 for w, h in sizes)
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
