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
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from bot.actions import handle_command
from bot.core import Core
from bot.ui import LINK, Actions
from relais.server import build_app
from tests.support import ambassador, member, photo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = Path(os.environ.get("RELAIS_TEST_OUTPUT", "test-output"))


def _browser_or_skip() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("RELAIS_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is required (RELAIS_REQUIRE_BROWSER=1): apt-get install chromium")
    pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")


async def test_the_library_page_in_a_real_browser(core: Core, db_url: str) -> None:
    chromium = _browser_or_skip()
    from playwright.async_api import async_playwright

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
    reply = await handle_command(core, carla, "/relais", "library")
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
        page_url = f"http://127.0.0.1:{server.port}{urlsplit(url).path}"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                # Every response but the browser's own favicon request must succeed, and
                # nothing may be blocked by the Content-Security-Policy.
                failed: list[str] = []
                page.on(
                    "response",
                    lambda r: (
                        failed.append(f"{r.status} {r.url}")
                        if r.status >= 400 and not r.url.endswith("/favicon.ico")
                        else None
                    ),
                )
                blocked: list[str] = []
                page.on(
                    "console",
                    lambda m: (
                        blocked.append(m.text) if "Content Security Policy" in m.text else None
                    ),
                )
                await page.goto(page_url)
                assert await page.inner_text("h1") == "Approved photos and news"
                assert await page.locator("figure").count() == 2
                # Every photo loaded (decoded by the browser, not blocked by the CSP).
                await page.wait_for_function(
                    "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
                )
                assert failed == [] and blocked == []
                backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
                await asyncio.to_thread(OUTPUT.mkdir, parents=True, exist_ok=True)
                shot = OUTPUT / f"library-{backend}.png"
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
            finally:
                await browser.close()
    finally:
        await server.close()
