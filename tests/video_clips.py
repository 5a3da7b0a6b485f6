"""Real video clips for the tests, written with PyAV: a few frames, a place where the
clip was "shot" written into the container the way phones do, and a rotation.

No fixture file is shipped: each test makes the clip it needs in a few milliseconds.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

#: The coordinates written into every clip (the Eiffel Tower), and the bytes a
#: search of a stored or uploaded copy must not find.
LATITUDE = b"48.8584"
LONGITUDE = b"2.2945"
ISO6709 = "+48.8584+002.2945+035.000/"


def clip(
    fmt: str = "mov",
    codec: str = "libx264",
    *,
    rotation: int = 0,
    size: tuple[int, int] = (64, 48),
    frames: int = 10,
    rate: int = 10,
    audio: bool = True,
    apple_keys: bool = False,
    frame_seconds: int | None = None,
) -> bytes:
    """A clip whose top-left quarter is red and the rest black.

    ``fmt`` mov, mp4 or webm; the location is written as ``location`` (QuickTime
    ``©xyz``, MP4 ``loci``, a Matroska tag), and with ``apple_keys`` as the iPhone's
    ``com.apple.quicktime.location.ISO6709`` key. ``rotation`` (degrees
    counter-clockwise) goes into the display matrix as phones record it.
    ``frame_seconds`` spaces the frames that many seconds apart (a clip that declares
    a long duration in a few bytes)."""
    buf = io.BytesIO()
    options = {"movflags": "use_metadata_tags"} if apple_keys else {}
    out = av.open(buf, "w", format=fmt, options=options)
    out.metadata["location"] = ISO6709
    if apple_keys:
        out.metadata["com.apple.quicktime.location.ISO6709"] = ISO6709
    width, height = size
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    if frame_seconds:
        stream.time_base = Fraction(1, 1)
        stream.codec_context.time_base = Fraction(1, 1)
    if rotation:
        stream.set_display_rotation(rotation)
    sound = None
    if audio:
        sound = out.add_stream("libopus" if fmt == "webm" else "aac", rate=48000)
    picture = np.zeros((height, width, 3), np.uint8)
    picture[: height // 2, : width // 2] = (255, 0, 0)
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        if frame_seconds:
            frame.pts = i * frame_seconds
            frame.time_base = Fraction(1, 1)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
    if sound is not None:
        samples = sound.codec_context.frame_size or 1024
        for i in range(5):
            chunk = np.zeros((1, samples), np.float32)
            piece = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            piece.sample_rate = 48000
            piece.pts = i * samples
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
    out.close()
    return buf.getvalue()


def noise_clip(
    path: str, *, megabytes: int, seconds: int = 60, size=(1280, 720), mjpeg: bool = False
) -> None:
    """A clip of about ``megabytes`` MB written to ``path`` (for the memory bench), with
    a location in its container: noise frames in H.264/MP4 at the bitrate that fills the
    size over ``seconds``; with ``mjpeg``, MJPEG in a QuickTime file (which the intake
    must re-encode), as many frames as fill the size."""
    rate = 10
    rng = np.random.default_rng(1)
    with av.open(path, "w", format="mov" if mjpeg else "mp4") as out:
        out.metadata["location"] = ISO6709
        stream = out.add_stream("mjpeg" if mjpeg else "libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if mjpeg else "yuv420p"
        if not mjpeg:
            bitrate = megabytes * 8 * 2**20 // seconds
            stream.bit_rate = bitrate
            stream.options = {
                "preset": "ultrafast",
                "x264-params": f"bitrate={bitrate // 1000}:vbv-maxrate={bitrate // 1000}:"
                f"vbv-bufsize={bitrate // 1000}:nal-hrd=cbr:force-cfr=1",
            }
        written, frames = 0, 0
        while (written < megabytes * 2**20) if mjpeg else (frames < seconds * rate):
            noise = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(noise, format="rgb24")):
                written += packet.size
                out.mux(packet)
            frames += 1
        out.mux(stream.encode(None))


def location_tags(data: bytes) -> dict[str, str]:
    """Every container and stream tag of a clip whose name or value speaks of a place."""
    found: dict[str, str] = {}
    with av.open(io.BytesIO(data)) as c:
        tags = [c.metadata, *(s.metadata for s in c.streams)]
        for d in tags:
            for key, value in d.items():
                if any(w in key.lower() for w in ("location", "xyz", "gps", "xmp")) or (
                    "48.85" in value
                ):
                    found[key] = value
    return found


def rotation_of(data: bytes) -> int:
    """The display rotation of a clip's first frame (degrees counter-clockwise)."""
    with av.open(io.BytesIO(data)) as c:
        frame = next(c.decode(video=0))
        return int(frame.rotation)


def streams_of(data: bytes) -> list[tuple[str, str]]:
    """(type, codec) of each stream of a clip."""
    with av.open(io.BytesIO(data)) as c:
        return [(s.type, s.codec_context.name) for s in c.streams]
