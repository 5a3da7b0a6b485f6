"""Photo intake: stream, check, strip metadata, store.

Adapters download a photo as an async stream of chunks; :class:`MediaIntake` writes it
to a temp file while counting and hashing (memory never grows with the file), then,
in a worker thread, removes its metadata (EXIF, GPS, XMP, IPTC, comments, thumbnails)
and stores it by content hash.

A JPEG (what phones send) is cleaned losslessly at the byte level, never decoded at
full resolution: :func:`strip_jpeg` copies the segments that decoding needs and the
entropy-coded data as they are, drops every metadata segment, and writes back an Exif
segment holding only the orientation, so the photo displays upright without being
turned. The copy is then decoded at 1/8 scale (Pillow's ``draft``: libjpeg still reads
the whole entropy-coded stream, a 40 MP photo gives 0.6 MP) to check that it is whole.
PNG and WebP are decoded and re-encoded without metadata.

Memory follows pixels, not bytes: a decoded photo takes about four bytes per pixel (a
40 MP photo, 160 MB). What bounds the process is :class:`PhotoBudget`, the decoded
bytes that all photo work in the process (every intake, and the Slack port's
conversions) may hold at once. Each piece of work estimates its cost from the header,
before decoding, and waits for its share; one piece larger than the whole budget runs
alone. A baseline JPEG's check costs its 1/8-scale pixels; a progressive JPEG's also
libjpeg's coefficient buffer for the whole image (two bytes a sample at any scale).

Refusals raise :class:`MediaRejected` with a stable ``code``; the core turns codes
into translated messages, so no user-facing text lives here.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import re
import struct
import threading
import warnings
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, Literal, TypeVar

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError, _imaging

from bot import metrics
from storage.media_store import LocalMediaStore

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_PHOTO_MEMORY",
    "VIDEO_MIMETYPES",
    "CleanImage",
    "MediaIntake",
    "MediaRejected",
    "PhotoBudget",
    "RejectCode",
    "decoded_bytes",
    "jpeg_check_bytes",
    "strip_jpeg",
]

RejectCode = Literal[
    "too_large",
    "unsupported_type",
    "too_many_pixels",
    "too_long",
    "corrupt",
    "empty",
    # Raised by adapters while fetching a photo from the platform:
    "login_page",
    "download_failed",
    "not_yours",
]

#: Pillow format name -> (MIME type, file extension) of what we accept and store.
ACCEPTED_FORMATS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "JPEG": ("image/jpeg", "jpg"),
        "PNG": ("image/png", "png"),
        "WEBP": ("image/webp", "webp"),
    }
)
#: What a person may send, as the refusal of another file says it.
ACCEPTED_LABEL = "JPEG, PNG, WebP, MP4, MOV, WebM"
#: Video defaults (RELAIS_MAX_VIDEO_MB, RELAIS_MAX_VIDEO_SECONDS).
DEFAULT_VIDEO_BYTES = 100 * 2**20
DEFAULT_VIDEO_SECONDS = 120.0
# Bytes read before the type is known (a video's limit then applies, or a photo's).
_SNIFF = 16
#: Video MIME types a platform may declare for what the video intake takes (the content
#: decides; these only let a form refuse a PDF before it is downloaded).
VIDEO_MIMETYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
#: The file name extension of each type Relais stores (zips and downloads name files so).
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
# Pillow names a JPEG "MPO" when an MPF segment lists more images after the first
# (phones add depth maps, gain maps or previews that way): only the first is kept.
_JPEG_FORMATS = frozenset(("JPEG", "MPO"))
_WEBP_QUALITY = 88
_CHUNK = 64 * 1024
# Small chunks (some HTTP clients yield a few KiB) are gathered before each write so
# the thread hop per write stays cheap; this also bounds the memory used.
_WRITE_BUFFER = 256 * 1024
# Signatures of the accepted formats: a file that starts like one but that Pillow
# cannot identify is a broken photo ("corrupt"), not a wrong type.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# warnings.catch_warnings() swaps process-wide state; concurrent intakes must not
# interleave it. Only the header parse runs under the lock, never the decode.
_WARNINGS_LOCK = threading.Lock()

#: Decoded bytes all photo work in a process may hold at once (RELAIS_PHOTO_MEMORY_MB):
#: two 12 MP photos (48 MB each decoded), or one larger photo on its own.
DEFAULT_PHOTO_MEMORY = 100 * 2**20
# EXIF orientations that turn the pixels: ImageOps.exif_transpose makes a second copy.
_TURNING = frozenset(range(2, 9))
# Orientations whose upright picture is the stored one turned a quarter: width and
# height swap for display.
_QUARTER_TURNS = frozenset(range(5, 9))
_ORIENTATION = 0x0112

T = TypeVar("T")

# Pillow allocates pixels in blocks of 16 MB by default. glibc serves blocks under its
# mmap threshold (which rises up to 32 MB as large blocks are freed) from per-thread heaps
# that keep freed memory: photos decoded in turn by different worker threads then add up
# in the resident set although the budget lets only a few exist at once (10 x 12 MP:
# 140-235 MB instead of 100). Blocks of 64 MB are above any threshold: each is mapped
# for its image and returned to the system when the image is closed. An operator's own
# PILLOW_BLOCK_SIZE is left alone. (Small images still take small blocks.)
_PIXEL_BLOCK = 64 * 2**20
if "PILLOW_BLOCK_SIZE" not in os.environ:
    _imaging.set_block_size(_PIXEL_BLOCK)

_LOG_MESSAGES: dict[str, str] = {
    "too_large": "file is larger than the limit",
    "unsupported_type": "not a JPEG, PNG or WebP image nor an MP4, MOV or WebM video",
    "too_many_pixels": "image has more pixels than the limit",
    "too_long": "video is longer than the limit",
    "corrupt": "image data is corrupt or truncated",
    "empty": "file is empty",
    "login_page": "the platform served a login page instead of the file (missing scope)",
    "download_failed": "the platform refused the download",
    "not_yours": "the file was shared by someone else than the submitter",
}


class MediaRejected(Exception):
    """A photo was refused. ``code`` says why; ``detail`` holds values for the message."""

    def __init__(self, code: RejectCode, detail: Mapping[str, object] | None = None) -> None:
        super().__init__(code, dict(detail or {}))
        self.code: RejectCode = code
        self.detail: dict[str, object] = dict(detail or {})

    def __str__(self) -> str:
        text = _LOG_MESSAGES.get(self.code, self.code)
        return f"{text} {self.detail}" if self.detail else text


@dataclass(frozen=True)
class CleanImage:
    """A stored, metadata-free photo."""

    sha256: str  # of the cleaned bytes as stored
    source_sha256: str  # of the bytes received: spots the same photo sent twice
    mime: str
    size: int
    width: int
    height: int
    storage_key: str
    # A video's poster frame (a JPEG in the store); empty for a photo.
    poster_key: str = ""

    @property
    def is_video(self) -> bool:
        """Whether this is a video (shown by its poster frame)."""
        return self.mime.startswith("video/")


@dataclass(eq=False)
class _Waiter:
    amount: int
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    granted: bool = field(default=False)


class PhotoBudget:
    """Decoded bytes that photo work in this process may hold at once.

    ``hold(amount)`` waits until ``amount`` fits beside what the others hold, in arrival
    order (a large photo is not overtaken for ever by small ones). An amount larger than
    the whole budget is held as the whole budget: it runs alone. Thread-safe and not
    bound to an event loop, so one budget serves a whole process.
    """

    def __init__(self, capacity: int = DEFAULT_PHOTO_MEMORY) -> None:
        if capacity <= 0:
            raise ValueError("a photo budget must be positive")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._used = 0
        self._peak = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        """Bytes held right now."""
        return self._used

    @property
    def peak(self) -> int:
        """The most bytes held at once since this budget was made."""
        return self._peak

    @property
    def waiting(self) -> int:
        """How many pieces of work wait for their share."""
        return len(self._waiters)

    @asynccontextmanager
    async def hold(self, amount: int) -> AsyncIterator[int]:
        """Hold ``amount`` bytes (at most the whole budget) for the ``async with`` body."""
        held = await self._acquire(self._share(amount))
        try:
            yield held
        finally:
            self._release(held)

    async def run(self, amount: int, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a worker thread, holding ``amount`` until it returns.

        A thread cannot be stopped: when the caller is cancelled, the work goes on and
        keeps its share until it ends, so the budget never counts memory as free while
        a thread still holds it. Only the wait for the share is cancelled at once."""
        held = await self._acquire(self._share(amount))
        try:
            task = asyncio.ensure_future(asyncio.to_thread(work, *args))
        except BaseException:
            self._release(held)
            raise
        task.add_done_callback(functools.partial(self._finished, held))
        return await asyncio.shield(task)

    def _finished(self, held: int, task: asyncio.Future[object]) -> None:
        self._release(held)
        if not task.cancelled():
            task.exception()  # retrieved here: the caller may have gone

    def _share(self, amount: int) -> int:
        return max(1, min(amount, self.capacity))

    async def _acquire(self, amount: int) -> int:
        with self._lock:
            if not self._waiters and self._used + amount <= self.capacity:
                self._take(amount)
                return amount
            loop = asyncio.get_running_loop()
            waiter = _Waiter(amount, loop.create_future(), loop)
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:
                    self._used -= amount
                else:
                    self._waiters.remove(waiter)
                self._grant()
            raise
        return amount

    def _release(self, amount: int) -> None:
        with self._lock:
            self._used -= amount
            self._grant()

    def _take(self, amount: int) -> None:
        self._used += amount
        self._peak = max(self._peak, self._used)

    def _grant(self) -> None:
        """Wake the waiters at the head of the line that now fit (under the lock)."""
        while self._waiters and self._used + self._waiters[0].amount <= self.capacity:
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._take(waiter.amount)
            waiter.loop.call_soon_threadsafe(_wake, waiter.future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def decoded_bytes(img: Image.Image) -> int:
    """What decoding and re-encoding ``img`` may hold at once, from its header alone.

    Pillow keeps one byte per pixel for single-band 8-bit modes and four for the others
    (RGB too). Counted on top of the decoded pixels: a second copy when the EXIF
    orientation turns the image; for WebP, libwebp's own decoded buffer and the
    encoder's copy.
    """
    per_pixel = 1 if img.mode in ("1", "L", "P") else 4
    copies = 1
    if img.format == "WEBP":
        copies += 3
    if _may_turn(img):
        copies += 1
    return img.width * img.height * per_pixel * copies


def jpeg_check_bytes(img: Image.Image) -> int:
    """What checking an opened JPEG at 1/8 scale may hold at once, from its header.

    The pixels of the reduced decode (four bytes a pixel, one for greyscale) and, for a
    progressive JPEG, libjpeg's coefficient buffer: it keeps every DCT coefficient of
    the whole image (64 of two bytes per 8 x 8 block of each component) whatever the
    output scale (a 40 MP photo in 4:2:0, about 115 MB).
    """
    width, height = _draft_size(img.size)
    total = width * height * (1 if img.mode == "L" else 4)
    if isinstance(img, JpegImagePlugin.JpegImageFile) and img.info.get("progressive"):
        h_max = max((h for _, h, _, _ in img.layer), default=1) or 1
        v_max = max((v for _, _, v, _ in img.layer), default=1) or 1
        for _, h, v, _ in img.layer:
            columns = -(-img.width * h // h_max)
            rows = -(-img.height * v // v_max)
            total += -(-columns // 8) * -(-rows // 8) * 64 * 2
    return total


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size Pillow's JPEG ``draft`` gives for :func:`_draft_target` (scale 1/8 for
    any photo of 8 x 8 pixels or more)."""
    width, height = size
    target_w, target_h = _draft_target(size)
    wanted = min(width // target_w, height // target_h)
    scale = next(s for s in (8, 4, 2, 1) if wanted >= s or s == 1)
    return -(-width // scale), -(-height // scale)


def _draft_target(size: tuple[int, int]) -> tuple[int, int]:
    return max(1, size[0] // 8), max(1, size[1] // 8)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation of an opened image (1 when absent, unreadable or invalid)."""
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except Exception:
        # Unreadable EXIF says nothing reliable about orientation.
        return 1
    return value if isinstance(value, int) and value in _TURNING else 1


def _may_turn(img: Image.Image) -> bool:
    """Whether the EXIF orientation (read without decoding) turns the image."""
    if "exif" not in img.info:
        # A PNG may carry its EXIF after the pixels, known only once decoded.
        return img.format == "PNG"
    try:
        orientation = Image.Exif()
        orientation.load(img.info["exif"])
        return orientation.get(_ORIENTATION, 1) in _TURNING
    except Exception:
        return False


class MediaIntake:
    """Turns an untrusted byte stream into a :class:`CleanImage` in the store."""

    def __init__(
        self,
        store: LocalMediaStore,
        *,
        max_bytes: int,
        max_pixels: int,
        budget: PhotoBudget | None = None,
        max_video_bytes: int = DEFAULT_VIDEO_BYTES,
        max_video_seconds: float = DEFAULT_VIDEO_SECONDS,
    ) -> None:
        """``max_bytes`` bounds the bytes of a photo received, ``max_pixels`` width x
        height (a photo's, and a video frame's); ``max_video_bytes`` and
        ``max_video_seconds`` bound a video; ``budget`` is shared with the process's
        other photo work (its own otherwise)."""
        self._store = store
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels
        self._max_video_bytes = max_video_bytes
        self._max_video_seconds = max_video_seconds
        self.budget = budget or PhotoBudget()

    async def intake(self, chunks: AsyncIterable[bytes]) -> CleanImage:
        """Receive, check, clean and store one photo; raise MediaRejected if refused.

        Reading stops (and the stream is closed) as soon as more than ``max_bytes``
        arrived, so an oversized download is not pulled to the end.
        """
        temp = await asyncio.to_thread(self._store.new_temp_path)
        try:
            source_sha256, size, head = await self._receive(chunks, temp)
            metrics.PHOTO_BYTES.inc(size)
            if size == 0:
                raise MediaRejected("empty")
            demuxer = video_intake.sniff_video(head)
            if demuxer is not None:
                return await self._video(temp, demuxer, source_sha256)
            img = await asyncio.to_thread(self._open, temp)
            try:
                if img.format in _JPEG_FORMATS:
                    cost = jpeg_check_bytes(img)
                else:
                    cost = decoded_bytes(img)
            except BaseException:
                img.close()
                raise
            # The worker thread closes the image (and the open temp file) when done.
            if img.format in _JPEG_FORMATS:
                return await self.budget.run(cost, self._clean_jpeg, img, temp, source_sha256)
            return await self.budget.run(cost, self._clean, img, source_sha256)
        except MediaRejected as exc:
            metrics.PHOTO_REJECTIONS.labels(exc.code).inc()
            raise
        finally:
            # Synchronous on purpose: it must run even while the task is cancelled.
            temp.unlink(missing_ok=True)

    async def _video(
        self, temp: Path, demuxer: video_intake.Demuxer, source_sha256: str
    ) -> CleanImage:
        """Check a video, take its poster frame and store both without metadata, in
        worker threads: the decoding (the poster frame, a re-encode) within a share of
        the photo budget; a stream copy, which holds a few packets, outside it."""
        limits = video_intake.VideoLimits(self._max_video_seconds, self._max_pixels)
        plan = await self.budget.run(
            video_intake.VIDEO_DECODE_BYTES,
            video_intake.probe_video,
            temp,
            demuxer,
            self._store,
            limits,
        )
        args = (temp, demuxer, self._store, limits, plan, source_sha256)
        try:
            if plan.reencode:
                clean = await self.budget.run(
                    video_intake.VIDEO_DECODE_BYTES, video_intake.rewrite_video, *args
                )
            else:
                clean = await asyncio.to_thread(video_intake.rewrite_video, *args)
        finally:
            # Cancelled before the thread started: the poster's temp file is still there.
            plan.poster_temp.unlink(missing_ok=True)
        metrics.VIDEOS.labels("reencoded" if plan.reencode else "copied").inc()
        return clean

    async def intake_path(self, path: Path) -> CleanImage:
        """Like :meth:`intake`, reading a local file in 64 KiB chunks."""
        return await self.intake(_read_file(Path(path)))

    async def intake_bytes(self, data: bytes) -> CleanImage:
        """Like :meth:`intake`, for bytes already in memory."""

        async def one_by_one() -> AsyncIterator[bytes]:
            view = memoryview(data)
            for start in range(0, len(view), _CHUNK):
                yield bytes(view[start : start + _CHUNK])

        return await self.intake(one_by_one())

    async def _receive(self, chunks: AsyncIterable[bytes], temp: Path) -> tuple[str, int, bytes]:
        """Write the stream to ``temp``; return its hash, its size and its first bytes.
        The size limit is a video's or a photo's once the first bytes tell which."""
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        head = b""
        limit = max(self._max_bytes, self._max_video_bytes)
        fh = await asyncio.to_thread(temp.open, "xb")
        try:
            async for chunk in chunks:
                if len(head) < _SNIFF:
                    head += chunk[: _SNIFF - len(head)]
                    if len(head) >= _SNIFF:
                        is_video = video_intake.sniff_video(head) is not None
                        limit = self._max_video_bytes if is_video else self._max_bytes
                size += len(chunk)
                if size > limit:
                    raise MediaRejected("too_large", {"limit_mb": in_units(limit, 2**20)})
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER:
                    await asyncio.to_thread(fh.write, buffer)
                    buffer.clear()
            if buffer:
                await asyncio.to_thread(fh.write, buffer)
        finally:
            await asyncio.to_thread(fh.close)
            # Closing an async generator at once releases its resources (an HTTP
            # response, a file) instead of leaving it suspended until garbage collection.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        if size > self._max_bytes and video_intake.sniff_video(head) is None:
            raise MediaRejected("too_large", {"limit_mb": in_units(self._max_bytes, 2**20)})
        return digest.hexdigest(), size, head

    def _clean_jpeg(self, img: Image.Image, source: Path, source_sha256: str) -> CleanImage:
        """Copy a JPEG without its metadata, check that the copy decodes (at 1/8 scale),
        store it; runs in a worker thread, within the budget. Closes ``img``."""
        with img:
            orientation = _orientation(img)
            width, height = img.size
        if orientation in _QUARTER_TURNS:
            width, height = height, width
        out = self._store.new_temp_path()
        try:
            with source.open("rb") as src, out.open("xb") as dst:
                strip_jpeg(src, dst, orientation=orientation)
            _check_jpeg(out)
            sha256, size = hash_file(out)
            key = self._store.commit(out, sha256, "jpg")
        finally:
            out.unlink(missing_ok=True)
        return CleanImage(
            sha256=sha256,
            source_sha256=source_sha256,
            mime=ACCEPTED_FORMATS["JPEG"][0],
            size=size,
            width=width,
            height=height,
            storage_key=key,
        )

    def _clean(self, img: Image.Image, source_sha256: str) -> CleanImage:
        """Decode, turn upright and re-encode an opened PNG or WebP, then close it; runs in
        a worker thread, within the budget (the pixels are released before it returns)."""
        with img:
            return self._clean_open(img, source_sha256)

    def _clean_open(self, img: Image.Image, source_sha256: str) -> CleanImage:
        fmt = img.format or ""
        mime, ext = ACCEPTED_FORMATS[fmt]
        try:
            img.load()
        except Image.DecompressionBombError as exc:
            raise self._too_many_pixels() from exc
        except Exception as exc:
            raise MediaRejected("corrupt") from exc
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except Exception:
            # Unreadable EXIF says nothing reliable about orientation; the pixels
            # are fine, so keep them as they are.
            pass
        out = self._store.new_temp_path()
        try:
            _encode(img, fmt, out)
            width, height = img.size
            img.close()
            sha256, size = hash_file(out)
            key = self._store.commit(out, sha256, ext)
        finally:
            out.unlink(missing_ok=True)
        return CleanImage(
            sha256=sha256,
            source_sha256=source_sha256,
            mime=mime,
            size=size,
            width=width,
            height=height,
            storage_key=key,
        )

    def _open(self, source: Path) -> Image.Image:
        """Identify by content and check the size from the header, before decoding."""
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                # Only our formats' parsers ever see untrusted bytes (no EPS, etc.).
                img = Image.open(source, formats=tuple(ACCEPTED_FORMATS))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise self._too_many_pixels() from exc
            except UnidentifiedImageError as exc:
                if _looks_like_accepted(source):
                    raise MediaRejected("corrupt") from exc
                raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL}) from exc
            except Exception as exc:
                raise MediaRejected("corrupt") from exc
        if img.format not in ACCEPTED_FORMATS and img.format not in _JPEG_FORMATS:
            img.close()
            raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL})
        if img.width * img.height > self._max_pixels:
            img.close()
            raise self._too_many_pixels()
        return img

    def _too_many_pixels(self) -> MediaRejected:
        return MediaRejected("too_many_pixels", {"limit_mp": in_units(self._max_pixels, 1_000_000)})


