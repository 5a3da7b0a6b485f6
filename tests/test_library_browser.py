"""The content library opened in a real headless browser: Debian's ``chromium`` driven by
Playwright's Python package (the browser on the machine; Playwright downloads none).

The page renders with its photos loaded (the Content-Security-Policy lets only the
page's own images in), the site filter works, and a screenshot is kept in
``test-output/`` (``RELAIS_TEST_OUTPUT`` elsewhere). Without chromium on the machine the
test is skipped, unless ``RELAIS_REQUIRE_BROWSER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from bot.actions import handle_command
from bot.core import Core
from bot.ui import LINK, Actions
from domain import MemberView
from relais.server import build_app
from tests.support import ambassador, member, photo

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = Path(os.environ.get("RELAIS_TEST_OUTPUT", "test-output"))


def _browser_or_skip() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("RELAIS_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is required (RELAIS_REQUIRE_BROWSER=1): apt-get install chromium")
    pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")


@dataclass
class Opened:
    """The library page open in the browser, with what went wrong while it was: responses
    of 400 and up (but the browser's own favicon request), and console messages about
    something the Content-Security-Policy blocked."""

    page: Page
    failed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@asynccontextmanager
async def library_page(core: Core, cm: MemberView, chromium: str) -> AsyncIterator[Opened]:
    """The library page as ``/relais library`` links it for ``cm``, served by the app on
    127.0.0.1 and opened in a phone-sized page of a headless ``chromium``."""
    from playwright.async_api import async_playwright

    reply = await handle_command(core, cm, "/relais", "library")
    assert reply.message is not None
    (url,) = [
        b.url
        for block in reply.message.blocks
        if isinstance(block, Actions)
        for b in block.buttons
        if b.action == LINK
    ]
    server = TestServer(build_app(core), host="127.0.0.1")
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                opened = Opened(await browser.new_page(viewport={"width": 390, "height": 844}))
                opened.page.on(
                    "response",
                    lambda r: (
                        opened.failed.append(f"{r.status} {r.url}")
                        if r.status >= 400 and not r.url.endswith("/favicon.ico")
                        else None
                    ),
                )
                opened.page.on(
                    "console",
                    lambda m: (
                        opened.blocked.append(m.text)
                        if "Content Security Policy" in m.text
                        else None
                    ),
                )
                await opened.page.goto(f"http://127.0.0.1:{server.port}{urlsplit(url).path}")
                yield opened
            finally:
                await browser.close()
    finally:
        await server.close()


async def screenshot_path(db_url: str, name: str) -> Path:
    """Where a test keeps its screenshot ``name`` on the backend of ``db_url`` (the
    folder made)."""
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    await asyncio.to_thread(OUTPUT.mkdir, parents=True, exist_ok=True)
    return OUTPUT / f"{name}-{backend}.png"


async def test_the_library_page_in_a_real_browser(core: Core, db_url: str) -> None:
    chromium = _browser_or_skip()
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    bob = await ambassador(core, "UBOB", "Bob", site="Paris")
    for who, caption, colour in (
        (ana, "Lyon team day", (200, 40, 40)),
        (bob, "Paris market", (40, 40, 200)),
    ):
        sub = await core.submissions.create(
            who, photos=[await photo(core, colour)], caption=caption
        )
        await core.review.approve(carla, sub.id)
    async with library_page(core, carla, chromium) as opened:
        page = opened.page
        assert await page.inner_text("h1") == "Approved photos and news"
        assert await page.locator("figure").count() == 2
        # Every photo loaded (decoded by the browser, not blocked by the CSP).
        await page.wait_for_function(
            "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        # Every response but the browser's own favicon request succeeded, and nothing
        # was blocked by the Content-Security-Policy.
        assert opened.failed == [] and opened.blocked == []
        shot = await screenshot_path(db_url, "library")
        await page.screenshot(path=str(shot), full_page=True)
        print(f"library screenshot: {shot.resolve()}")
        assert (await asyncio.to_thread(shot.stat)).st_size > 1000
        # The site filter, as a person uses it: pick Paris, press Show.
        await page.select_option("select[name=site]", label="Paris")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert "site=" in page.url
        assert await page.locator("figure").count() == 1
        assert "Paris market" in await page.inner_text("figure")
