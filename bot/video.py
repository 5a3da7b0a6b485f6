"""Video intake: check a received clip, strip its metadata, keep its rotation, take a
poster frame; called by :class:`bot.media.MediaIntake` in a worker thread.

Phones write where a clip was shot into the container (QuickTime ``©xyz`` and
``com.apple.quicktime.location.ISO6709`` keys, MP4 ``loci``, XMP with GPS in ``udta``
or ``uuid`` boxes, Matroska tags) and sometimes into a timed metadata track. A clip is
therefore never kept as received: it is rewritten with PyAV (FFmpeg's libraries) into
a new container that holds only the first video stream and the first audio stream,
with no container or stream metadata at all. The codec parameters are copied, and with
them the display matrix (the rotation a phone records instead of turning the pixels),
which FFmpeg keeps as codec side data, not as metadata. The packets are copied as they
are (no re-encoding) when the codec fits the output container: H.264, HEVC, AV1 and
MPEG-4 video with AAC, MP3 or Opus audio go into MP4; VP8 and VP9 with Opus or Vorbis
into WebM. Anything else is re-encoded to H.264 and AAC in MP4.

Before anything is decoded, the header's declarations are checked: the demuxer is the
one our own sniffing picked (never FFmpeg's guess, so an HLS playlist or a concat
script cannot open other files), the picture size against a pixel limit, the declared
duration and frame count against the duration limit. Decoders get the same pixel limit
(``max_pixels``), and the copy stops as soon as a packet lies past the duration limit,
so a clip that lies in its header is caught too.

Work is streamed: packets go from the file received to the file written one at a time,
so memory does not grow with the clip's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
from av.container import InputContainer, OutputContainer

from bot.media import ACCEPTED_LABEL, CleanImage, MediaRejected, hash_file, in_units
from storage.media_store import LocalMediaStore

__all__ = [
    "VIDEO_DECODE_BYTES",
    "VIDEO_MIME",
    "Demuxer",
    "VideoLimits",
    "VideoPlan",
    "probe_video",
    "rewrite_video",
    "sniff_video",
]

Demuxer = Literal["mov", "matroska"]
# PyAV's stubs type streams and frames as unions of every kind; the code below only
# ever holds the video or audio stream it picked.
AnyStream = Any

#: What the demuxers we allow call themselves once a file is open.
_DEMUXER_NAMES = frozenset(("mov", "mp4", "matroska", "webm"))
#: Output container -> (MIME type, extension).
VIDEO_MIME: dict[str, tuple[str, str]] = {
    "mp4": ("video/mp4", "mp4"),
    "webm": ("video/webm", "webm"),
}
_COPY_VIDEO = {
    "mp4": frozenset(("h264", "hevc", "av1", "mpeg4")),
    "webm": frozenset(("vp8", "vp9")),
}
_COPY_AUDIO = {"mp4": frozenset(("aac", "mp3", "opus")), "webm": frozenset(("opus", "vorbis"))}
# QuickTime files from old cameras may start with these atoms instead of ``ftyp``.
_MOV_ATOMS = frozenset((b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"))
_EBML = b"\x1a\x45\xdf\xa3"
#: More frames a second than any phone records: a declared frame count above this rate
#: over the duration limit is a lie.
_MAX_FPS = 480
#: The poster frame's longest side, in pixels.
POSTER_SIDE = 1280
_POSTER_QUALITY = 85
_US = 1_000_000  # FFmpeg's AV_TIME_BASE
#: What decoding the poster frame may hold at once, counted in the photo budget: a few
#: 4K frames (a decoder keeps reference frames, and the frame turned into a picture).
VIDEO_DECODE_BYTES = 3840 * 2160 * 4 * 4


@dataclass(frozen=True)
class VideoLimits:
    """How long a clip may be and how many pixels its frames may have."""

    max_seconds: float
    max_pixels: int


@dataclass(frozen=True)
class VideoPlan:
    """What :func:`probe_video` learnt from a clip: how to rewrite it, and its poster
    frame (a JPEG in a temp file of the store until :func:`rewrite_video` commits it)."""

    width: int  # as displayed (turned by the rotation)
    height: int
    rotation: int  # degrees clockwise
    target: str  # "mp4" or "webm"
    reencode: bool
    poster_temp: Path


def sniff_video(head: bytes) -> Demuxer | None:
    """The demuxer for a file starting with ``head`` (its first 16 bytes or more), or
    None when it does not look like an MP4/QuickTime or a Matroska/WebM file."""
    if len(head) >= 8 and head[4:8] in _MOV_ATOMS:
        return "mov"
    if head.startswith(_EBML):
        return "matroska"
    return None


def probe_video(
    source: Path, demuxer: Demuxer, store: LocalMediaStore, limits: VideoLimits
) -> VideoPlan:
    """Check the clip's header (before any decoding), then decode its first frame into
    a poster (a temp file). Runs in a worker thread, within the photo budget.

    Raises MediaRejected: ``unsupported_type`` when the file is not a video we take,
    ``too_many_pixels`` or ``too_long`` when its header declares more than the limits,
    ``corrupt`` when it cannot be read."""
    with _open(source, demuxer, limits) as inp:
        video, _ = _check(inp, limits)
        width, height = video.codec_context.width, video.codec_context.height
        codec = video.codec_context.name
    target = "webm" if codec in _COPY_VIDEO["webm"] else "mp4"
    poster_temp = store.new_temp_path()
    try:
        rotation = _poster(source, demuxer, limits, poster_temp)
    except BaseException:
        poster_temp.unlink(missing_ok=True)
        raise
    if rotation % 180:
        width, height = height, width
    return VideoPlan(width, height, rotation, target, codec not in _COPY_VIDEO[target], poster_temp)


def rewrite_video(
    source: Path,
    demuxer: Demuxer,
    store: LocalMediaStore,
    limits: VideoLimits,
    plan: VideoPlan,
    source_sha256: str,
) -> CleanImage:
    """Write the clip again without metadata (packets copied, or re-encoded when
    ``plan.reencode``), then store it and its poster. Runs in a worker thread: within the
    photo budget when it re-encodes (frames are decoded), outside it when it copies
    packets (a few at a time in memory). The poster's temp file is removed either way."""
    out = store.new_temp_path()
    try:
        _rewrite(source, demuxer, limits, out, plan.target, reencode=plan.reencode)
        sha256, size = hash_file(out)
        mime, ext = VIDEO_MIME[plan.target]
        key = store.commit(out, sha256, ext)
        poster_sha, _ = hash_file(plan.poster_temp)
        poster_key = store.commit(plan.poster_temp, poster_sha, "jpg")
    finally:
        out.unlink(missing_ok=True)
        plan.poster_temp.unlink(missing_ok=True)
    return CleanImage(
        sha256=sha256,
        source_sha256=source_sha256,
        mime=mime,
        size=size,
        width=plan.width,
        height=plan.height,
        storage_key=key,
        poster_key=poster_key,
    )