def _encode(img: Image.Image, fmt: str, out: Path) -> None:
    """Write a PNG or WebP's pixels only: no EXIF, XMP, text chunks, GPS; ICC kept."""
    icc = img.info.get("icc_profile")
    transparency = img.info.get("transparency")
    # Savers also read some metadata from img.info (PNG ICC, EXIF): empty it so only
    # what is passed explicitly below is written.
    img.info = {}
    params: dict[str, object] = {}
    if fmt == "PNG":
        if transparency is not None:
            params["transparency"] = transparency
    else:
        params = {"quality": _WEBP_QUALITY, "method": 4}
    if icc:
        params["icc_profile"] = icc
    img.save(out, format=fmt, **params)


# -- JPEG without decoding it ---------------------------------------------------------
#
# A JPEG is a sequence of marker segments (ITU-T T.81 annex B): 0xFF, a marker code, and
# for most markers a two-byte big-endian length that counts itself, then the payload.
# SOI, EOI, RST0-7 and TEM stand alone. Each SOS header is followed by entropy-coded
# data, which runs up to the next 0xFF that is not followed by 0x00 (a stuffed 0xFF) or
# by RST0-7; several scans (a progressive JPEG) each have their own SOS. Any number of
# 0xFF fill bytes may precede a marker.

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP1, _APP2, _APP14, _APP15 = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF
_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))
# Where an entropy-coded segment ends: 0xFF then a byte that is not a stuffed 0x00, a
# restart marker or another 0xFF (fill bytes before the marker, copied with the data).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JFIF = b"JFIF\x00"
_JFIF_HEADER = 14  # identifier, version, units, densities, thumbnail width and height
_ICC = b"ICC_PROFILE\x00"
_ADOBE = b"Adobe"


