"""Peak memory and time of photo intake and upload, before and after a change.

    .venv/bin/python bench/photo_memory.py [--base REV] [--runs 1]
        [--cases 40mp,40mp-turned,40mp-progressive,12mp-x10] [--photos DIR]

Each case runs in a fresh process (so its peak is its own) through the real code: a
``Core`` on a throwaway SQLite database and media directory, ``core.media.intake_path``
for every photo at once (the stream a download feeds), then ``SlackPort.post`` of one
review card per photo at once, which uploads each cleaned photo to the local
Slack-compatible server (``tests/slack_api.py``, served by this process). A warm-up
photo goes through both first, so imports and first-use allocations are not counted.

Memory is the growth of the process's peak resident set (``VmHWM`` in
``/proc/self/status``, reset with ``/proc/self/clear_refs`` at the start of each phase)
over its resident set before the phase. "Before" is the code at ``--base`` (default: the
merge-base of HEAD and ``main``), checked out in a temporary git worktree that is removed
at the end; the two sides alternate (before, after, then after, before on the next run).
For each phase the machine's load is printed: its busy CPU (of all its cores), the
measured process's, this process's (the fake Slack) and the rest ("other").

Cases: ``40mp`` one 40 MP JPEG (7296 x 5472, the default pixel limit); ``40mp-turned``
the same with EXIF orientation 6 (a portrait photo from a phone: decoding and turning it
upright made a second copy; a lossless clean writes the tag back instead);
``40mp-progressive`` the turned photo saved as a progressive JPEG (libjpeg keeps every
DCT coefficient of a progressive image while decoding it, at any scale); ``12mp-x10``
ten different 12 MP JPEGs (4032 x 3024) at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.machine import base_revision, phase, phase_cells, run_child, slack_core, status_kb  # noqa: E402

TEAM = "T1"
MB = 2**20
CASES: dict[str, tuple[int, tuple[int, int], int, bool]] = {
    # name: (photos, size, EXIF orientation, progressive)
    "40mp": (1, (7296, 5472), 1, False),
    "40mp-turned": (1, (7296, 5472), 6, False),
    "40mp-progressive": (1, (7296, 5472), 6, True),
    "12mp-x10": (10, (4032, 3024), 1, False),
}


# -- the measured process -------------------------------------------------------------------


async def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Intake then upload ``spec["photos"]`` with the code under ``spec["root"]``."""
    sys.path.insert(0, spec["root"])
    import bot.media
    from bot.ports import Target
    from bot.ui import Image, Message, Paragraph

    core, port = await slack_core(spec)

    def card(key: str, n: int) -> Message:
        return Message(f"Review #{n}", (Paragraph(f"Review #{n}"), Image(key, "photo")))

    warm = await core.media.intake_path(Path(spec["warmup"]))
    await port.post(TEAM, Target("channel", "CWARM"), card(warm.storage_key, 0))

    parent = os.getppid()
    phases: dict[str, dict[str, float]] = {}

    base_rss = status_kb("VmRSS")
    images = await phase(
        phases,
        "intake",
        asyncio.gather(*(core.media.intake_path(Path(p)) for p in spec["photos"])),
        parent,
    )
    await phase(
        phases,
        "upload",
        asyncio.gather(
            *(
                port.post(TEAM, Target("channel", f"C{n}"), card(image.storage_key, n))
                for n, image in enumerate(images, 1)
            )
        ),
        parent,
    )
    await core.db.dispose()
    return {
        "media_module": bot.media.__file__,
        "base_rss_mb": base_rss / 1024,
        "peak_growth_mb": max(p["rss_mb"] + p["growth_mb"] for p in phases.values())
        - base_rss / 1024,
        "phases": phases,
        "sizes": sorted({(i.width, i.height) for i in images}),
    }


# -- the bench ------------------------------------------------------------------------------