def _open(source: Path, demuxer: Demuxer, limits: VideoLimits) -> InputContainer:
    try:
        return av.open(
            str(source),
            "r",
            format=demuxer,
            # Decoders refuse frames larger than the limit (also while FFmpeg probes).
            options={"max_pixels": str(limits.max_pixels)},
            # QuickTime references to other files are never followed.
            container_options={"enable_drefs": "0"},
        )
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaRejected("corrupt") from exc


def _check(inp: InputContainer, limits: VideoLimits) -> tuple[AnyStream, AnyStream | None]:
    """The video and audio streams to keep, once the header's declarations pass."""
    if not _DEMUXER_NAMES.intersection(inp.format.name.split(",")):
        raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL})
    video = next(
        (s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
        None,
    )
    if video is None:
        raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL})
    width, height = video.codec_context.width, video.codec_context.height
    if width <= 0 or height <= 0:
        raise MediaRejected("corrupt")
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    seconds = declared_seconds(inp)
    if seconds > limits.max_seconds:
        raise _too_long(limits)
    if video.frames and video.frames > max(limits.max_seconds, 1) * _MAX_FPS:
        raise _too_long(limits)
    audio = inp.streams.audio[0] if inp.streams.audio else None
    return video, audio


def declared_seconds(inp: InputContainer) -> float:
    """The longest duration the header declares, for the file or any stream."""
    seconds = (inp.duration or 0) / _US
    for stream in inp.streams:
        if stream.duration and stream.time_base:
            seconds = max(seconds, float(stream.duration * stream.time_base))
    return seconds


def _poster(source: Path, demuxer: Demuxer, limits: VideoLimits, out: Path) -> int:
    """Write the first frame, upright and at most POSTER_SIDE wide or high, as a JPEG
    (no metadata: Pillow writes none unless asked); return the clip's rotation in
    degrees clockwise (0, 90, 180 or 270)."""
    with _open(source, demuxer, limits) as inp:
        video, _ = _check(inp, limits)
        video.thread_type = "AUTO"
        try:
            frame = next(inp.decode(video), None)
        except av.error.FFmpegError as exc:
            raise MediaRejected("corrupt") from exc
        if frame is None:
            raise MediaRejected("corrupt")
        # FFmpeg's rotation is counter-clockwise; PIL's rotate() is too.
        rotation = round(frame.rotation / 90) * 90 % 360
        image = frame.to_image()  # type: ignore[no-untyped-call]
    if rotation:
        image = image.rotate(rotation, expand=True)
    image.thumbnail((POSTER_SIDE, POSTER_SIDE))
    image.convert("RGB").save(out, format="JPEG", quality=_POSTER_QUALITY)
    return (360 - rotation) % 360