class _Truncated(Exception):
    """The JPEG ended before its EOI marker."""


class _Bytes:
    """Reads a file in chunks, keeping at most one chunk and a partial marker in memory."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._buf = b""
        self._pos = 0

    def _fill(self) -> bool:
        chunk = self._fh.read(_CHUNK)
        if not chunk:
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def take(self, count: int) -> bytes:
        while len(self._buf) - self._pos < count:
            if not self._fill():
                raise _Truncated
        data = self._buf[self._pos : self._pos + count]
        self._pos += count
        return data

    def copy_scan(self, out: BinaryIO) -> int:
        """Copy entropy-coded data to ``out``; return the marker code that ends it."""
        while True:
            found = _SCAN_END.search(self._buf, self._pos)
            if found is not None:
                out.write(self._buf[self._pos : found.start()])
                self._pos = found.end()
                return self._buf[found.end() - 1]
            # Keep a trailing 0xFF: its marker code may be in the next chunk.
            end = len(self._buf) - 1 if self._buf.endswith(b"\xff") else len(self._buf)
            out.write(self._buf[self._pos : end])
            self._pos = end
            if not self._fill():
                raise _Truncated


def strip_jpeg(src: BinaryIO, out: BinaryIO, *, orientation: int = 1) -> None:
    """Copy the JPEG in ``src`` to ``out`` without its metadata, losslessly.

    Kept as they are: the frame, tables, restart interval and scans with their
    entropy-coded data (so every pixel decodes as before), the JFIF segment (without
    its thumbnail), the ICC profile and Adobe's colour transform. Dropped: Exif (with
    GPS and its thumbnail) and XMP (APP1), IPTC and Photoshop data (APP13), the other
    application segments (APP2 other than ICC, such as MPF; APP3-APP12, APP15; APP0
    other than JFIF, such as a JFXX thumbnail), comments, and anything after EOI.
    An ``orientation`` other than 1 is written back as an Exif segment holding only
    that tag, right after SOI (after JFIF when the file starts with it).
    Raises MediaRejected("corrupt") when the file is not a well-formed JPEG.
    """
    reader = _Bytes(src)
    try:
        if reader.take(2) != b"\xff\xd8":
            raise MediaRejected("corrupt")
        out.write(b"\xff\xd8")
        exif = _orientation_segment(orientation)
        first = True
        marker = _next_marker(reader)
        while True:
            if marker == _EOI:
                if exif:
                    out.write(exif)
                out.write(b"\xff\xd9")
                return
            if marker == _SOI:
                raise MediaRejected("corrupt")
            if marker in _STANDALONE:
                segment = bytes((0xFF, marker))
            else:
                (length,) = struct.unpack(">H", reader.take(2))
                if length < 2:
                    raise MediaRejected("corrupt")
                segment = _kept(marker, reader.take(length - 2))
            if exif and segment and not (first and segment[:2] == b"\xff\xe0"):
                out.write(exif)  # after SOI, or after a JFIF segment that comes first
                exif = b""
            first = first and not segment
            out.write(segment)
            if marker == _SOS:
                marker = reader.copy_scan(out)
            else:
                marker = _next_marker(reader)
    except _Truncated as exc:
        raise MediaRejected("corrupt") from exc


def _next_marker(reader: _Bytes) -> int:
    """Read a marker (after any fill bytes) where a segment must start."""
    if reader.take(1) != b"\xff":
        raise MediaRejected("corrupt")
    code = 0xFF
    while code == 0xFF:
        code = reader.take(1)[0]
    if code == 0x00:
        raise MediaRejected("corrupt")
    return code


def _kept(marker: int, payload: bytes) -> bytes:
    """The segment to write for ``marker`` and its payload: as it is, trimmed, or none."""
    if marker == _APP0:
        if not payload.startswith(_JFIF) or len(payload) < _JFIF_HEADER:
            return b""
        # Thumbnail width and height set to zero, and its pixels dropped.
        payload = payload[: _JFIF_HEADER - 2] + b"\x00\x00"
    elif marker == _APP2:
        if not payload.startswith(_ICC):
            return b""
    elif marker == _APP14:
        if not payload.startswith(_ADOBE):
            return b""
    elif _APP1 <= marker <= _APP15 or marker == _COM:
        return b""
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _orientation_segment(orientation: int) -> bytes:
    """An Exif APP1 segment holding only ``orientation`` (none for 1, the default)."""
    if orientation not in _TURNING:
        return b""
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    data = exif.tobytes()  # starts with the "Exif\0\0" identifier
    return struct.pack(">BBH", 0xFF, _APP1, len(data) + 2) + data


def _check_jpeg(path: Path) -> None:
    """Decode a JPEG at 1/8 scale: libjpeg reads every scan's entropy-coded data, so a
    damaged or truncated stream fails here, for a fraction of a full decode's memory."""
    try:
        with Image.open(path, formats=("JPEG",)) as img:
            if img.draft("RGB", _draft_target(img.size)) is None:
                raise MediaRejected("corrupt")
            img.load()
    except MediaRejected:
        raise
    except Exception as exc:
        raise MediaRejected("corrupt") from exc


def hash_file(path: Path) -> tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _looks_like_accepted(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def in_units(value: int, unit: int) -> int | float:
    """``value`` in ``unit``s, for a message: whole when it is, else to one decimal."""
    amount = value / unit
    return int(amount) if amount.is_integer() else round(amount, 1)


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    fh = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(fh.read, _CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(fh.close)


# bot.video builds on CleanImage and MediaRejected above; imported as a module (its names
# read when used), so either of the two may be imported first.
from bot import video as video_intake  # noqa: E402
