"""Video intake: real clips made with PyAV in each test, no mocks."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bot.media import MediaIntake, MediaRejected
from storage.media_store import LocalMediaStore
from tests.video_clips import (
    ISO6709,
    LATITUDE,
    clip,
    location_tags,
    rotation_of,
    streams_of,
)

MIB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media")


@pytest.fixture
def intake(store: LocalMediaStore) -> MediaIntake:
    return MediaIntake(
        store,
        max_bytes=1 * MIB,
        max_pixels=40_000_000,
        max_video_bytes=2 * MIB,
        max_video_seconds=30,
    )


def stored_files(store: LocalMediaStore) -> list[Path]:
    """Every file in the store, temp files included (a refusal leaves none)."""
    return [p for p in store.root.rglob("*") if p.is_file()]


def committed_files(store: LocalMediaStore) -> list[Path]:
    return [
        p
        for p in store.root.rglob("*")
        if p.is_file() and p.relative_to(store.root).parts[0] != "tmp"
    ]


def test_the_clips_really_carry_a_location() -> None:
    """The fixtures hold what the tests remove: the coordinates, in tags and bytes."""
    for data in (
        clip("mov"),
        clip("mov", apple_keys=True),
        clip("mp4"),
        clip("webm", "libvpx-vp9"),
    ):
        assert location_tags(data), "the clip should carry a location tag"
    assert LATITUDE in clip("mov")  # QuickTime ©xyz holds the text as it is
    assert ISO6709.encode() in clip("mov", apple_keys=True)
    assert rotation_of(clip("mov", rotation=90)) == 90


@pytest.mark.parametrize(
    ("fmt", "codec", "kwargs", "mime", "kept_codec"),
    [
        ("mov", "libx264", {}, "video/mp4", "h264"),
        ("mov", "libx264", {"apple_keys": True}, "video/mp4", "h264"),
        ("mp4", "libx264", {}, "video/mp4", "h264"),
        ("webm", "libvpx-vp9", {}, "video/webm", "vp9"),
        # MJPEG cannot go into MP4 as it is: re-encoded to H.264.
        ("mov", "mjpeg", {}, "video/mp4", "h264"),
    ],
)
async def test_location_removed_rotation_kept_poster_taken(
    intake: MediaIntake,
    store: LocalMediaStore,
    fmt: str,
    codec: str,
    kwargs: dict[str, bool],
    mime: str,
    kept_codec: str,
) -> None:
    source = clip(fmt, codec, rotation=90, **kwargs)
    clean = await intake.intake_bytes(source)
    assert clean.is_video and clean.mime == mime
    stored = store.path(clean.storage_key).read_bytes()
    # No tag names a place, and no copy holds the coordinates in any form.
    assert location_tags(stored) == {}
    assert LATITUDE not in stored and b"\xa9xyz" not in stored and b"loci" not in stored
    assert rotation_of(stored) == 90
    # Only the picture and the sound are kept.
    assert [t for t, _ in streams_of(stored)] == ["video", "audio"]
    assert streams_of(stored)[0][1] == kept_codec
    # Shown upright: turned a quarter, 64 x 48 is displayed 48 x 64.
    assert (clean.width, clean.height) == (48, 64)
    poster_bytes = store.path(clean.poster_key).read_bytes()
    assert LATITUDE not in poster_bytes
    with Image.open(io.BytesIO(poster_bytes)) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (48, 64)
        assert not poster.getexif()
        # Turned 90° counter-clockwise: the red top-left quarter is now bottom-left.
        red, green, blue = poster.convert("RGB").getpixel((5, 58))
        assert red > 180 and green < 80 and blue < 80
        assert max(poster.convert("RGB").getpixel((5, 5))) < 60
    # Two files: the clip and its poster (no temp left behind).
    assert len(committed_files(store)) == 2
    assert len(stored_files(store)) == 2


async def test_unrotated_clip_stream_copied(intake: MediaIntake, store: LocalMediaStore) -> None:
    source = clip("mp4", rotation=0)
    clean = await intake.intake_bytes(source)
    stored = store.path(clean.storage_key).read_bytes()
    assert rotation_of(stored) == 0 and (clean.width, clean.height) == (64, 48)
    # The same packets: the H.264 stream is in the output as it was.
    with Image.open(store.path(clean.poster_key)) as poster:
        assert poster.size == (64, 48)


async def test_text_named_mp4_is_refused(intake: MediaIntake, store: LocalMediaStore) -> None:
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(b"this is not a video, just text in a file named clip.mp4\n")
    assert info.value.code == "unsupported_type"
    assert info.value.detail == {"accepted": "JPEG, PNG, WebP, MP4, MOV, WebM"}
    assert stored_files(store) == []


async def test_broken_clip_is_corrupt(intake: MediaIntake, store: LocalMediaStore) -> None:
    data = clip("mp4")
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(data[: len(data) // 3])
    assert info.value.code == "corrupt"
    assert stored_files(store) == []


async def test_oversize_clip_is_refused(store: LocalMediaStore) -> None:
    data = clip("mp4", size=(320, 240), frames=30)
    small = MediaIntake(
        store, max_bytes=len(data) * 4, max_pixels=40_000_000, max_video_bytes=len(data) // 2
    )
    with pytest.raises(MediaRejected) as info:
        await small.intake_bytes(data)
    assert info.value.code == "too_large"
    assert stored_files(store) == []


async def test_video_limit_is_not_the_photo_limit(store: LocalMediaStore) -> None:
    """A video larger than the photo limit (but within its own) is accepted."""
    data = clip("mp4", size=(320, 240), frames=30)
    intake = MediaIntake(
        store, max_bytes=len(data) // 2, max_pixels=40_000_000, max_video_bytes=len(data) * 2
    )
    clean = await intake.intake_bytes(data)
    assert clean.is_video


async def test_too_long_clip_is_refused(store: LocalMediaStore) -> None:
    intake = MediaIntake(store, max_bytes=MIB, max_pixels=40_000_000, max_video_seconds=2)
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(clip("mp4", frames=30, rate=10))  # three seconds
    assert info.value.code == "too_long"
    assert info.value.detail == {"limit_s": 2}
    assert stored_files(store) == []


async def test_duration_bomb_refused_before_decoding(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    """Four frames an hour apart: a few kilobytes that declare three hours."""
    data = clip("mp4", frames=4, frame_seconds=3600, audio=False)
    assert len(data) < 20_000
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(data)
    assert info.value.code == "too_long"
    assert stored_files(store) == []


async def test_frames_over_the_pixel_limit_refused_before_decoding(
    store: LocalMediaStore,
) -> None:
    intake = MediaIntake(store, max_bytes=MIB, max_pixels=100_000)
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(clip("mp4", size=(640, 480), frames=2))
    assert info.value.code == "too_many_pixels"
    assert stored_files(store) == []


async def test_audio_only_file_is_not_a_video(intake: MediaIntake, store: LocalMediaStore) -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=48000)
        for i in range(5):
            piece = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            piece.sample_rate, piece.pts = 48000, i * 1024
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
    with pytest.raises(MediaRejected) as info:
        await intake.intake_bytes(buf.getvalue())
    assert info.value.code == "unsupported_type"
    assert stored_files(store) == []


XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
XMP_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="48,51.504N" exif:GPSLongitude="2,17.67E"/></rdf:RDF></x:xmpmeta>'
)


def with_xmp_box(data: bytes) -> bytes:
    """The clip with a top-level ``uuid`` box of XMP holding GPS, as cameras write it."""
    payload = XMP_UUID + XMP_GPS
    return data + struct.pack(">I", 8 + len(payload)) + b"uuid" + payload


async def test_xmp_gps_box_is_not_kept(intake: MediaIntake, store: LocalMediaStore) -> None:
    source = with_xmp_box(clip("mp4", rotation=90))
    assert b"GPSLatitude" in source
    clean = await intake.intake_bytes(source)
    stored = store.path(clean.storage_key).read_bytes()
    assert b"GPSLatitude" not in stored and b"48,51" not in stored and XMP_UUID not in stored
    assert rotation_of(stored) == 90


@pytest.mark.parametrize("rotation", [90, 180, 270])
async def test_every_quarter_turn_is_kept(
    intake: MediaIntake, store: LocalMediaStore, rotation: int
) -> None:
    clean = await intake.intake_bytes(clip("mov", rotation=rotation, apple_keys=True))
    stored = store.path(clean.storage_key).read_bytes()
    # FFmpeg reads a display matrix of 270° counter-clockwise back as -90°.
    assert rotation_of(stored) % 360 == rotation
    quarter = rotation % 180 == 90
    assert (clean.width, clean.height) == ((48, 64) if quarter else (64, 48))
    with Image.open(store.path(clean.poster_key)) as poster:
        assert poster.size == (clean.width, clean.height)


async def test_sound_mp4_cannot_hold_is_re_encoded_and_the_picture_copied(
    intake: MediaIntake, store: LocalMediaStore
) -> None:
    """A QuickTime clip with PCM sound (some cameras): the H.264 packets are copied, the
    sound re-encoded to AAC."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mov") as out:
        out.metadata["location"] = "+48.8584+002.2945/"
        picture = out.add_stream("libx264", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("pcm_s16le", rate=48000)
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            out.mux(picture.encode(frame))
        out.mux(picture.encode(None))
        for i in range(5):
            piece = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.int16), format="s16", layout="mono"
            )
            piece.sample_rate, piece.pts = 48000, i * 1024
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
    clean = await intake.intake_bytes(buf.getvalue())
    stored = store.path(clean.storage_key).read_bytes()
    assert streams_of(stored) == [("video", "h264"), ("audio", "aac")]
    assert LATITUDE not in stored and location_tags(stored) == {}