def _rewrite(
    source: Path,
    demuxer: Demuxer,
    limits: VideoLimits,
    out: Path,
    target: str,
    *,
    reencode: bool,
) -> None:
    """Copy (or re-encode) the kept streams into ``out``, with no metadata."""
    with _open(source, demuxer, limits) as inp, av.open(str(out), "w", format=target) as dst:
        video, audio = _check(inp, limits)
        if reencode:
            _transcode(inp, dst, video, audio, limits)
        else:
            _remux(inp, dst, video, audio, target, limits)


def _remux(
    inp: InputContainer,
    dst: OutputContainer,
    video: AnyStream,
    audio: AnyStream | None,
    target: str,
    limits: VideoLimits,
) -> None:
    """Copy the packets as they are. The codec parameters carry the display matrix."""
    out_video: AnyStream = dst.add_stream_from_template(video)
    out_video.metadata.clear()
    streams: dict[int, AnyStream] = {video.index: out_video}
    encode_audio: AnyStream = None
    if audio is not None:
        if audio.codec_context.name in _COPY_AUDIO[target]:
            out_audio: AnyStream = dst.add_stream_from_template(audio)
            out_audio.metadata.clear()
            streams[audio.index] = out_audio
        else:
            encode_audio = _audio_encoder(dst, audio, target)
    dst.metadata.clear()
    kept = [video] + ([audio] if audio is not None else [])
    try:
        for packet in inp.demux(kept):
            if packet.dts is None:
                continue  # the demuxer's flush packet
            _within(packet.pts, packet.time_base, limits)
            if encode_audio is not None and packet.stream.index == audio.index:  # type: ignore[union-attr]
                for frame in packet.decode():
                    for out_packet in encode_audio.encode(frame):
                        dst.mux(out_packet)
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
        if encode_audio is not None:
            dst.mux(encode_audio.encode(None))
    except av.error.FFmpegError as exc:
        raise MediaRejected("corrupt") from exc


def _transcode(
    inp: InputContainer,
    dst: OutputContainer,
    video: AnyStream,
    audio: AnyStream | None,
    limits: VideoLimits,
) -> None:
    """Decode and encode again, to H.264 (and AAC) in MP4, for codecs MP4 cannot hold
    as they are (ProRes, MJPEG, ...). The rotation is written as the display matrix."""
    rate = video.average_rate or video.guessed_rate or Fraction(30)
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    out_video: AnyStream = dst.add_stream(codec, rate=rate)
    width, height = video.codec_context.width, video.codec_context.height
    out_video.width = width - width % 2
    out_video.height = height - height % 2
    out_video.pix_fmt = "yuv420p"
    if codec == "libx264":
        out_video.options = {"preset": "veryfast", "crf": "20"}
    encode_audio = _audio_encoder(dst, audio, "mp4") if audio is not None else None
    dst.metadata.clear()
    rotated = False
    kept = [video] + ([audio] if audio is not None else [])
    try:
        for packet in inp.demux(kept):
            if packet.dts is None:
                continue
            _within(packet.pts, packet.time_base, limits)
            frame: Any
            for frame in packet.decode():
                if packet.stream.index == video.index:
                    if not rotated:
                        if frame.rotation:
                            out_video.set_display_rotation(frame.rotation)
                        rotated = True
                    frame = frame.reformat(
                        width=out_video.width, height=out_video.height, format="yuv420p"
                    )
                    frame.pts = None
                    dst.mux(out_video.encode(frame))
                elif encode_audio is not None:
                    dst.mux(encode_audio.encode(frame))
        dst.mux(out_video.encode(None))
        if encode_audio is not None:
            dst.mux(encode_audio.encode(None))
    except av.error.FFmpegError as exc:
        raise MediaRejected("corrupt") from exc


def _audio_encoder(dst: OutputContainer, audio: AnyStream, target: str) -> AnyStream:
    codec = "libopus" if target == "webm" else "aac"
    rate = audio.codec_context.sample_rate or 48000
    if codec == "libopus":
        rate = 48000
    return dst.add_stream(codec, rate=rate)


def _within(pts: int | None, time_base: Fraction | None, limits: VideoLimits) -> None:
    """Stop at the first packet past the duration limit (a header may lie)."""
    if pts is not None and time_base is not None and pts * time_base > limits.max_seconds + 1:
        raise _too_long(limits)


def _too_many_pixels(limits: VideoLimits) -> MediaRejected:
    return MediaRejected("too_many_pixels", {"limit_mp": in_units(limits.max_pixels, 1_000_000)})


def _too_long(limits: VideoLimits) -> MediaRejected:
    return MediaRejected("too_long", {"limit_s": in_units(int(limits.max_seconds), 1)})