def make_photo(
    path: Path, size: tuple[int, int], orientation: int, seed: int, progressive: bool
) -> None:
    """A JPEG with a photo's texture (gradients and grain), under the 20 MB limit."""
    from PIL import Image, ImageChops

    width, height = size
    small = (max(1, width // 64), max(1, height // 64))
    bands = []
    for band in range(3):
        gradient = Image.linear_gradient("L").rotate(37 * (band + seed)).resize(small)
        grain = Image.effect_noise(size, 18 + 4 * band)
        bands.append(ImageChops.add(gradient.resize(size), grain, scale=2.0, offset=-64 + band))
    image = Image.merge("RGB", bands)
    exif = Image.Exif()
    exif[0x0110] = "BenchPhone"  # Model
    exif[0x0112] = orientation
    image.save(path, "JPEG", quality=85, exif=exif, progressive=progressive)


def photos_for(cache: Path, case: str) -> list[Path]:
    count, size, orientation, progressive = CASES[case]
    paths = []
    for n in range(count):
        path = cache / f"{case}-{n}.jpg"
        if not path.exists():
            make_photo(path, size, orientation, seed=n, progressive=progressive)
        paths.append(path)
    return paths


SCRIPT = str(Path(__file__).resolve())


def line(side: str, case: str, result: dict[str, Any]) -> str:
    peak = f"{side:<6} {case:<16} peak +{result['peak_growth_mb']:6.1f} MB"
    return " | ".join([peak, *phase_cells(result["phases"])])


Results = dict[tuple[str, str], list[dict[str, Any]]]


async def measure(
    roots: dict[str, Path], photos: dict[str, list[Path]], warmup: Path, tmp: str, runs: int
) -> Results:
    """Every case on both sides, alternating which side goes first."""
    from tests.slack_api import FakeSlack

    results: Results = {}
    async with FakeSlack() as fake:
        for run in range(runs):
            order = ["before", "after"] if run % 2 == 0 else ["after", "before"]
            for case, paths in photos.items():
                for side in order:
                    spec = {
                        "root": str(roots[side]),
                        "work": tempfile.mkdtemp(dir=tmp),
                        "photos": [str(p) for p in paths],
                        "warmup": str(warmup),
                        "api_url": fake.api_url,
                        "token": fake.token,
                    }
                    result = await run_child(SCRIPT, spec)
                    assert result["media_module"].startswith(str(roots[side])), result
                    results.setdefault((side, case), []).append(result)
                    print(line(side, case, result), flush=True)
    return results


def bench(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE))
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for case in cases:
        if case not in CASES:
            raise SystemExit(f"unknown case {case!r}; known: {', '.join(CASES)}")
    rev = base_revision(args.base)
    print(f"before: {rev} (temporary worktree); after: {HERE}; {os.cpu_count()} cores")
    print(
        "CPU in % of one core (the machine's all cores: 100 % each): the machine, the measured"
        " process (this), the fake Slack (this bench), the rest (other); load: 1-min average"
    )
    cache = Path(args.photos)
    cache.mkdir(parents=True, exist_ok=True)
    warmup = cache / "warmup.jpg"
    if not warmup.exists():
        make_photo(warmup, (640, 480), 1, seed=99, progressive=False)
    photos = {case: photos_for(cache, case) for case in cases}
    for case, paths in photos.items():
        sizes = ", ".join(f"{p.stat().st_size / MB:.1f}" for p in paths[:3])
        print(f"  {case}: {len(paths)} photo(s) of {CASES[case][1]}, {sizes} MB ...")

    with tempfile.TemporaryDirectory(prefix="relais-photo-bench-") as tmp:
        before_root = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(before_root), rev],
            cwd=HERE,
            check=True,
        )
        try:
            roots = {"before": before_root, "after": HERE}
            results = asyncio.run(measure(roots, photos, warmup, tmp, args.runs))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before_root)], cwd=HERE, check=False
            )

    print(f"\nmedian of {args.runs} run(s): peak growth of the process, MB (goal: under 150)")
    print(f"{'case':<16} {'before':>8} {'after':>8} {'before s':>9} {'after s':>8}")
    for case in cases:
        growth = {
            side: statistics.median(r["peak_growth_mb"] for r in results[(side, case)])
            for side in ("before", "after")
        }
        seconds = {
            side: statistics.median(
                sum(p["seconds"] for p in r["phases"].values()) for r in results[(side, case)]
            )
            for side in ("before", "after")
        }
        print(
            f"{case:<16} {growth['before']:8.1f} {growth['after']:8.1f}"
            f" {seconds['before']:9.2f} {seconds['after']:8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", help="the 'before' revision (default: merge-base with main)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--photos",
        default=str(Path(tempfile.gettempdir()) / "relais-bench-photos"),
        help="where the generated photos are kept between runs",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(json.loads(args.child)))))
        return
    bench(args)


if __name__ == "__main__":
    main()
