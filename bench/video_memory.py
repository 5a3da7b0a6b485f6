"""Memory and time of a phone-sized video from intake to review card.

    .venv/bin/python bench/video_memory.py [--runs 1] [--megabytes 90] [--reencode]
        [--clips DIR]

A clip of about ``--megabytes`` MB (60 s of 1280 x 720 noise at 10 frames a second,
H.264 at the bitrate that fills that size, with a location written into the container)
is generated once with PyAV and kept in ``--clips``. Each run is a fresh process (so its
peak is its own) through the real code: a ``Core`` on a throwaway SQLite database and
media directory, ``core.media.intake_path`` (the stream a download feeds: the clip is
copied to a temp file in 64 KiB chunks, checked, rewritten without metadata and its
poster frame taken, in a worker thread), then ``SlackPort.post`` of the review card,
which uploads the poster frame and shares the cleaned 90 MB clip in the card's thread on
the local Slack-compatible server (``tests/slack_api.py``, served by this process, so
the bytes it keeps are not counted). A small clip goes through both first, so imports
and first-use allocations are not counted. With ``--reencode`` the clip is MJPEG noise
in a QuickTime file (about 30 s at 10 frames a second for 90 MB), which MP4 cannot hold
as it is: the intake decodes and re-encodes every frame to H.264.

Memory is the growth of the process's peak resident set (``VmHWM``, reset with
``/proc/self/clear_refs`` at the start of each phase) over its resident set before the
phase; "time to card" is the two phases added up. The machine's load is printed as in
``bench/photo_memory.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.machine import phase, phase_cells, run_child, slack_core, status_kb  # noqa: E402

TEAM = "T1"
MB = 2**20
SCRIPT = str(Path(__file__).resolve())


async def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Intake ``spec["clip"]`` then post its review card, measuring each phase."""
    from bot.ports import Target
    from bot.ui import Image, Message, Paragraph

    core, port = await slack_core(spec)

    def card(poster: str, clip: str, n: int) -> Message:
        image = Image(poster, "Video 1 (poster frame)", clip, "▶ Play video 1")
        return Message(f"Review #{n}", (Paragraph(f"Review #{n}"), image))

    warm = await core.media.intake_path(Path(spec["warmup"]))
    await port.post(TEAM, Target("channel", "CWARM"), card(warm.poster_key, warm.storage_key, 0))

    parent = os.getppid()
    phases: dict[str, dict[str, float]] = {}

    base_rss = status_kb("VmRSS")
    clean = await phase(phases, "intake", core.media.intake_path(Path(spec["clip"])), parent)
    await phase(
        phases,
        "card",
        port.post(TEAM, Target("channel", "CREV"), card(clean.poster_key, clean.storage_key, 1)),
        parent,
    )
    await core.db.dispose()
    return {
        "base_rss_mb": base_rss / 1024,
        "peak_growth_mb": max(p["rss_mb"] + p["growth_mb"] for p in phases.values())
        - base_rss / 1024,
        "phases": phases,
        "stored_mb": clean.size / MB,
        "mime": clean.mime,
    }


def line(result: dict[str, Any]) -> str:
    peak = f"peak +{result['peak_growth_mb']:6.1f} MB"
    return " | ".join([peak, *phase_cells(result["phases"])])


async def measure(clip: Path, warmup: Path, tmp: str, runs: int) -> list[dict[str, Any]]:
    from tests.slack_api import FakeSlack

    results = []
    async with FakeSlack() as fake:
        for _ in range(runs):
            spec = {
                "work": tempfile.mkdtemp(dir=tmp),
                "clip": str(clip),
                "warmup": str(warmup),
                "api_url": fake.api_url,
                "token": fake.token,
            }
            result = await run_child(SCRIPT, spec)
            results.append(result)
            print(line(result), flush=True)
            # The fake keeps what was uploaded: let it go between runs.
            fake.uploads.clear()
    return results


def bench(args: argparse.Namespace) -> None:
    from tests.video_clips import clip as small_clip
    from tests.video_clips import noise_clip

    cache = Path(args.clips)
    cache.mkdir(parents=True, exist_ok=True)
    kind = "mjpeg.mov" if args.reencode else "mp4"
    clip = cache / f"noise-{args.megabytes}mb.{kind}"
    if not clip.exists():
        started = time.perf_counter()
        noise_clip(str(clip), megabytes=args.megabytes, mjpeg=args.reencode)
        print(f"generated {clip} in {time.perf_counter() - started:.0f} s")
    warmup = cache / "warmup.mov"
    if not warmup.exists():
        warmup.write_bytes(small_clip("mov", rotation=90, apple_keys=True))
    print(f"clip: {clip.stat().st_size / MB:.1f} MB; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="relais-video-bench-") as tmp:
        results = asyncio.run(measure(clip, warmup, tmp, args.runs))
    growth = statistics.median(r["peak_growth_mb"] for r in results)
    intake = statistics.median(r["phases"]["intake"]["seconds"] for r in results)
    to_card = statistics.median(sum(p["seconds"] for p in r["phases"].values()) for r in results)
    print(
        f"\nmedian of {args.runs} run(s): peak growth {growth:.1f} MB,"
        f" intake {intake:.2f} s, time to card {to_card:.2f} s"
        f" (stored: {results[0]['stored_mb']:.1f} MB {results[0]['mime']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--megabytes", type=int, default=90)
    parser.add_argument("--reencode", action="store_true", help="an MJPEG clip (re-encoded)")
    parser.add_argument(
        "--clips",
        default=str(Path(tempfile.gettempdir()) / "relais-bench-clips"),
        help="where the generated clips are kept between runs",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(json.loads(args.child)))))
        return
    bench(args)


if __name__ == "__main__":
    main()
